"""Fault benchmarks (issue 36): Toxiproxy's start, the proxy hop's added latency, applying a fault, a PDS restart.

Run with ``./dev bench faults``. Writes ``bench/results/faults.json``. Targets:

* the added latency of the proxy hop per request: p50 <= 0.5 ms (a GET of the PDS's ``/xrpc/_health``, straight
  and through an app's proxy, interleaved, on kept-alive connections);
* applying a fault (dropping an app's connections, adding latency): p50 <= 20 ms;
* Toxiproxy's start in a network, and a PDS's restart until it serves again: reported (p50);
* the other process faults, each until the service serves again: the PLC directory down and up, the relay,
  Jetstream, Tap and the AppView restarting (``--restart-rounds`` networks with all of them): reported (p50).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

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


#: Each process fault as its step makes it, until the service serves again.
RESTARTS: dict[str, Callable[[World], object]] = {
    "plc_down_up": lambda world: (world.plc_down(), world.plc_up()),
    "relay": lambda world: world.restart_relay(),
    "jetstream": lambda world: world.restart_service("jetstream"),
    "tap": lambda world: world.restart_service("tap"),
    "appview": lambda world: world.restart_service("appview"),
}


def measure_restarts(settings: Settings, rounds: int) -> dict[str, list[float]]:
    """Seconds each service's restart step takes (the world's call, as the step makes it), ``rounds`` networks."""
    samples: dict[str, list[float]] = {"plc_down_up": [], "relay": [], "jetstream": [], "tap": [], "appview": []}
    with LocalRuntime(settings) as runtime:
        for round_ in range(rounds + 1):
            world = World(runtime, settings)
            try:
                world.add_appview()
                world.add_pds("A")
                world.add_relay("A")
                world.create_account("alice.test").post("something to resume after")
                world.add_jetstream()
                world.add_tap()
                for name, restart in RESTARTS.items():
                    t = time.perf_counter()
                    restart(world)
                    if round_:  # the first network builds and warms
                        samples[name].append(time.perf_counter() - t)
            finally:
                world.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--restart-rounds", type=int, default=5)
    args = parser.parse_args()
    before = load_average()
    samples = measure(Settings.load(), args.rounds)
    restarts = measure_restarts(Settings.load(), args.restart_rounds)
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
        **{f"{name}_restart" if name != "plc_down_up" else name: summary(values) for name, values in restarts.items()},
        "load_average": {"before": before, "after": load_average()},
    }
    print(write_results("faults", results))
    shown = ("toxiproxy_start", "health_direct", "health_proxied", "drop", "add_latency_toxic", "pds_restart")
    for name in (*shown, "plc_down_up", "relay_restart", "jetstream_restart", "tap_restart", "appview_restart"):
        print(f"{name}: median {results[name]['median_ms']} ms (n={results[name]['n']})")
    print(f"hop added (p50): {hop} ms")


if __name__ == "__main__":
    main()
