"""Serving benchmarks: feed latency under load, event ingest rate, event -> next-feed delay.

``bench_serve`` starts the API under uvicorn (``graphrec serve``) in its own processes and
drives it from a load generator in another process: ``c`` closed-loop clients (c = 1, 10,
100), each sending ``GET /users/{id}/feed?n=10`` for random users of the world back to back
over a keep-alive HTTP/1.1 connection (a minimal asyncio client: httpx would cost more CPU
than the server on a 2-core machine). Latency percentiles and requests/s per level.

``bench_events`` posts batches of random events (``POST /events``) from several clients and
reports sustained events/s; then, for sampled users, the delay from an event's
acknowledgement to the end of the next feed request that reflects it (the event is an
impression of the video the feed would show first; the next feed must no longer hold it).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.bench.load import machine
from graphrec.config import get_settings
from graphrec.db import Graph
from graphrec.errors import ConfigError, DatabaseUnavailable
from graphrec.services.processes import free_port

# The kinds ``bench events`` posts, by share (view 50 %, complete 20, like 15, skip 10, share 3,
# comment 2): as a feed's viewers send them.
EVENT_KINDS = ["view"] * 50 + ["complete"] * 20 + ["like"] * 15 + ["skip"] * 10 + ["share"] * 3
EVENT_KINDS += ["comment"] * 2


# --- a minimal keep-alive HTTP/1.1 client --------------------------------------------------
class Http:
    """One keep-alive connection; ``request`` returns (status, body); ``queue``: the last
    answer's ``X-Feed-Queue`` header (a feed's queue hit or miss reason), else ""."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.queue = ""

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            await self.connect()
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nX-API-Key: {self.key}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        self.queue = ""
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"x-feed-queue":
                self.queue = value.strip().decode()
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (Neo4j's Bolt port), when we may see it."""
    import psutil

    try:
        for c in psutil.net_connections(kind="tcp"):
            if c.laddr and c.laddr.port == port and c.status == "LISTEN" and c.pid:
                return int(c.pid)
    except (psutil.Error, OSError):
        return None
    return None


class CpuMeter:
    """CPU seconds spent by process trees (the API, Neo4j, the load generator) and the machine."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        import psutil

        self.procs: dict[str, Any] = {}
        for name, pid in pids.items():
            if pid is not None:
                with suppress(psutil.Error):
                    self.procs[name] = psutil.Process(pid)
        self._start = self._sample()

    def _sample(self) -> dict[str, float]:
        import psutil

        out: dict[str, float] = {}
        for name, proc in self.procs.items():
            total = 0.0
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    t = p.cpu_times()
                    total += t.user + t.system
            except psutil.Error:
                pass
            out[name] = total
        t = psutil.cpu_times()
        busy = ("user", "nice", "system", "irq", "softirq")  # niced jobs are busy time too
        out["machine"] = sum(getattr(t, f, 0.0) for f in busy)
        out["wall"] = time.perf_counter()
        return out

    def used(self) -> tuple[dict[str, float], float]:
        """CPU seconds each tree used since the start (``others``: the rest of the machine),
        and the wall seconds."""
        end = self._sample()
        wall = end["wall"] - self._start["wall"]
        used = {k: end[k] - self._start[k] for k in end if k != "wall"}
        used["others"] = used["machine"] - sum(v for k, v in used.items() if k != "machine")
        return used, wall

    def stop(self) -> dict[str, float]:
        used, wall = self.used()
        return {f"{k}_cores": round(v / wall, 2) for k, v in used.items()}


def percentiles(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan")}
    a = np.asarray(ms)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
    }


# --- the load generator (its own process) ---------------------------------------------------
def client_seed(phase: str, ci: int) -> str:
    """A load client's random seed: its phase (a level, the warm-up, the baseline) and its
    index. Seeded by the index alone, each phase's client i sent the same users (or events)
    as client i of the phase before it: `bench events`' run repeated its warm-up's pairs
    (round twenty-two), and each `bench serve` level its clients' users of the level before,
    piling pages onto the same users' queues (round twenty-four)."""
    return f"{phase}-{ci}"


async def _feed_level(
    port: int,
    key: str,
    users: list[str],
    clients: int,
    seconds: float,
    warmup: float,
    path: str = "/users/{uid}/feed?n=10",
    *,
    phase: str,
) -> dict[str, Any]:
    lat: list[float] = []
    hit: list[float] = []  # answered from the user's feed queue
    miss: list[float] = []  # ranked (no valid queue)
    why: dict[str, int] = {}  # misses by the queue's reason (X-Feed-Queue)
    inside: dict[str, list[float]] = {"feed": [], "gather": [], "rank": [], "record": []}
    errors: dict[int, int] = {}
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds

    async def client(ci: int) -> None:
        rng = random.Random(client_seed(phase, ci))
        http = Http("127.0.0.1", port, key)
        try:
            while (now := time.perf_counter()) < stop:
                uid = users[rng.randrange(len(users))]
                t0 = time.perf_counter()
                status, body = await http.request("GET", path.format(uid=uid))
                t1 = time.perf_counter()
                if now >= measure_from:
                    if status == 200:
                        lat.append((t1 - t0) * 1000)
                        if "feed" in path:  # ranked feeds report where their time went
                            (miss if b'"gather"' in body else hit).append(lat[-1])
                            if http.queue and http.queue != "hit":
                                why[http.queue] = why.get(http.queue, 0) + 1
                        if len(lat) % 5 == 0 and "feed" in path:  # where the time goes
                            data = json.loads(body)
                            inside["feed"].append(data["took_ms"])
                            for k, v in data["timings_ms"].items():
                                inside.setdefault(k, []).append(v)
                    else:
                        errors[status] = errors.get(status, 0) + 1
        finally:
            http.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    out: dict[str, Any] = {
        "clients": clients,
        "requests": len(lat),
        "req_per_s": round(len(lat) / seconds, 1),
        **percentiles(lat),
        "errors": sum(errors.values()),
        "server_ms_p50": {k: percentiles(v)["p50_ms"] for k, v in inside.items()},
    }
    if "feed" in path:
        out["queue_hit_rate"] = round(len(hit) / len(lat), 4) if lat else None
        out["hit_p50_ms"] = percentiles(hit)["p50_ms"]
        out["misses"] = len(miss)
        out["misses_by_reason"] = dict(sorted(why.items()))
        out["miss_p50_ms"] = percentiles(miss)["p50_ms"]
        out["miss_p99_ms"] = percentiles(miss)["p99_ms"]
    return out


def _feed_worker(args: dict[str, Any], out: Any) -> None:
    out.put(
        asyncio.run(
            _feed_level(
                args["port"],
                args["key"],
                args["users"],
                args["c"],
                args["seconds"],
                args["warmup"],
                args.get("path", "/users/{uid}/feed?n=10"),
                phase=args["phase"],
            )
        )
    )


async def _events_run(
    port: int,
    key: str,
    users: list[str],
    videos: list[str],
    clients: int,
    batch: int,
    seconds: float,
    run_id: str,
    redis_url: str,
    phase: str,
) -> dict[str, Any]:
    sent = accepted = resent = duplicates = 0
    lat: list[float] = []
    lags: list[float] = []
    stop = time.perf_counter() + seconds

    async def sample_lag() -> None:
        # How far the graph lags the stream (the oldest entry not yet applied), every 0.5 s,
        # read from Redis itself (``graphrec stream status``): through /health the samples
        # would queue behind the batches for the API's threads.
        from graphrec.spine import Spine
        from graphrec.spine.stream import group_status
        from graphrec.spine.writer import GROUP

        spine = Spine.connect(redis_url)
        try:
            while time.perf_counter() < stop:
                with suppress(Exception):  # a slow answer under load: skip that sample
                    st = await asyncio.to_thread(group_status, spine, GROUP)
                    lags.append(float(st["oldest_unapplied_age_ms"]))
                await asyncio.sleep(0.5)
        finally:
            spine.close()

    async def client(ci: int) -> None:
        nonlocal sent, accepted, resent, duplicates
        # Seeded by phase and client: the warm-up sends other (user, video) pairs than the
        # measured run, which would otherwise repeat every pair the warm-up sent 30 s before.
        rng = random.Random(client_seed(phase, ci))
        http = Http("127.0.0.1", port, key)
        n = 0
        try:
            while time.perf_counter() < stop:
                events = []
                for _ in range(batch):
                    n += 1
                    kind = EVENT_KINDS[rng.randrange(len(EVENT_KINDS))]
                    ev: dict[str, Any] = {
                        "event_id": f"{run_id}-{ci}-{n}",
                        "user_id": users[rng.randrange(len(users))],
                        "kind": kind,
                        "video_id": videos[rng.randrange(len(videos))],
                    }
                    if kind in ("view", "skip"):
                        ev["watch_ms"] = rng.randrange(300, 30_000)
                    events.append(ev)
                body = json.dumps(events).encode()
                t0 = time.perf_counter()
                status, data = await http.request("POST", "/events", body)
                lat.append((time.perf_counter() - t0) * 1000)
                sent += len(events)
                if status == 200:
                    accepted += int(json.loads(data)["accepted"])
                if n // batch % 10 == 0:  # every 10th batch again: a client retry
                    status, data = await http.request("POST", "/events", body)
                    resent += len(events)
                    if status == 200:
                        duplicates += int(json.loads(data)["duplicates"])
                        accepted += int(json.loads(data)["accepted"])
        finally:
            http.close()

    t0 = time.perf_counter()
    await asyncio.gather(sample_lag(), *(client(i) for i in range(clients)))
    took = time.perf_counter() - t0
    return {
        "clients": clients,
        "batch": batch,
        "events_sent": sent,
        "events_accepted": accepted,
        "events_resent": resent,
        "resent_acknowledged_as_duplicates": duplicates,
        "graph_lag_samples": len(lags),
        "graph_lag_p50_ms": percentiles(lags)["p50_ms"],
        "graph_lag_p99_ms": percentiles(lags)["p99_ms"],
        "seconds": round(took, 2),
        "events_per_s": round(accepted / took, 1),
        "batch_" + "p50_ms": percentiles(lat)["p50_ms"],
        "batch_p99_ms": percentiles(lat)["p99_ms"],
    }


async def _event_to_feed(port: int, key: str, users: list[str], samples: int, run_id: str) -> dict:
    http = Http("127.0.0.1", port, key)
    delays: list[float] = []
    visible = 0
    rng = random.Random(7)
    try:
        for i in range(samples):
            uid = users[rng.randrange(len(users))]
            status, data = await http.request("GET", f"/users/{uid}/feed?n=10&record=false")
            items = json.loads(data)["items"] if status == 200 else []
            if not items:
                continue
            vid = items[0]["video_id"]
            ev = [
                {
                    "event_id": f"{run_id}-lag-{i}",
                    "user_id": uid,
                    "kind": "impression",
                    "video_id": vid,
                }
            ]
            status, _ = await http.request("POST", "/events", json.dumps(ev).encode())
            acked = time.perf_counter()
            status, data = await http.request("GET", f"/users/{uid}/feed?n=10&record=false")
            delays.append((time.perf_counter() - acked) * 1000)
            if status == 200 and vid not in {x["video_id"] for x in json.loads(data)["items"]}:
                visible += 1
    finally:
        http.close()
    return {"samples": len(delays), "visible": visible, **percentiles(delays)}


def _events_worker(args: dict[str, Any], out: Any) -> None:
    rate = asyncio.run(
        _events_run(
            args["port"],
            args["key"],
            args["users"],
            args["videos"],
            args["clients"],
            args["batch"],
            args["seconds"],
            args["run_id"],
            args["redis_url"],
            args["phase"],
        )
    )
    lag = asyncio.run(
        _event_to_feed(args["port"], args["key"], args["users"], args["samples"], args["run_id"])
    )
    out.put({"ingest": rate, "event_to_next_feed": lag})


def _fill_worker(args: dict[str, Any], out: Any) -> None:
    from graphrec.spine import Spine
    from graphrec.spine.feed import StreamRecommender
    from graphrec.spine.queue import fill

    spine = Spine.connect(args["redis_url"])
    try:
        # Every queue recomputed (a queue left valid by an earlier run may expire mid-run).
        out.put(fill(StreamRecommender(spine), args["users"], skip_valid=False))
    finally:
        spine.close()


def fill_queues(redis_url: str, users: Sequence[str], procs: int) -> dict[str, Any]:
    """Every user's feed queue computed before the load (as the filler does after a sync or
    training), in ``procs`` processes: counts and seconds."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    t = time.perf_counter()
    ps = [
        ctx.Process(
            target=_fill_worker,
            args=({"redis_url": redis_url, "users": list(users[i::procs])}, q),
            daemon=True,
        )
        for i in range(procs)
    ]
    for p in ps:
        p.start()
    got = [q.get(timeout=3_600) for _ in ps]
    for p in ps:
        p.join(5)
    out: dict[str, Any] = {k: sum(g[k] for g in got) for k in got[0]}
    out["seconds"] = round(time.perf_counter() - t, 1)
    out["processes"] = procs
    return out


def in_process(
    target: Any, args: dict[str, Any], timeout_s: float, meter: dict[str, int | None] | None = None
) -> Any:
    """Run the load generator in its own process (spawned: no state shared with us).

    With ``meter`` (name -> pid), the CPU each process tree used meanwhile is added to the
    result as ``cpu`` (cores busy on average: api, neo4j, loadgen, others, machine).
    """
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(args, q), daemon=True)
    p.start()
    cpu = CpuMeter({**meter, "loadgen": p.pid}) if meter is not None else None
    try:
        result = q.get(timeout=timeout_s)
        if cpu is not None:
            result["cpu"] = cpu.stop()
        return result
    finally:
        p.join(5)
        if p.is_alive():
            p.kill()


# --- the server under test -----------------------------------------------------------------
def child_command(code: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """A Python child running ``code`` that imports the same ``graphrec`` and ``api`` as this
    process: ``-P`` (no working directory on its import path, where ``-c`` would put it
    first) and the folder holding this process's ``graphrec`` first on ``PYTHONPATH``. So a
    bench started from one checkout (``PYTHONPATH=/tmp/old``, to measure an older commit)
    serves that checkout's code, whatever folder it was started from."""
    import graphrec

    root = str(Path(graphrec.__file__).resolve().parents[1])
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    return [sys.executable, "-P", "-c", code], {**env, "PYTHONPATH": os.pathsep.join([root, *rest])}


@contextmanager
def api_server(
    uri: str,
    user: str,
    password: str,
    *,
    workers: int,
    redis_url: str | None = None,
    start_timeout_s: float = 90.0,
    consumers: bool = True,
) -> Iterator[tuple[int, int, int, int]]:
    """``graphrec serve`` on a free port, in its own processes, the graph writer in another
    (``graphrec stream writer``; the API workers run none) and the feed queue filler in a
    third (``graphrec stream filler``): as a deployment runs them, so neither takes CPU from
    requests. Yields (port, api pid, writer pid, filler pid). ``consumers=False``: the writer
    and filler are not started (their pids are 0), for benchmarks of the ingest alone."""
    port = free_port("127.0.0.1")
    env = {**os.environ, "NEO4J_URI": uri, "NEO4J_USER": user, "NEO4J_PASSWORD": password}
    env["GRAPHREC_STREAM_WRITER"] = "false"
    if redis_url is not None:
        env["GRAPHREC_REDIS_URL"] = redis_url
    cli, env = child_command("from graphrec.cli import app; app()", env)
    cmd = [*cli, "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    others = [
        subprocess.Popen(
            [*cli, "stream", name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for name in (("writer", "filler") if consumers else ())
    ]
    try:
        deadline = time.time() + start_timeout_s
        while time.time() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise ConfigError(f"graphrec serve exited ({proc.returncode}): {err}")
            try:
                status, _ = asyncio.run(_get(port, "/health"))
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise DatabaseUnavailable(
                f"graphrec serve did not answer /health within {start_timeout_s:.0f} s"
            )
        pids = [p.pid for p in others] or [0, 0]
        yield port, proc.pid, pids[0], pids[1]
    finally:
        for p in (proc, *others):
            p.terminate()
        for p in (proc, *others):
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


@contextmanager
def metered_api(
    conn: Any, *, workers: int, redis_url: str, neo4j_pid: int | None, redis_pid: int | None
) -> Iterator[tuple[int, dict[str, int | None]]]:
    """:func:`api_server` (its writer and filler too) on ``conn``'s graph and ``redis_url``;
    yields its port and the processes a benchmark meters (name -> pid): the API, writer,
    filler, Neo4j and Redis."""
    with api_server(conn.uri, conn.user, conn.password, workers=workers, redis_url=redis_url) as (
        port,
        pid,
        writer_pid,
        filler_pid,
    ):
        yield port, {"api": pid, "writer": writer_pid, "filler": filler_pid,
                     "neo4j": neo4j_pid, "redis": redis_pid}  # fmt: skip


async def _get(port: int, path: str) -> tuple[int, bytes]:
    http = Http("127.0.0.1", port, "")
    try:
        return await http.request("GET", path)
    finally:
        http.close()


def sample_ids(graph: Graph, size: int) -> tuple[list[str], list[str]]:
    """User and approved video ids to draw requests from."""
    users = [r["id"] for r in graph.read("serving/sample_users", limit=size)]
    videos = [r["id"] for r in graph.read("serving/sample_videos", limit=size)]
    return users, videos


def world_ready(graph: Graph, size: str, seed: int) -> dict[str, int]:
    """Load world ``size`` when the graph holds fewer users than it (the loader is idempotent)."""
    from graphrec.world.generate import generate, world_size
    from graphrec.world.load import load_world, summary

    have = summary(graph)["node"].get("User", 0)
    if have < world_size(size).users:
        load_world(graph, generate(size, seed))
    return {k: v for k, v in summary(graph)["node"].items() if k in {"User", "Video", "Creator"}}


def world_counts(graph: Graph) -> dict[str, int]:
    from graphrec.world.load import summary

    return {k: v for k, v in summary(graph)["node"].items() if k in {"User", "Video", "Creator"}}


def redis_ready(graph: Graph) -> tuple[str, int | None, float]:
    """Redis (as every command finds it) reset and synced from the graph, unless it was
    synced by a previous benchmark of the same graph: (url, pid, seconds)."""
    from graphrec.cli.spine_cmd import reset_state
    from graphrec.services.redis import provide_redis
    from graphrec.spine import Spine
    from graphrec.spine.state import sync_state

    settings = get_settings()
    url = provide_redis(settings).url
    spine = Spine.connect(url, settings)
    t = time.perf_counter()
    try:
        stamp = json.dumps(world_counts(graph), sort_keys=True)
        held = spine.r.hget(spine.keys.meta, "bench_graph")
        if not (spine.synced() and held is not None and held.decode() == stamp):
            reset_state(spine)
            sync_state(graph, spine)
            spine.r.hset(spine.keys.meta, "bench_graph", stamp)
    finally:
        spine.close()
    port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    return url, listening_pid(port), round(time.perf_counter() - t, 2)


def settle(
    redis_url: str, meter: dict[str, int | None] | None = None, *, timeout_s: float = 900.0
) -> dict[str, Any]:
    """Wait until the graph writer (running: inside :func:`api_server`) has applied every
    entry the stream holds; what was behind at the start, the seconds it took and the CPU
    the drain cost (cores busy, by process, as ``in_process`` reports a level's).

    Before a measurement: a home whose stream holds an older backlog (a run killed before
    its graph caught up) would bill that run's graph work to this one, as it did to round
    nine's first events run. After a level: the graph work the level deferred, so a level's
    rate can be stated with the graph keeping up (``sustained``). Raises ``ConfigError``
    when the writer does not catch up within ``timeout_s``."""
    from graphrec.spine import Spine
    from graphrec.spine.stream import StreamReader, group_status
    from graphrec.spine.writer import GROUP

    spine = Spine.connect(redis_url)
    cpu = CpuMeter(meter) if meter is not None else None
    t0 = time.perf_counter()
    try:
        # The group as the writer makes it (from the stream's start), should this come first:
        # without it, entries no group has read would not count as behind.
        StreamReader(spine, GROUP, "bench-settle").ensure_groups()
        first = group_status(spine, GROUP)
        st = first
        while st["pending"] or st["lag"]:
            if time.perf_counter() - t0 > timeout_s:
                raise ConfigError(
                    f"the graph writer did not apply the stream's backlog within {timeout_s:.0f}"
                    f" s ({st['lag']} entries unread, {st['pending']} pending; "
                    f"{first['lag'] + first['pending']} behind at the start): wait for it "
                    "(`graphrec stream status`) or run the benchmark on a fresh GRAPHREC_HOME"
                )
            time.sleep(0.25)
            st = group_status(spine, GROUP)
    finally:
        spine.close()
    out: dict[str, Any] = {
        "behind_at_start": int(first["lag"]) + int(first["pending"]),
        "oldest_unapplied_age_ms": first["oldest_unapplied_age_ms"],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if cpu is not None:
        used, _wall = cpu.used()
        out["cpu_s"] = {k: round(v, 2) for k, v in used.items()}
    return out


def with_drain(level: dict[str, Any], drain: dict[str, Any], load_s: float) -> None:
    """Add to ``level`` the graph work it deferred (``drain``: :func:`settle` after it):
    ``sustained_req_per_s``, the rate with the graph keeping up (the level's requests over
    its load time ``load_s``, warm-up included, plus the drain; the warm-up assumed to run at
    the measured rate), and ``drain_cpu_us_per_request``, the drain's CPU by process over
    those requests."""
    served = level["req_per_s"] * load_s
    level["graph_drain"] = drain
    level["sustained_req_per_s"] = round(served / (load_s + drain["seconds"]), 1)
    cpu = drain.get("cpu_s")
    if cpu and served:
        out = {k: round(v * 1e6 / served, 1) for k, v in cpu.items()
               if k not in ("machine", "others")}  # fmt: skip
        out["total"] = round(sum(v for k, v in out.items() if k != "loadgen"), 1)
        level["drain_cpu_us_per_request"] = out


def redis_commands(redis_url: str) -> dict[str, tuple[int, int]]:
    """Redis's own count and microseconds per command since its start (``INFO
    commandstats``): command -> (calls, usec)."""
    from graphrec.spine import Spine

    spine = Spine.connect(redis_url)
    try:
        info = spine.r.info("commandstats")
    finally:
        spine.close()
    return {
        k.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"]))
        for k, v in info.items()
        if isinstance(v, dict) and "calls" in v
    }


# Entries the slow log keeps during a bench (Redis's default is 128: an events run's scripts
# alone would push out what came before them).
SLOWLOG_KEEP = 10_000


def slowlog_mark(redis_url: str) -> int:
    """The id of the newest slow-log entry (-1: none), after making the log long enough to
    keep a run's entries (``CONFIG SET slowlog-max-len``; a server that refuses keeps its
    own length)."""
    import redis

    from graphrec.spine import Spine

    spine = Spine.connect(redis_url)
    try:
        with suppress(redis.ResponseError):
            if int(spine.r.config_get("slowlog-max-len")["slowlog-max-len"]) < SLOWLOG_KEEP:
                spine.r.config_set("slowlog-max-len", SLOWLOG_KEEP)
        got = spine.r.slowlog_get(1)
    finally:
        spine.close()
    return int(got[0]["id"]) if got else -1


def slow_commands(redis_url: str, mark: int) -> dict[str, Any]:
    """The commands Redis's slow log holds after ``mark`` (each held Redis, and every client
    behind it, for at least ``slowlog-log-slower-than``, 10 ms by default): per command its
    count and the longest, in ms; ``lost`` counts entries the log could not keep."""
    import redis

    from graphrec.spine import Spine

    spine = Spine.connect(redis_url)
    try:
        threshold = None
        with suppress(redis.ResponseError):
            threshold = int(
                spine.r.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
            )
        got = [e for e in spine.r.slowlog_get(SLOWLOG_KEEP) if int(e["id"]) > mark]
    finally:
        spine.close()
    by: dict[str, dict[str, float]] = {}
    for e in got:
        cmd = e["command"]
        text = cmd.decode(errors="replace") if isinstance(cmd, bytes) else str(cmd)
        row = by.setdefault(text.split(" ", 1)[0].lower(), {"count": 0, "max_ms": 0.0})
        row["count"] += 1
        row["max_ms"] = max(row["max_ms"], round(int(e["duration"]) / 1000, 1))
    newest = max((int(e["id"]) for e in got), default=mark)
    return {
        "threshold_us": threshold,
        "commands": dict(sorted(by.items(), key=lambda kv: -kv[1]["max_ms"])),
        "lost": max(0, newest - mark - len(got)),
    }


def commands_per_request(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], requests: float,
    *, top: int = 12,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """What Redis did per request between two :func:`redis_commands` snapshots: per command,
    calls and microseconds per request, the ``top`` dearest first. A command a script calls
    counts under its own name too, so ``evalsha`` includes the time of the commands listed
    beside it (a breakdown, not a sum)."""
    if requests <= 0:
        return {}
    rows = []
    for name, (calls, usec) in after.items():
        c0, u0 = before.get(name, (0, 0))
        if calls > c0:
            rows.append((name, (calls - c0) / requests, (usec - u0) / requests))
    rows.sort(key=lambda r: -r[2])
    return {n: {"calls": round(c, 2), "us": round(u, 1)} for n, c, u in rows[:top]}


def due_backlog(redis_url: str) -> dict[str, int]:
    """Users waiting in the filler's due sets (``qdue``) right now: ``due`` those whose refill
    time has come (by Redis's clock), ``waiting`` all of them. Read when a level ends, it
    says whether the filler kept up with the queues the level ran low."""
    from graphrec.spine import Spine

    spine = Spine.connect(redis_url)
    try:
        sec, usec = spine.r.time()
        now_ms = int(sec) * 1000 + int(usec) // 1000
        pipe = spine.r.pipeline(transaction=False)
        for p in range(spine.keys.partitions):
            pipe.zcount(spine.keys.dirty(p), "-inf", now_ms)
            pipe.zcard(spine.keys.dirty(p))
        got = [int(x) for x in pipe.execute()]
    finally:
        spine.close()
    return {"due": sum(got[0::2]), "waiting": sum(got[1::2])}


def outdate_queues(redis_url: str) -> None:
    from graphrec.spine import Spine

    spine = Spine.connect(redis_url)
    try:
        spine.r.hincrby(spine.keys.meta, "queue_epoch", 1)
    finally:
        spine.close()


def headline(levels: list[dict[str, Any]], baseline: dict[str, Any] | None) -> dict[str, Any]:
    """The figures checks read: feed at the most clients, baseline, feed at 1 client."""
    top = max(levels, key=lambda lv: lv["clients"])
    one = next((lv for lv in levels if lv["clients"] == 1), None)
    out: dict[str, Any] = {
        "clients": top["clients"],
        "feed_rps": top["req_per_s"],
        "feed_p50_ms": top["p50_ms"],
        "feed_p99_ms": top["p99_ms"],
        "baseline_rps": baseline["req_per_s"] if baseline else None,
        "baseline_p50_ms": baseline["p50_ms"] if baseline else None,
        "feed_p50_ms_1_client": one["p50_ms"] if one else None,
        "feed_rps_1_client": one["req_per_s"] if one else None,
    }
    if baseline and baseline["req_per_s"]:
        out["feed_to_baseline"] = round(top["req_per_s"] / baseline["req_per_s"], 3)
    # With the graph keeping up: the level's rate counting the time the graph writer took,
    # after it, to apply the SAWs it appended (/ping appends nothing: its drain is ~0).
    if "sustained_req_per_s" in top:
        out["feed_rps_sustained"] = top["sustained_req_per_s"]
        out["feed_drain_seconds"] = top["graph_drain"]["seconds"]
        if baseline and baseline.get("sustained_req_per_s"):
            out["feed_to_baseline_sustained"] = round(
                top["sustained_req_per_s"] / baseline["sustained_req_per_s"], 3
            )
    out["queue_hit_rate"] = top.get("queue_hit_rate")
    out["feed_hit_p50_ms"] = top.get("hit_p50_ms")
    out["queue_misses_by_reason"] = top.get("misses_by_reason")
    out["filler_backlog_at_end"] = top.get("filler_backlog_at_end")
    # Where a request's CPU goes, by process (the capacity model: a route can answer at most
    # as fast as the machine's cores divided by what one request costs in all of them).
    out["feed_cpu_us_per_request"] = cpu_per_request(top)
    out["baseline_cpu_us_per_request"] = cpu_per_request(baseline) if baseline else None
    out["feed_drain_cpu_us_per_request"] = top.get("drain_cpu_us_per_request")
    out["feed_redis_commands_per_request"] = top.get("redis_commands_per_request")
    out["feed_redis_slow_commands"] = top.get("redis_slow_commands")
    return out


def cpu_per_request(level: dict[str, Any]) -> dict[str, float] | None:
    """A level's CPU per answered request, in microseconds, by process (``cpu``'s cores busy
    over its requests per second); ``total`` sums the service's processes: the load
    generator is listed but not counted, the machine and others are left out."""
    cpu, rps = level.get("cpu"), level.get("req_per_s")
    if not cpu or not rps:
        return None
    out = {k.removesuffix("_cores"): round(v * 1e6 / rps, 1) for k, v in cpu.items()
           if k not in ("machine_cores", "others_cores")}  # fmt: skip
    out["total"] = round(sum(v for k, v in out.items() if k != "loadgen"), 1)
    return out


def miss_headline(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """The ranked (miss) path's figures, from the levels run after every queue was outdated."""
    if not levels:
        return {}
    top = max(levels, key=lambda lv: lv["clients"])
    one = next((lv for lv in levels if lv["clients"] == 1), None)
    return {
        "feed_miss_p50_ms": top["miss_p50_ms"],
        "feed_miss_p99_ms": top["miss_p99_ms"],
        "feed_rps_all_queues_outdated": top["req_per_s"],
        "feed_miss_p50_ms_1_client": one["miss_p50_ms"] if one else None,
    }


def bench_serve(
    graph: Graph,
    conn: Any,
    *,
    size: str,
    seed: int,
    clients: Sequence[int],
    seconds: float,
    warmup: float,
    workers: int,
) -> dict[str, Any]:
    counts = world_ready(graph, size, seed)
    users, _ = sample_ids(graph, 20_000)
    key = get_settings().api_key.get_secret_value()
    neo4j_pid = listening_pid(int(conn.uri.rsplit(":", 1)[1]))
    redis_url, redis_pid, synced_s = redis_ready(graph)
    # Every user's queue, as the filler leaves them after a sync or training.
    filled = fill_queues(redis_url, users, procs=max(1, min(2, os.cpu_count() or 1)))
    levels = []
    misses = []
    baseline = None
    with metered_api(
        conn, workers=workers, redis_url=redis_url, neo4j_pid=neo4j_pid, redis_pid=redis_pid
    ) as (port, meter):
        # Nothing older than this run in the stream: its graph work would be billed here.
        before = settle(redis_url, meter)
        for c in clients:
            args = {"port": port, "key": key, "users": users, "c": c, "seconds": seconds,
                    "warmup": warmup, "phase": f"level-{c}"}  # fmt: skip
            commands = redis_commands(redis_url)
            mark = slowlog_mark(redis_url)
            level = in_process(_feed_worker, args, seconds + warmup + 120, meter)
            # The queues the level left for the filler (a backlog: users it did not reach).
            level["filler_backlog_at_end"] = due_backlog(redis_url)
            # The SAWs the level appended, applied before the next one (and before /ping).
            with_drain(level, settle(redis_url, meter), warmup + seconds)
            # What held Redis (and every feed behind it) for 10 ms or more, drain included.
            level["redis_slow_commands"] = slow_commands(redis_url, mark)
            # Redis's work for the level's feeds, warm-up and drain included (as the drain's
            # CPU is): the pops, the writer's reads and acks, the filler's refills.
            level["redis_commands_per_request"] = commands_per_request(
                commands, redis_commands(redis_url), level["req_per_s"] * (warmup + seconds)
            )
            levels.append(level)
        # The same load generator, client count and app on a trivial JSON route.
        args = {"port": port, "key": key, "users": users, "c": max(clients), "seconds": seconds,
                "warmup": warmup, "path": "/ping", "phase": "baseline"}  # fmt: skip
        baseline = in_process(_feed_worker, args, seconds + warmup + 120, meter)
        with_drain(baseline, settle(redis_url, meter), warmup + seconds)
        # The ranked path: every queue outdated at once (the epoch moves on; the filler is
        # not told), so a user's first feed ranks (and stores a queue) from here on.
        outdate_queues(redis_url)
        for c in (min(clients), max(clients)):
            args = {"port": port, "key": key, "users": users, "c": c, "seconds": seconds,
                    "warmup": 0.0, "phase": f"outdated-{c}"}  # fmt: skip
            misses.append(in_process(_feed_worker, args, seconds + 120, meter))
    return {
        **headline(levels, baseline),
        **miss_headline(misses),
        "queue_fill": filled,
        "stream_before": before,
        "baseline": baseline,
        "levels_queues_outdated": misses,
        "state_sync_seconds": synced_s,
        "size": size,
        "graph": counts,
        "workers": workers,
        "seconds_per_level": seconds,
        "levels": levels,
        "machine": machine(),
        "load_average": os.getloadavg(),
    }


def bench_events(
    graph: Graph,
    conn: Any,
    *,
    size: str,
    seed: int,
    clients: int,
    batch: int,
    seconds: float,
    samples: int,
    workers: int,
    warmup: float = 30.0,
) -> dict[str, Any]:
    counts = world_ready(graph, size, seed)
    users, videos = sample_ids(graph, 20_000)
    key = get_settings().api_key.get_secret_value()
    run_id = f"bench-{int(time.time())}"
    neo4j_pid = listening_pid(int(conn.uri.rsplit(":", 1)[1]))
    redis_url, redis_pid, synced_s = redis_ready(graph)
    with metered_api(
        conn, workers=workers, redis_url=redis_url, neo4j_pid=neo4j_pid, redis_pid=redis_pid
    ) as (port, meter):
        args = {"port": port, "key": key, "users": users, "videos": videos, "clients": clients,
                "batch": batch, "seconds": seconds, "samples": samples, "run_id": run_id,
                "redis_url": redis_url, "phase": "run"}  # fmt: skip
        warm = None
        if warmup > 0:
            # A freshly started Neo4j spends ~30 s of CPU compiling the writer's statements
            # (bench apply), whatever the run's length: a deployment pays it once, not per
            # event. Warm the whole path with events of another run id, applied before.
            w_args = {**args, "seconds": warmup, "samples": 0, "run_id": f"warm-{run_id}",
                      "phase": "warm"}  # fmt: skip
            warm = in_process(_events_worker, w_args, warmup + 180)["ingest"]
        # Nothing older than this run in the stream: its graph work would be billed here.
        before = settle(redis_url, meter)
        whole = CpuMeter(meter)  # the load and the graph writer catching up after it
        mark = slowlog_mark(redis_url)
        commands = redis_commands(redis_url)
        result = in_process(_events_worker, args, seconds + samples + 180, meter)
        # Redis's work per event sent during the load: the append scripts and what they call,
        # the graph writer's reads and acks, the filler's refills (a breakdown, not a sum).
        per_event_commands = commands_per_request(
            commands, redis_commands(redis_url), result["ingest"]["events_sent"], top=20
        )
        # Let the graph writer finish, then count what the graph holds of this run.
        t = time.perf_counter()
        drained = False
        while time.perf_counter() - t < 1_800:
            status, data = asyncio.run(_get(port, "/health"))
            st = json.loads(data)["stream"] if status == 200 else {}
            if st and st["pending"] == 0 and st["lag"] == 0:
                drained = True
                break
            time.sleep(1.0)
        drain_s = round(time.perf_counter() - t, 1)
        used, _wall = whole.used()
        slow = slow_commands(redis_url, mark)
    stored = graph.read("state/count_stored_events", prefix=f"{run_id}-")[0]
    ingest = result["ingest"]
    lag = result["event_to_next_feed"]
    acknowledged = ingest["events_accepted"] + lag["samples"]
    # What each event cost, from its POST to its relationship in the graph: the rate these
    # cores could sustain with the graph keeping up is the machine's cores over the sum.
    per_event = {
        k: round(used[k] / max(ingest["events_sent"], 1) * 1e6, 1)
        for k in ("api", "redis", "writer", "neo4j", "filler")
        if k in used
    }
    cores = os.cpu_count() or 1
    cost = {
        "cpu_us_per_event": per_event,
        "cpu_us_per_event_total": round(sum(per_event.values()), 1),
        "cpu_bound_events_per_s": round(cores * 1e6 / max(sum(per_event.values()), 1e-9)),
        "cpu_bound_ingest_only_events_per_s": round(
            cores * 1e6 / max(per_event.get("api", 0) + per_event.get("redis", 0), 1e-9)
        ),
    }
    return {
        "events_per_s": ingest["events_per_s"],
        "acknowledged": acknowledged,
        "stored": int(stored["stored"]),
        "lost": max(0, acknowledged - int(stored["distinct_ids"])),
        "duplicates_counted": int(stored["stored"]) - int(stored["distinct_ids"]),
        "event_to_feed_p99_ms": lag["p99_ms"],
        "event_to_feed_visible": f"{lag['visible']}/{lag['samples']}",
        "graph_lag_p99_ms": ingest["graph_lag_p99_ms"],
        "graph_drained": drained,
        "graph_drain_seconds_after_load": drain_s,
        # What held Redis for 10 ms or more (load and drain): the ingest's scripts of 1,000
        # events, and whatever else stalled the feeds and events behind it.
        "redis_slow_commands": slow,
        "redis_commands_per_event": per_event_commands,
        "stream_before": before,
        "warmup_seconds": warmup,
        "warmup_events": warm["events_sent"] if warm else 0,
        "state_sync_seconds": synced_s,
        **cost,
        "size": size,
        "graph": counts,
        "workers": workers,
        **result,
        "machine": machine(),
        "load_average": os.getloadavg(),
    }


def result_path(name: str) -> Path:
    return Path("out/bench") / f"{name}.json"
