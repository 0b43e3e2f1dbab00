"""The lifecycle benchmark (`graphrec bench pools`): impression recording and one full pool cycle.

A fresh local server (or an empty ``NEO4J_URI`` database) gets world ``size``; then
1. ``pools/record_impressions`` is timed as feeds call it: one video per call (the cost of a
   single impression) and ten per call (a feed page, batched), serially and from several
   threads at once (throughput, lock contention on shared videos);
2. one full ``graphrec pools cycle`` is timed at the world's clock plus four days, so every
   cold-start video is decided (budget spent or aged out), old boost videos are decided and
   trending ones exit: the heavy cycle after a quiet spell;
3. the same cycle is run again (idempotence: nothing moves) and timed.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from graphrec.bench.load import PeakRss, _server_pid, machine
from graphrec.config import get_settings
from graphrec.db import Graph
from graphrec.errors import Conflict
from graphrec.lifecycle.cycle import run_cycle
from graphrec.services.provide import provide_server
from graphrec.world.generate import DAY_MS, World, generate
from graphrec.world.load import load_world, summary


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _time_calls(
    graph: Graph, calls: list[tuple[str, list[str]]], *, at: int, threads: int
) -> dict[str, Any]:
    """Run record_impressions calls (user, video ids) from ``threads`` threads; latencies."""

    def one(call: tuple[str, list[str]]) -> tuple[float, int]:
        t0 = time.perf_counter()
        rows = graph.write("pools/record_impressions", user_id=call[0], video_ids=call[1], at=at,
                           feed_id=None, logs={})  # fmt: skip
        return time.perf_counter() - t0, sum(1 for r in rows if r["granted"])

    t0 = time.perf_counter()
    if threads == 1:
        results = [one(c) for c in calls]
    else:
        with ThreadPoolExecutor(max_workers=threads) as ex:
            results = list(ex.map(one, calls))
    wall = time.perf_counter() - t0
    lat = [r[0] * 1000 for r in results]
    per_call = len(calls[0][1])
    impressions = len(calls) * per_call
    return {
        "videos_per_call": per_call,
        "threads": threads,
        "calls": len(calls),
        "granted": sum(r[1] for r in results),
        "call_p50_ms": round(statistics.median(lat), 2),
        "call_p99_ms": round(_pct(lat, 0.99), 2),
        "per_impression_ms": round(statistics.median(lat) / per_call, 3),
        "impressions_per_s": round(impressions / wall) if wall else None,
    }


def _cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(t.user + t.system)


def measure(
    graph: Graph,
    world: World,
    *,
    calls: int = 400,
    threads: int = 4,
    neo4j_pid: int | None = None,
) -> dict[str, Any]:
    """Time impression recording and two pool cycles on a loaded ``world``.

    Besides wall time, the cycle reports the CPU seconds Neo4j and this process spent on it
    and the machine's load average: on a shared machine wall time alone says little.
    """
    rng = random.Random(0)
    users = [u["id"] for u in world.users]
    cold = [v["id"] for v in world.videos if v["pool"] == "cold_start"]
    others = [v["id"] for v in world.videos if v["pool"] in ("boost", "long_tail", "trending")]

    def feed(n: int) -> tuple[str, list[str]]:
        k = max(1, n // 5) if n > 1 else rng.randint(0, 1)  # a feed: ~20 % cold start
        ids = rng.sample(cold, min(k, len(cold))) + rng.sample(others, n - min(k, len(cold)))
        return rng.choice(users), ids[:n]

    at = world.now_ms
    # warm-up: plans cached, pages in memory
    _time_calls(graph, [feed(10) for _ in range(50)], at=at, threads=1)
    impressions = [
        _time_calls(graph, [feed(1) for _ in range(calls)], at=at, threads=1),
        _time_calls(graph, [feed(10) for _ in range(calls)], at=at, threads=1),
        _time_calls(graph, [feed(10) for _ in range(calls)], at=at, threads=threads),
    ]
    now = world.now_ms + 4 * DAY_MS
    load_before = os.getloadavg()[0]
    cpu0, py0, t0 = _cpu_s(neo4j_pid), time.process_time(), time.perf_counter()
    first = run_cycle(graph, now=now)
    cycle_s = time.perf_counter() - t0
    cpu = {
        "neo4j_cpu_s": round(_cpu_s(neo4j_pid) - cpu0, 2) if neo4j_pid else None,
        "python_cpu_s": round(time.process_time() - py0, 2),
        "load_avg_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "cpus": psutil.cpu_count(),
    }
    t0 = time.perf_counter()
    second = run_cycle(graph, now=now + 1)
    again_s = time.perf_counter() - t0
    return {
        "impressions": impressions,
        "cycle": {**first.as_dict(), "total_s": round(cycle_s, 2), "target_s": 10, **cpu},
        "cycle_again": {
            **second.as_dict(),
            "total_s": round(again_s, 2),
            "changed": second.changed,
        },
    }


def bench_pools(*, size: str, seed: int, calls: int, threads: int) -> dict[str, Any]:
    """Load world ``size`` into a fresh server and :func:`measure` it."""
    settings = get_settings()
    world = generate(size, seed)
    with tempfile.TemporaryDirectory(prefix="graphrec-bench-") as tmp:
        handle = provide_server(settings, state_dir=Path(tmp) / "neo4j", ephemeral_port=True)
        try:
            with Graph.connect(handle.connection, settings=settings) as graph:
                if sum(summary(graph)["node"].values()) > 0:
                    raise Conflict("the benchmark needs an empty database; NEO4J_URI's is not")
                t0 = time.perf_counter()
                load_world(graph, world)
                load_s = time.perf_counter() - t0
                with PeakRss(_server_pid(handle)) as neo4j_mem:
                    result = measure(
                        graph, world, calls=calls, threads=threads, neo4j_pid=neo4j_mem.pid
                    )
        finally:
            handle.close()
    imp = result["impressions"]
    cycle = result["cycle"]
    return {
        "benchmark": "pools",
        "size": size,
        "seed": seed,
        "machine": machine(),
        "backend": handle.backend,
        "load_s": round(load_s, 1),
        "headline": {
            "cycle_s": cycle["total_s"],
            "cycle_neo4j_cpu_s": cycle["neo4j_cpu_s"],
            "load_avg_1m": cycle["load_avg_1m"][0],
            "target_s": 10,
            "moved": sum(cycle["moves"].values()),
            "cycle_again_s": result["cycle_again"]["total_s"],
            "again_changed": result["cycle_again"]["changed"],
            "impression_single_p50_ms": imp[0]["call_p50_ms"],
            "feed10_p50_ms": imp[1]["call_p50_ms"],
            "feed10_per_impression_ms": imp[1]["per_impression_ms"],
            f"feed10_x{threads}_impressions_per_s": imp[2]["impressions_per_s"],
            "neo4j_peak_mib": round(neo4j_mem.peak / 2**20),
        },
        **result,
    }
