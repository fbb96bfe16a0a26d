"""Firehose and repository benchmarks (issue: firehose, repo sync, blobs).

Run with ``./dev bench firehose``. Targets (checked here, never in timed tests):

* delivery latency, from createRecord's HTTP response to the commit event
  being available to a Then-step, over 200 posts: p50 < 20 ms;
* CAR parse + MST walk of a 1,000-record repository: < 0.5 s.
"""

from __future__ import annotations

import argparse
import time

from common import post_latencies, summary, write_results

from atproto_bdd.protocol.car import parse_car
from atproto_bdd.protocol.repo import Repo
from atproto_bdd.services import LocalRuntime
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def delivery_latency(world: World, posts: int) -> list[float]:
    """Seconds from each post's HTTP response to its commit in the PDS's recorder."""
    return post_latencies(world.create_account("alice.test"), world.pds("A").firehose, posts)


def big_repo(world: World, records: int) -> bytes:
    """Export a repository with ``records`` records (created 200 per applyWrites call)."""
    bob = world.create_account("bob.test")
    for start in range(0, records, 200):
        writes = [
            {
                "$type": "com.atproto.repo.applyWrites#create",
                "collection": "com.example.item",
                "value": {"$type": "com.example.item", "n": n},
            }
            for n in range(start, min(records, start + 200))
        ]
        bob.xrpc_post("com.atproto.repo.applyWrites", {"repo": bob.did, "writes": writes})
    return bob.export_repo()


def parse_and_walk(car: bytes) -> tuple[float, int]:
    """Seconds to parse the CAR (verifying every block) and list every record via the MST."""
    started = time.perf_counter()
    repo = Repo(parse_car(car))
    count = len(repo.records)
    return time.perf_counter() - started, count


def main() -> None:
    """Run the firehose benchmarks and write results/firehose.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with LocalRuntime(Settings.load()) as runtime:
        world = World(runtime)
        latency = summary(delivery_latency(world, args.posts))
        car = big_repo(world, args.records)
        runs = [parse_and_walk(car) for _ in range(args.rounds)]
        world.close()
    counts = {count for _, count in runs}
    if counts != {args.records}:
        raise RuntimeError(f"expected {args.records} records, walked {counts}")
    parse = summary([seconds for seconds, _ in runs])
    path = write_results(
        "firehose",
        {
            "delivery_latency": latency,
            "car_parse_and_mst_walk": {**parse, "records": args.records, "car_bytes": len(car)},
        },
    )
    print(f"\nwrote {path}\n")
    print("| measure | result | target |")
    print("|---|---|---|")
    print(
        f"| firehose delivery latency over {args.posts} posts | p50 {latency['median_ms']} ms, "
        f"p99 {latency['p99_ms']} ms | p50 < 20 ms |"
    )
    print(
        f"| CAR parse + MST walk, {args.records} records ({len(car) // 1024} KiB), median of {args.rounds} "
        f"| {parse['median_ms']} ms | < 500 ms |"
    )


if __name__ == "__main__":
    main()
