"""Browser benchmarks (issue 33): launching the run's browser, a new person, and a whole OAuth sign-in.

Run with ``./dev bench browser``. Writes ``bench/results/browser.json``. There is no reference tool to
compare with, so the numbers stand beside the machine's speed (``machine`` in the results, and the load
average around each measurement). Targets:

* the run's browser (Playwright's driver and Chromium) launches once per run or worker: reported (p50);
* a new person (a browser context and its page): reported (p50);
* a whole sign-in through an app that is its own OAuth client (examples/oauth-app: open the app, type the
  handle, sign in and approve on the PDS's pages, back on the app), warm (the app and the PDS served one
  sign-in before): p50 <= 1.5 s - the server-rendered app (``statusphere``, @atproto/oauth-client-node),
  and beside it the single-page app (``spa``, @atproto/oauth-client-browser: its page exchanges the code
  for tokens itself, after it is back).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common import BENCH_DIR, load_average, summary, write_results

from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.app_config import load_config
from atproto_bdd.services.browser import Browsers
from atproto_bdd.settings import Settings
from atproto_bdd.world import World

EXAMPLE = BENCH_DIR.parent / "examples" / "oauth-app"


def launches(settings: Settings, rounds: int) -> list[float]:
    """Seconds from nothing to a browser that answers (a new Browsers each round)."""
    samples = []
    for _ in range(rounds):
        browsers = Browsers(settings)
        started = time.perf_counter()
        browsers.get()
        samples.append(time.perf_counter() - started)
        browsers.close()
    return samples


def sign_ins(settings: Settings, rounds: int, app_name: str) -> tuple[list[float], list[float]]:
    """Seconds for a new person (context and page), and for a whole sign-in to the example's app ``app_name``.

    One warm-up sign-in comes first.
    """
    if not (EXAMPLE / "node_modules").is_dir():
        raise SystemExit(f"run `npm ci` in {EXAMPLE} first (./dev example oauth-app does)")
    people, signs = [], []
    with LocalRuntime(settings) as runtime:
        world = World(runtime, settings)
        world.browsers = Browsers(settings)
        try:
            world.add_pds("A")
            world.app_config = load_config(Path(EXAMPLE))
            app = world.app(app_name).start()
            browser = world.add_service("browser")
            for index in range(rounds + 1):
                handle = f"user{index}.test"
                account = world.create_account(handle, "A")
                started = time.perf_counter()
                person = browser.person(handle)
                made = time.perf_counter()
                person.sign_in_to_app(app.url, app.spec.sign_in, account.pds.url, handle, account.password)
                person.expect_text(f"Signed in as {handle}")
                finished = time.perf_counter()
                if index:  # the first one warms the app, the PDS's pages and the browser's caches
                    people.append(made - started)
                    signs.append(finished - made)
        finally:
            world.close()
            world.browsers.close()
    return people, signs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    settings = Settings.load()
    before = load_average()
    launch = launches(settings, max(3, args.rounds // 2))
    people, signs = sign_ins(settings, args.rounds, "statusphere")
    _, spa_signs = sign_ins(settings, args.rounds, "spa")
    results = {
        "launch": summary(launch),
        "new_person": summary(people),
        "sign_in": summary(signs),
        "sign_in_target_met": statistics.median(signs) <= 1.5,
        "sign_in_spa": summary(spa_signs),
        "load_average": {"before": before, "after": load_average()},
    }
    print(write_results("browser", results))
    for name in ("launch", "new_person", "sign_in", "sign_in_spa"):
        print(f"{name}: median {results[name]['median_ms']} ms (n={results[name]['n']})")


if __name__ == "__main__":
    main()
