"""Lexicon benchmarks (issue 37): validating records, and what ``validate_records = true`` costs a run.

Run with ``./dev bench lexicons``. Writes ``bench/results/lexicons.json``. Reported:

* validating 1,000 records in the Node host, per record (p50): ``app.bsky.feed.post`` with the PDS line's
  own schemas and ``xyz.statusphere.status`` with @atproto/lexicon, in one batch (what "every record written
  in this scenario" sends), and one record per call (the round trip of "latest record is valid");
* the 50 generated scenarios of ``bench_scale.py`` (fresh network, 2 accounts, 3 posts, a firehose check),
  with and without ``-D validate_records=true``, interleaved in one run: the ratio of the wall clocks.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_scale import behave_scenarios, generated_feature, median_ms, project
from common import BENCH_DIR, load_average, summary, write_results

from atproto_bdd.protocol.lexicon_docs import load_lexicon_docs
from atproto_bdd.services import LocalRuntime
from atproto_bdd.settings import Settings

LEXICONS = BENCH_DIR.parent / "lexicons"
NOW = "2026-12-07T12:00:00.000Z"
RECORDS = {
    "app.bsky.feed.post": {"$type": "app.bsky.feed.post", "text": "alf is the best", "createdAt": NOW},
    "xyz.statusphere.status": {"$type": "xyz.statusphere.status", "status": "🦋", "createdAt": NOW},
}


def validation(count: int, singles: int) -> dict[str, dict[str, float]]:
    """Per record: one batch of ``count`` (after a warm-up batch), and ``singles`` calls of one record each."""
    results: dict[str, dict[str, float]] = {}
    with LocalRuntime(Settings.load()) as runtime:
        validator = runtime.lexicon_validator(load_lexicon_docs([LEXICONS]))
        for nsid, record in RECORDS.items():
            batch = [(nsid, record)] * count
            assert all(check.valid for check in validator.check_records(batch))  # warm-up (loads the schemas)
            started = time.perf_counter()
            validator.check_records(batch)
            per_record = (time.perf_counter() - started) / count
            single = []
            for _ in range(singles):
                started = time.perf_counter()
                validator.check_record(nsid, record)
                single.append(time.perf_counter() - started)
            results[nsid] = {"batch_per_record_us": round(per_record * 1e6, 1), **_ms("single", summary(single))}
    return results


def _ms(prefix: str, stats: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}_{key}": value for key, value in stats.items()}


def validate_records_cost(count: int, rounds: int) -> dict[str, object]:
    """The generated suite with and without ``-D validate_records=true``, interleaved, ``rounds`` each."""
    root = project({"generated.feature": generated_feature(count)})
    sides: dict[str, list[float]] = {"off": [], "on": []}
    scenarios: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(rounds):
        for side, args in (("off", ()), ("on", ("-D", "validate_records=true"))):
            run = behave_scenarios(root, *args)
            sides[side].append(run["wall"])
            scenarios[side] += run["scenarios"]
    off, on = statistics.median(sides["off"]), statistics.median(sides["on"])
    return {
        "scenarios": count,
        "rounds": rounds,
        "wall_off_s": [round(x, 2) for x in sides["off"]],
        "wall_on_s": [round(x, 2) for x in sides["on"]],
        "scenario_median_off_ms": median_ms(scenarios["off"]),
        "scenario_median_on_ms": median_ms(scenarios["on"]),
        "ratio_on_to_off": round(on / off, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--scenarios", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    before = load_average()
    results = {
        "validation": validation(args.records, args.singles),
        "validate_records": validate_records_cost(args.scenarios, args.rounds),
        "load_average": {"before": before, "after": load_average()},
    }
    print(write_results("lexicons", results))
    for nsid, numbers in results["validation"].items():
        batch, single = numbers["batch_per_record_us"], numbers["single_median_ms"]
        print(f"{nsid}: {batch} us a record in a batch; one call p50 {single} ms")
    cost = results["validate_records"]
    print(
        f"validate_records: wall x{cost['ratio_on_to_off']}; scenario median {cost['scenario_median_off_ms']} -> "
        f"{cost['scenario_median_on_ms']} ms"
    )


if __name__ == "__main__":
    main()
