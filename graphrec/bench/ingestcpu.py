"""The ingest side's CPU per event: the API process and Redis, for ``POST /events`` batches.

What ``POST /events`` costs before the graph writer sees anything: the API (HTTP, the body's
JSON, validation, the catalogue look-ups, the rows) and Redis (``append_events.lua``: dedup,
the stream entry, the user's online state). Measured in microseconds of CPU (user + system)
per posted event, read from ``/proc`` by the load generator at the start and end of each
window, so start-up never counts. The graph writer and the queue filler are not started:
their CPU is not the ingest's, and on a shared 2-core machine they would only add noise.

Traffic is shaped like a real batch, not a uniform one: each batch is ``users_per_batch``
users sending ``batch // users_per_batch`` events each (the kinds mixed as a feed produces
them: mostly impressions and views), the videos drawn from a Zipf law over the catalogue, so
a user's batch repeats videos and tags. Every event id is new. The medians over ``rounds``
windows are the figures.

After each window its stream entries and dedup keys are removed (no graph writer ever
applies them; the keyspace does not grow from window to window); the users' online state
stays moved, as after ``bench events``. Redis's CPU is its own process's (user + system),
without its forks; ``script_us_per_event`` is Redis's own account of the time in the script
(``INFO commandstats``, ``EVALSHA``), the least noisy of the figures.

Cheap: world S unless told otherwise; about 40 s a run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import statistics
import time
from typing import Any

from graphrec.bench.hitcpu import _cpu_seconds, _load
from graphrec.bench.load import machine
from graphrec.bench.serve import Http, api_server, in_process, redis_ready, sample_ids, world_ready
from graphrec.config import get_settings
from graphrec.db import Graph
from graphrec.spine import Spine

# (kind, share of a user's events): impressions dominate, as a feed of ten produces them.
KINDS = (
    ("impression", 0.45),
    ("view", 0.25),
    ("skip", 0.1),
    ("complete", 0.08),
    ("like", 0.08),
    ("share", 0.02),
    ("comment", 0.02),
)


def make_batches(
    users: list[str],
    videos: list[str],
    *,
    batches: int,
    batch: int,
    users_per_batch: int,
    run_id: str,
    seed: int,
) -> list[bytes]:
    """``batches`` request bodies of ``batch`` events: a few users, Zipf-drawn videos."""
    rng = random.Random(seed)
    weights = list(itertools.accumulate(1.0 / (r + 1) ** 1.1 for r in range(len(videos))))
    kinds, shares = zip(*KINDS, strict=True)
    cum = list(itertools.accumulate(shares))
    per_user = max(1, batch // users_per_batch)
    out: list[bytes] = []
    n = 0
    for _ in range(batches):
        events: list[dict[str, Any]] = []
        while len(events) < batch:
            uid = users[rng.randrange(len(users))]
            for _ in range(min(per_user, batch - len(events))):
                kind = rng.choices(kinds, cum_weights=cum)[0]
                e: dict[str, Any] = {
                    "event_id": f"{run_id}-{n}",
                    "user_id": uid,
                    "kind": kind,
                    "video_id": rng.choices(videos, cum_weights=weights)[0],
                }
                if kind in ("view", "complete"):
                    e["watch_ms"] = rng.randrange(1_000, 60_000)
                events.append(e)
                n += 1
        out.append(json.dumps(events).encode())
    return out


async def _post_all(args: dict[str, Any]) -> dict[str, Any]:
    """Post every body over ``clients`` keep-alive connections; the API's and Redis's CPU
    over exactly that."""
    bodies: list[bytes] = args["bodies"]
    todo = iter(bodies)
    counted = {"accepted": 0, "duplicates": 0, "errors": 0}

    async def client() -> None:
        http = Http("127.0.0.1", args["port"], args["key"])
        try:
            for body in todo:
                status, data = await http.request("POST", "/events", body)
                if status != 200:
                    counted["errors"] += 1
                    continue
                got = json.loads(data)
                counted["accepted"] += got["accepted"]
                counted["duplicates"] += got["duplicates"]
        finally:
            http.close()

    import redis

    r = redis.Redis.from_url(args["redis_url"])
    script0 = _script_usec(r)
    api0, redis0 = _cpu_seconds(args["api_pid"]), _own_cpu_seconds(args["redis_pid"])
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(args["clients"])))
    wall = time.perf_counter() - t0
    api = _cpu_seconds(args["api_pid"]) - api0
    red = _own_cpu_seconds(args["redis_pid"]) - redis0
    script = _script_usec(r) - script0
    r.close()
    events = args["events"]
    return {
        "events": events,
        **counted,
        "events_per_s": round(events / wall, 1),
        "api_cpu_us_per_event": round(api * 1e6 / events, 1),
        "redis_cpu_us_per_event": round(red * 1e6 / events, 1),
        "ingest_cpu_us_per_event": round((api + red) * 1e6 / events, 1),
        "script_us_per_event": round(script / events, 1),
    }


def _own_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` alone: Redis's forks (an AOF rewrite) are not the
    ingest's, and one that exits mid-window would make a tree's sum drop."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def stream_ends(spine: Spine) -> dict[str, str]:
    """Each partition stream's last entry id (where what is appended next begins)."""
    out = {}
    for stream in spine.keys.streams():
        got = spine.r.xrevrange(stream, count=1)
        out[stream] = got[0][0].decode() if got else "0-0"
    return out


def remove_appended(spine: Spine, ends: dict[str, str]) -> int:
    """Remove every stream entry appended after ``ends`` (:func:`stream_ends`); how many."""
    removed = 0
    for stream, after in ends.items():
        while True:
            got = spine.r.xrange(stream, f"({after}", "+", count=5_000)
            if not got:
                break
            removed += int(spine.r.xdel(stream, *[i for i, _ in got]))
            after = got[-1][0].decode()
    return removed


def _forget(redis_url: str, bodies: list[bytes], marks: dict[str, str]) -> None:
    """Remove what a window added to the stream and its dedup keys, so no graph writer ever
    applies the benchmark's events and the keyspace does not grow from window to window (its
    rehashing would land in the next window). The users' online state stays moved, as after
    ``bench events``."""
    spine = Spine.connect(redis_url)
    try:
        k, r = spine.keys, spine.r
        remove_appended(spine, marks)
        for body in bodies:
            pipe = r.pipeline(transaction=False)
            for e in json.loads(body):
                pipe.unlink(k.prefix(k.part(e["user_id"])) + f"ev:{e['event_id']}")
            pipe.execute()
    finally:
        spine.close()


def _stream_marks(redis_url: str) -> dict[str, str]:
    """Each partition stream's last entry id (where a window's entries begin)."""
    spine = Spine.connect(redis_url)
    try:
        return stream_ends(spine)
    finally:
        spine.close()


def _script_usec(r: Any) -> int:
    """Microseconds Redis spent in scripts (``EVALSHA``, commands inside included) so far:
    the script's own share of Redis's CPU, without its background work."""
    return int(r.info("commandstats").get("cmdstat_evalsha", {}).get("usec", 0))


def _worker(args: dict[str, Any], out: Any) -> None:
    out.put(asyncio.run(_post_all(args)))


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in rows), 1)


def bench_ingestcpu(
    graph: Graph,
    conn: Any,
    *,
    size: str,
    seed: int,
    rounds: int,
    batches: int,
    batch: int,
    users_per_batch: int,
    clients: int,
    workers: int,
) -> dict[str, Any]:
    """``rounds`` windows of ``batches`` batches each (after one warm-up window): CPU per
    event of the API and of Redis (medians), events/s, the load before and after."""
    load_before = _load()
    counts = world_ready(graph, size, seed)
    users, videos = sample_ids(graph, 20_000)
    key = get_settings().api_key.get_secret_value()
    redis_url, redis_pid, _ = redis_ready(graph)
    if redis_pid is None:
        raise RuntimeError("bench ingestcpu: the Redis server's process is not visible")
    run_id = f"ingestcpu-{int(time.time() * 1000)}"
    rows: list[dict[str, Any]] = []
    with api_server(
        conn.uri, conn.user, conn.password, workers=workers, redis_url=redis_url, consumers=False
    ) as (port, pid, _, _):
        for r in range(rounds + 1):
            bodies = make_batches(users, videos, batches=batches, batch=batch,
                                  users_per_batch=users_per_batch, run_id=f"{run_id}-{r}",
                                  seed=seed * 1_000 + r)  # fmt: skip
            args = {"port": port, "key": key, "api_pid": pid, "redis_pid": redis_pid,
                    "redis_url": redis_url,
                    "clients": clients, "bodies": bodies, "events": batches * batch}  # fmt: skip
            marks = _stream_marks(redis_url)
            got = in_process(_worker, args, 600)
            _forget(redis_url, bodies, marks)
            if r:  # the first window warms the workers, the scripts and the caches
                rows.append(got)
    return {
        "api_cpu_us_per_event": _median(rows, "api_cpu_us_per_event"),
        "redis_cpu_us_per_event": _median(rows, "redis_cpu_us_per_event"),
        "ingest_cpu_us_per_event": _median(rows, "ingest_cpu_us_per_event"),
        "script_us_per_event": _median(rows, "script_us_per_event"),
        "events_per_s": _median(rows, "events_per_s"),
        "errors": sum(r["errors"] for r in rows),
        "duplicates": sum(r["duplicates"] for r in rows),
        "rounds": rows,
        "batches": batches,
        "batch": batch,
        "users_per_batch": users_per_batch,
        "clients": clients,
        "workers": workers,
        "size": size,
        "graph": counts,
        "load_average_before": load_before,
        "load_average_after": _load(),
        "machine": machine(),
    }
