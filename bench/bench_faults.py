"""Fault benchmarks (issue 36): Toxiproxy's start, the proxy hop's added latency, applying a fault, a PDS restart.

Run with ``./dev bench faults``. Writes ``bench/results/faults.json``. Targets:

* the added latency of the proxy hop per request: p50 <= 0.5 ms (a GET of the PDS's ``/xrpc/_health``, straight
  and through an app's proxy, interleaved, on kept-alive connections);
* applying a fault (dropping an app's connections, adding latency): p50 <= 20 ms;
* Toxiproxy's start in a network, and a PDS's restart until it serves again: reported (p50).
"""

from __future__ import annotations

import argparse
import time

import httpx
from common import load_average, summary, write_results

from atproto_bdd.services import LocalRuntime
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def measure(settings: Settings, rounds: int) -> dict[str, list[float]]:
    """Seconds for each measure, ``rounds`` networks (the first, which builds and warms, is not counted)."""
    samples: dict[str, list[float]] = {
        "start": [],
        "direct": [],
        "proxied": [],
        "drop": [],
        "latency": [],
        "restart": [],
    }
    with LocalRuntime(settings) as runtime:
        for round_ in range(rounds + 1):
            world = World(runtime, settings)
            try:
                pds = world.add_pds("A")
                started = time.perf_counter()
                faults = world.add_service("faults")
                start = time.perf_counter() - started
                proxy = faults._proxy("bench", "A", pds.url.removeprefix("http://"))
                direct, proxied = [], []
                with httpx.Client() as a, httpx.Client() as b:
                    for _ in range(200):  # interleaved, on kept-alive connections: the hop itself
                        t = time.perf_counter()
                        a.get(f"{pds.url}/xrpc/_health")
                        direct.append(time.perf_counter() - t)
                        t = time.perf_counter()
                        b.get(f"http://127.0.0.1:{proxy.port}/xrpc/_health")
                        proxied.append(time.perf_counter() - t)
                t = time.perf_counter()
                faults.drop("bench", "PDS A")
                drop = time.perf_counter() - t
                t = time.perf_counter()
                faults.latency("bench", "PDS A", 100)
                latency = time.perf_counter() - t
                t = time.perf_counter()
                world.restart_pds("A")
                restart = time.perf_counter() - t
                if round_:
                    samples["start"].append(start)
                    samples["direct"] += direct
                    samples["proxied"] += proxied
                    samples["drop"].append(drop)
                    samples["latency"].append(latency)
                    samples["restart"].append(restart)
            finally:
                world.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    before = load_average()
    samples = measure(Settings.load(), args.rounds)
    direct, proxied = summary(samples["direct"]), summary(samples["proxied"])
    hop = round(proxied["median_ms"] - direct["median_ms"], 3)
    results = {
        "toxiproxy_start": summary(samples["start"]),
        "health_direct": direct,
        "health_proxied": proxied,
        "hop_added_p50_ms": hop,
        "hop_target_met": hop <= 0.5,
        "drop": summary(samples["drop"]),
        "add_latency_toxic": summary(samples["latency"]),
        "fault_target_met": max(summary(samples["drop"])["median_ms"], summary(samples["latency"])["median_ms"]) <= 20,
        "pds_restart": summary(samples["restart"]),
        "load_average": {"before": before, "after": load_average()},
    }
    print(write_results("faults", results))
    for name in ("toxiproxy_start", "health_direct", "health_proxied", "drop", "add_latency_toxic", "pds_restart"):
        print(f"{name}: median {results[name]['median_ms']} ms (n={results[name]['n']})")
    print(f"hop added (p50): {hop} ms")


if __name__ == "__main__":
    main()
