"""Ozone benchmarks (issue 38): a warm network with Ozone, report -> queryStatuses, takedown -> hidden, vs dev-env.

Run with ``./dev bench ozone [--rounds N]``. Writes ``bench/results/ozone.json``.
Both sides do the same work, interleaved round by round on one PostgreSQL
server (ours, embedded; dev-env gets its own database on it), each in a
process that is already warm (dev-env's modules loaded, our run started):

* **network**: a fresh network with Ozone. Ours: PLC, the AppView, PDS A,
  Ozone's service account and Ozone (``plan_ozone`` + ``add_pds`` +
  ``add_ozone``); dev-env 0.6.7: ``TestNetwork.create()`` (PLC, two PDSes of
  which one is the migration source, bsync, the AppView, Ozone and its
  service account). Target (issue 38): Ozone's own start, ours, median <= 500 ms;
* **Ozone's start** alone (ours): ``add_ozone`` (service account + Ozone);
* **report -> queryStatuses**: bob's createReport sent through his PDS until
  Ozone's queryStatuses holds the post, polled every 2 ms;
* **takedown -> hidden**: carol's account takedown of alice through her PDS
  until the AppView answers AccountTakedown for alice's profile (through
  bob's PDS), polled every 2 ms. (A post's takedown is not compared: dev-env
  has no label bridge, so its AppView never hides the post.)

``bench/devenv/moderation.js`` is dev-env's side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

from common import BENCH_DIR, devenv_install, load_average, reference_env, summary, write_results

from atproto_bdd.errors import XrpcError
from atproto_bdd.protocol.http import basic_auth
from atproto_bdd.protocol.xrpc import XrpcClient
from atproto_bdd.services import LocalRuntime
from atproto_bdd.settings import Settings
from atproto_bdd.world import World
from atproto_bdd.world.ozone import REASONS, subject_ref

POLL = 0.002


def until(look: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds until ``look()`` holds, asking every 2 ms."""
    started = time.perf_counter()
    while not look():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("timed out")
        time.sleep(POLL)
    return time.perf_counter() - started


def ours(runtime: LocalRuntime) -> dict[str, float]:
    """One round on atproto-bdd: the network, Ozone's start, report -> visible, takedown -> hidden."""
    world = World(runtime)
    world.begin_scenario("bench ozone")
    began = time.perf_counter()
    world.plan_ozone()
    world.add_pds("A")
    ozone_began = time.perf_counter()
    ozone = world.add_ozone()
    ended = time.perf_counter()
    alice, bob, carol = (world.create_account(handle) for handle in ("alice.test", "bob.test", "carol.test"))
    ozone.add_member(carol, "admin")
    post = alice.post("spam")
    world.appview.wait_indexed()
    admin = basic_auth("admin", ozone.service.spec.admin_password)
    direct = XrpcClient(ozone.url, timeout=10)
    try:
        sent = time.perf_counter()
        body = {"reasonType": REASONS["spam"], "subject": subject_ref(post)}
        bob.xrpc_post("com.atproto.moderation.createReport", body, proxy=ozone.proxy)
        until(
            lambda: bool(
                direct.query("tools.ozone.moderation.queryStatuses", {"subject": post.uri}, headers=admin).get(
                    "subjectStatuses"
                )
            )
        )
        report = time.perf_counter() - sent

        def hidden() -> bool:
            try:
                bob.xrpc_get("app.bsky.actor.getProfile", {"actor": alice.did})
            except XrpcError as exc:
                return exc.error == "AccountTakedown"
            return False

        sent = time.perf_counter()
        event = {"$type": "tools.ozone.moderation.defs#modEventTakedown"}
        carol.xrpc_post(
            "tools.ozone.moderation.emitEvent",
            {"event": event, "subject": subject_ref(alice.did), "createdBy": carol.did},
            proxy=ozone.proxy,
        )
        until(hidden)
        takedown = time.perf_counter() - sent
    finally:
        direct.close()
    world.close(wait=True)
    return {"network": ended - began, "ozone": ended - ozone_began, "report": report, "takedown": takedown}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    devenv = devenv_install("0.5")  # dev-env 0.6.7: its TestOzone runs the Ozone we pin
    with LocalRuntime(Settings.load({"pds_version": "0.5"})) as runtime:
        runtime.expect_appview()
        runtime.start()
        ours(runtime)  # warm-up: the AppView host, its template database and Ozone's modules
        assert runtime.appviews.postgres is not None
        server = runtime.appviews.postgres
        database = "devenv_bench_ozone"
        server.drop_database(database)
        server.create_database(database)
        process = subprocess.Popen(
            [devenv.node, str(BENCH_DIR / "devenv" / "moderation.js"), server.database_url(database)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=reference_env(NODE_PATH=str(devenv.node_modules)),
        )
        assert process.stdin is not None and process.stdout is not None

        def theirs() -> dict[str, float]:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write("go\n")
            process.stdin.flush()
            line = process.stdout.readline()
            if not line:
                error = process.stderr.read()[-3000:] if process.stderr else ""
                raise RuntimeError(f"dev-env's moderation round failed:\n{error}")
            answer = json.loads(line)
            return {
                "network": answer["createMs"] / 1000,
                "report": answer["reportMs"] / 1000,
                "takedown": answer["takedownMs"] / 1000,
            }

        try:
            loaded = json.loads(process.stdout.readline() or "{}")
            theirs()  # warm-up: dev-env's first network runs Ozone's and the AppView's migrations
            load = [load_average()]
            mine, reference = [], []
            for _ in range(args.rounds):  # interleaved
                mine.append(ours(runtime))
                reference.append(theirs())
            load.append(load_average())
        finally:
            process.stdin.close()
            process.wait(timeout=60)
            server.drop_database(database)
    result: dict[str, Any] = {
        "rounds": args.rounds,
        "load_average": load,
        "dev_env_load_ms": loaded.get("loadMs"),
        "atproto_bdd": {part: summary([m[part] for m in mine]) for part in ("network", "ozone", "report", "takedown")},
        "dev_env": {part: summary([t[part] for t in reference]) for part in ("network", "report", "takedown")},
    }
    result["ratios"] = {
        part: round(result["atproto_bdd"][part]["median_ms"] / result["dev_env"][part]["median_ms"], 3)
        for part in ("network", "report", "takedown")
    }
    result["paired_network_ratio_median"] = round(
        statistics.median(m["network"] / t["network"] for m, t in zip(mine, reference, strict=True)), 3
    )
    write_results("ozone", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
