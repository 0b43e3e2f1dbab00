"""The API's CPU per feed answered from the user's queue (a hit), against ``/ping``.

A hit is one awaited Redis script and a joined body: what is left of its cost is the API
process's own Python (routing, validation, the Redis client). This benchmark measures exactly
that, in microseconds of the API's CPU (user + system, every worker) per answered request,
for ``GET /users/{id}/feed?n=10&record=false`` (``record=false``: the queue is never used up,
so every request is a hit; the ``X-Feed-Queue`` header is counted to show it) and for the
trivial ``/ping`` on the same app and workers, alternating, over several rounds; the medians
are the figures. The CPU is read at the start and end of each measured window by the load
generator itself (its own process), so start-up and warm-up never count.

Cheap: world S (240 users) unless told otherwise, a few seconds a window.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from typing import Any

from graphrec.bench.load import machine
from graphrec.bench.serve import (
    Http,
    api_server,
    fill_queues,
    in_process,
    redis_ready,
    sample_ids,
    world_ready,
)
from graphrec.config import get_settings
from graphrec.db import Graph

FEED_PATH = "/users/{uid}/feed?n=10&record=false"
PING_PATH = "/ping"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children (the uvicorn workers)."""
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


async def _window(args: dict[str, Any]) -> dict[str, Any]:
    """``clients`` keep-alive clients on ``path`` for ``warmup`` + ``seconds``; the API's CPU
    and the answered requests counted over the measured seconds only."""
    port, key, users, path = args["port"], args["key"], args["users"], args["path"]
    warmup, seconds = args["warmup"], args["seconds"]
    counted = {"ok": 0, "hit": 0, "errors": 0}
    measuring = False
    start = time.perf_counter()
    begin, stop = start + warmup, start + warmup + seconds
    marks: dict[str, float] = {}

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        http = Http("127.0.0.1", port, key)
        try:
            while time.perf_counter() < stop:
                uid = users[rng.randrange(len(users))]
                status, _ = await http.request("GET", path.format(uid=uid))
                if not measuring:
                    continue
                if status == 200:
                    counted["ok"] += 1
                    counted["hit"] += http.queue == "hit"
                else:
                    counted["errors"] += 1
        finally:
            http.close()

    async def clock() -> None:
        nonlocal measuring
        await asyncio.sleep(max(0.0, begin - time.perf_counter()))
        marks["cpu0"], marks["t0"] = _cpu_seconds(args["api_pid"]), time.perf_counter()
        measuring = True
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        measuring = False
        marks["cpu1"], marks["t1"] = _cpu_seconds(args["api_pid"]), time.perf_counter()

    await asyncio.gather(clock(), *(client(i) for i in range(args["clients"])))
    wall = marks["t1"] - marks["t0"]
    cpu = marks["cpu1"] - marks["cpu0"]
    ok = counted["ok"]
    return {
        "requests": ok,
        "req_per_s": round(ok / wall, 1),
        "api_cores": round(cpu / wall, 3),
        "api_cpu_us_per_request": round(cpu * 1e6 / ok, 1) if ok else None,
        "hit_rate": round(counted["hit"] / ok, 4) if ok and "feed" in path else None,
        "errors": counted["errors"],
    }


def _window_worker(args: dict[str, Any], out: Any) -> None:
    out.put(asyncio.run(_window(args)))


def _load() -> list[float]:
    """The load average (1, 5, 15 minutes): the machine is shared, so every figure says it."""
    return [round(x, 2) for x in os.getloadavg()]


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    xs = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.median(xs), 1) if xs else None


def bench_hitcpu(
    graph: Graph,
    conn: Any,
    *,
    size: str,
    seed: int,
    rounds: int,
    seconds: float,
    warmup: float,
    clients: int,
    workers: int,
) -> dict[str, Any]:
    """Feed hits against ``/ping``, ``rounds`` times each, alternating: the API's CPU per
    request (median over rounds), requests/s, the hit rate, the load before and after."""
    load_before = _load()
    counts = world_ready(graph, size, seed)
    users, _ = sample_ids(graph, 20_000)
    key = get_settings().api_key.get_secret_value()
    redis_url, _, _ = redis_ready(graph)
    filled = fill_queues(redis_url, users, procs=1)
    feed: list[dict[str, Any]] = []
    ping: list[dict[str, Any]] = []
    with api_server(conn.uri, conn.user, conn.password, workers=workers, redis_url=redis_url) as (
        port,
        pid,
        _,
        _,
    ):
        base = {"port": port, "key": key, "users": users, "api_pid": pid, "clients": clients,
                "seconds": seconds, "warmup": warmup}  # fmt: skip
        limit = seconds + warmup + 120
        for _ in range(rounds):
            feed.append(in_process(_window_worker, {**base, "path": FEED_PATH}, limit))
            ping.append(in_process(_window_worker, {**base, "path": PING_PATH}, limit))
    hit_us, ping_us = (_median(feed, "api_cpu_us_per_request"),
                       _median(ping, "api_cpu_us_per_request"))  # fmt: skip
    return {
        "feed_hit_api_cpu_us": hit_us,
        "ping_api_cpu_us": ping_us,
        "hit_to_ping": round(hit_us / ping_us, 3) if hit_us and ping_us else None,
        "feed_hit_req_per_s": _median(feed, "req_per_s"),
        "ping_req_per_s": _median(ping, "req_per_s"),
        "hit_rate_min": min((r["hit_rate"] for r in feed), default=None),
        "errors": sum(r["errors"] for r in feed + ping),
        "feed_rounds": feed,
        "ping_rounds": ping,
        "path": FEED_PATH,
        "rounds": rounds,
        "seconds": seconds,
        "clients": clients,
        "workers": workers,
        "size": size,
        "graph": counts,
        "queue_fill": filled,
        "load_average_before": load_before,
        "load_average_after": _load(),
        "machine": machine(),
    }
