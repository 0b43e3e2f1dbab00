"""The session benchmark: feeds with the viewer's events between them.

``bench serve`` asks for feeds back to back and sends no events, so nearly every feed is a
queue hit. A short-video viewer's session is pages of videos, each watched, skipped or liked
(events) before or while the next page is fetched; every event outdates the user's queue, and
the filler ranks the user again ``queue_fill_delay_ms`` after the first event of a burst. So
what a session costs depends on how long the client waits between its events and the next
page. ``bench_sessions`` measures it: the API, graph writer and filler as a deployment runs
them (:func:`graphrec.bench.serve.api_server`), ``clients`` closed-loop clients, each running
sessions of ``pages`` pages for random users of a fixed sample (their queues filled first):
``GET /users/{id}/feed?n=10``, then one ``POST /events`` with an event for each video served
(kinds as ``bench events`` draws them), then ``think`` seconds of watching, then the next
page. Per think time: feeds/s and events/s, feed latency, where the feeds came from (queue
hits, misses by reason), the CPU per feed of every process (the events' included), and the
graph writer's drain after the level (as ``bench serve`` reports it). Figures, not timed
assertions: the same machine runs the clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Sequence
from typing import Any

from graphrec.bench.load import machine
from graphrec.bench.serve import (
    EVENT_KINDS,
    Http,
    cpu_per_request,
    fill_queues,
    in_process,
    listening_pid,
    metered_api,
    percentiles,
    redis_ready,
    sample_ids,
    settle,
    with_drain,
    world_ready,
)
from graphrec.config import get_settings
from graphrec.db import Graph


def page_events(
    user_id: str, video_ids: Sequence[str], rng: random.Random, prefix: str
) -> list[dict[str, Any]]:
    """One event per served video, as a viewer's client sends them for a watched page:
    kinds drawn as ``bench events`` draws them (a view or skip with its watch time)."""
    out = []
    for i, vid in enumerate(video_ids):
        kind = EVENT_KINDS[rng.randrange(len(EVENT_KINDS))]
        ev: dict[str, Any] = {
            "event_id": f"{prefix}-{i}", "user_id": user_id, "kind": kind, "video_id": vid,
        }  # fmt: skip
        if kind in ("view", "skip"):
            ev["watch_ms"] = rng.randrange(300, 30_000)
        out.append(ev)
    return out


async def _sessions(
    port: int, key: str, users: list[str], clients: int, seconds: float, think: float,
    pages: int, run_id: str,
) -> dict[str, Any]:  # fmt: skip
    lat: list[float] = []
    why: dict[str, int] = {}
    errors: dict[int, int] = {}
    sent = accepted = 0
    started = time.perf_counter()
    stop = started + seconds

    async def client(ci: int) -> None:
        nonlocal sent, accepted
        rng = random.Random(ci)
        http = Http("127.0.0.1", port, key)
        n = 0
        try:
            while time.perf_counter() < stop:
                uid = users[rng.randrange(len(users))]
                for _ in range(pages):
                    t0 = time.perf_counter()
                    status, body = await http.request("GET", f"/users/{uid}/feed?n=10")
                    if status != 200:
                        errors[status] = errors.get(status, 0) + 1
                        break
                    lat.append((time.perf_counter() - t0) * 1000)
                    why[http.queue or "none"] = why.get(http.queue or "none", 0) + 1
                    vids = [x["video_id"] for x in json.loads(body)["items"]]
                    if not vids:
                        break
                    n += 1
                    events = page_events(uid, vids, rng, f"{run_id}-{ci}-{n}")
                    status, data = await http.request(
                        "POST", "/events", json.dumps(events).encode()
                    )
                    sent += len(events)
                    if status == 200:
                        accepted += int(json.loads(data)["accepted"])
                    else:
                        errors[status] = errors.get(status, 0) + 1
                    if think > 0:
                        await asyncio.sleep(think)
                    if time.perf_counter() >= stop:
                        break
        finally:
            http.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - started
    hits = why.get("hit", 0)
    return {
        "think_s": think,
        "clients": clients,
        "pages_per_session": pages,
        "feeds": len(lat),
        # req_per_s: the name ``cpu_per_request`` and ``with_drain`` read (feeds, not events)
        "req_per_s": round(len(lat) / wall, 1),
        "events_per_s": round(sent / wall, 1),
        "events_accepted": accepted,
        **percentiles(lat),
        "queue_hit_rate": round(hits / len(lat), 4) if lat else None,
        "queue": dict(sorted(why.items())),
        "errors": sum(errors.values()),
        "errors_by_status": errors,
        "seconds": round(wall, 1),
    }


def _sessions_worker(args: dict[str, Any], out: Any) -> None:
    out.put(
        asyncio.run(
            _sessions(
                args["port"], args["key"], args["users"], args["clients"], args["seconds"],
                args["think"], args["pages"], args["run_id"],
            )
        )
    )  # fmt: skip


def bench_sessions(
    graph: Graph,
    conn: Any,
    *,
    size: str,
    seed: int,
    clients: int,
    seconds: float,
    thinks: Sequence[float],
    pages: int = 3,
    users: int = 500,
    workers: int = 2,
) -> dict[str, Any]:
    """Load world ``size`` when missing, fill the queues of ``users`` sampled users, start the
    API with its writer and filler; then one level per think time (settled before, drained
    after); the JSON ``graphrec bench sessions`` writes."""
    counts = world_ready(graph, size, seed)
    sample, _ = sample_ids(graph, users)
    key = get_settings().api_key.get_secret_value()
    neo4j_pid = listening_pid(int(conn.uri.rsplit(":", 1)[1]))
    redis_url, redis_pid, _synced = redis_ready(graph)
    filled = fill_queues(redis_url, sample, procs=max(1, min(2, os.cpu_count() or 1)))
    run_id = f"sessions-{int(time.time())}"
    levels = []
    with metered_api(
        conn, workers=workers, redis_url=redis_url, neo4j_pid=neo4j_pid, redis_pid=redis_pid
    ) as (port, meter):
        before = settle(redis_url, meter)
        for i, think in enumerate(thinks):
            args = {"port": port, "key": key, "users": sample, "clients": clients,
                    "seconds": seconds, "think": think, "pages": pages,
                    "run_id": f"{run_id}-{i}"}  # fmt: skip
            level = in_process(_sessions_worker, args, seconds + 180, meter)
            with_drain(level, settle(redis_url, meter), seconds)
            level["cpu_us_per_feed"] = cpu_per_request(level)
            levels.append(level)
    return {
        "size": size,
        "graph": counts,
        "workers": workers,
        "users": len(sample),
        "queue_fill": filled,
        "stream_before": before,
        "levels": levels,
        "machine": machine(),
        "load_average": os.getloadavg(),
    }


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The table ``graphrec bench sessions`` prints: one row per think time."""
    out = []
    for lv in result["levels"]:
        cpu = lv.get("cpu_us_per_feed") or {}
        drain = lv.get("drain_cpu_us_per_request") or {}
        out.append({
            "think_s": lv["think_s"],
            "feeds_per_s": lv["req_per_s"],
            "events_per_s": lv["events_per_s"],
            "p50_ms": lv["p50_ms"],
            "p99_ms": lv["p99_ms"],
            "hit_rate": lv["queue_hit_rate"],
            "misses": ", ".join(f"{k} {v}" for k, v in lv["queue"].items() if k != "hit"),
            "cpu_us_per_feed": cpu.get("total"),
            "drain_us_per_feed": drain.get("total"),
            "errors": lv["errors"],
        })  # fmt: skip
    return out
