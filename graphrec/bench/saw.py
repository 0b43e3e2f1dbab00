"""The served-impression benchmark: Neo4j's CPU per SAW the graph writer applies.

Every feed served appends a ``served`` entry (10 videos, the ranker's features) to the stream;
the graph writer turns batches of them into SAW rows (:func:`graphrec.spine.writer.served_rows`)
and applies them in one transaction (:func:`graphrec.spine.writer.apply_served`). That write
was the largest single share of a feed's all-in CPU (``graphrec bench serve``), so this
measures it alone: a world loaded into a private server, feeds of 10 distinct videos drawn
Zipf-like (popular videos recur within a batch, as in a real day), features logged as the
ranker logs them, applied in batches of ``batch_feeds`` entries as the writer reads them.
Figures: the Neo4j process's CPU (every thread: Bolt, Cypher, commit, GC; summed from
``/proc/<pid>/task/*/schedstat``, nanoseconds, where the clock-tick counters of
``/proc/<pid>/stat`` would be too coarse) and this process's CPU (row building, the driver)
per SAW created, and wall per batch; medians of ``runs`` runs. ``compare``: a Cypher file
taking the same ``$rows`` (say the previous ``serving/apply_served``), measured interleaved
with the current one on the same kind of batches.

Then the writer itself (``stream_rate`` > 0): served entries appended to a private Redis at
``stream_rate`` feeds/s for ``stream_s`` seconds while a :class:`GraphWriter` applies them,
once with ``stream_writer_interval_ms`` 0 (every read applied at once: the batch is whatever
arrived during the last apply) and once with the configured interval; Neo4j CPU per SAW and
feeds per transaction. Nothing here is a timed assertion: figures to compare before/after a
change in the same session, with the machine's load beside them.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from graphrec.bench.load import _server_pid, machine
from graphrec.config import Settings, get_settings
from graphrec.db import Graph, quiet
from graphrec.learn.ranker import LOGGED, encode_log
from graphrec.services.provide import provide_server
from graphrec.spine.stream import Entry, group_status
from graphrec.spine.writer import GROUP, GraphWriter, apply_served, served_rows
from graphrec.world.generate import World, generate
from graphrec.world.load import load_world

FEED = 10  # videos per served feed (the API's default page)
ApplyFn = Callable[[Graph, list[Entry]], int]


def served_entries(
    world: World, *, feeds: int, rng: np.random.Generator, tag: str, at: int, zipf: float = 1.0
) -> list[Entry]:
    """``feeds`` served entries as the feed appends them: a user, 10 distinct videos drawn with
    probability ~ 1 / rank**zipf over a fixed popularity order, one logged row per video."""
    users = [u["id"] for u in world.users]
    videos = [v["id"] for v in world.videos]
    order = rng.permutation(len(videos))
    p = 1.0 / np.arange(1, len(videos) + 1) ** zipf
    p /= p.sum()
    out = []
    for i in range(feeds):
        picks = order[rng.choice(len(videos), size=FEED, replace=False, p=p)]
        x = rng.random((FEED, len(LOGGED)))
        x[:, -2:] = rng.random((FEED, 2)) < 0.1  # slot flags are 0/1
        fields = {
            "k": "served",
            "u": users[int(rng.integers(len(users)))],
            "at": str(at + i),
            "f": f"{tag}-{i}",
            "v": ",".join(videos[j] for j in picks),
            "x": ";".join(encode_log(row) for row in x.tolist()),
        }
        out.append(Entry("bench", f"{at + i}-0", fields))
    return out


def writer_apply(graph: Graph, entries: list[Entry]) -> int:
    """What the graph writer does with a batch's served entries: rows, one transaction."""
    rows = served_rows(entries)
    return graph.transaction(lambda tx: apply_served(tx, rows), what="applying served rows")


def file_apply(text: str) -> ApplyFn:
    """A variant of the served statement (same ``$rows``, returns ``applied``) to compare."""

    def apply(graph: Graph, entries: list[Entry]) -> int:
        rows = served_rows(entries)

        def work(tx: Any) -> int:
            return int(tx.run(text, quiet({"rows": rows})).single(strict=True)["applied"])

        return graph.transaction(work, what="applying served rows (a variant)")

    return apply


def _cpu(proc: psutil.Process | None) -> float:
    """CPU seconds of every live thread of ``proc`` (ns precision from schedstat; psutil's
    clock-tick figures where schedstat is not readable)."""
    if proc is None:
        return float("nan")
    total, read = 0, False
    for task in Path(f"/proc/{proc.pid}/task").glob("*/schedstat"):
        try:
            total += int(task.read_text().split()[0])
            read = True
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile
            continue
    if read:
        return total / 1e9
    t = proc.cpu_times()
    return t.user + t.system


def measure(
    graph: Graph,
    proc: psutil.Process | None,
    batches: Sequence[list[Entry]],
    apply: ApplyFn = writer_apply,
) -> dict[str, Any]:
    """Apply ``batches`` one transaction each; Neo4j and client CPU per SAW created, wall."""
    walls: list[float] = []
    applied = 0
    neo0, me0 = _cpu(proc), time.process_time()
    for entries in batches:
        t0 = time.perf_counter()
        applied += apply(graph, entries)
        walls.append(time.perf_counter() - t0)
    neo, me = _cpu(proc) - neo0, time.process_time() - me0
    saws = max(applied, 1)
    return {
        "saws": applied,
        "batches": len(batches),
        "neo4j_cpu_us_per_saw": round(neo / saws * 1e6, 1),
        "client_cpu_us_per_saw": round(me / saws * 1e6, 1),
        "wall_ms_per_batch": round(statistics.median(walls) * 1000, 2),
        "wall_us_per_saw": round(sum(walls) / saws * 1e6, 1),
    }


def _median_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in rows[0] if k not in ("saws", "batches")]
    out = {k: round(statistics.median(r[k] for r in rows), 2) for k in keys}
    out["saws"] = rows[0]["saws"]
    return out


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_variants(
    graph: Graph,
    world: World,
    proc: psutil.Process | None,
    variants: dict[str, ApplyFn],
    *,
    feeds: int,
    batch_feeds: Sequence[int],
    runs: int,
    seed: int,
    at: int,
    warmup_s: float = 30.0,
) -> list[dict[str, Any]]:
    """Every (batch size, variant), ``runs`` times, interleaved (so a drift of the machine
    or the growing graph hits each alike); medians per (batch size, variant).

    First ``warmup_s`` seconds of every variant's batches unmeasured: a fresh JVM spends
    its first minute compiling (JIT threads), which would be billed to whichever ran first."""
    rng = np.random.default_rng(seed)
    got: dict[tuple[int, str], list[dict[str, Any]]] = {}
    n = 0
    deadline = time.monotonic() + warmup_s
    while time.monotonic() < deadline:
        for fn in variants.values():
            n += 1
            warm = served_entries(world, feeds=sum(batch_feeds), rng=rng, tag=f"w{n}", at=at)
            for b in batch_feeds:
                fn(graph, warm[:b])
                warm = warm[b:]
    for _ in range(runs):
        for b in batch_feeds:
            for name, fn in variants.items():
                n += 1
                entries = served_entries(world, feeds=feeds, rng=rng, tag=f"r{n}", at=at + n)
                batches = [entries[i : i + b] for i in range(0, len(entries), b)]
                got.setdefault((b, name), []).append(measure(graph, proc, batches, fn))
    rows = []
    for (b, name), results in got.items():
        rows.append({"batch_feeds": b, "variant": name, **_median_of(results)})
    return rows


def stream_run(
    graph: Graph,
    proc: psutil.Process | None,
    world: World,
    settings: Settings,
    *,
    interval_ms: int,
    rate: float,
    seconds: float,
    tag: str,
    seed: int,
) -> dict[str, Any]:
    """Append ``rate`` served feeds/s for ``seconds`` to an emptied Redis while a graph writer
    (``stream_writer_interval_ms`` = ``interval_ms``) applies them; measured until it caught
    up: Neo4j CPU per SAW, the writer thread's CPU per SAW, transactions, feeds per one."""
    from graphrec.spine import Spine

    assert settings.redis_url is not None
    spine = Spine.connect(
        settings.redis_url, settings.model_copy(update={"stream_writer_interval_ms": interval_ms})
    )
    spine.r.flushdb()
    feeds = max(1, round(rate * seconds))
    entries = served_entries(world, feeds=feeds, rng=np.random.default_rng(seed), tag=tag,
                             at=world.now_ms)  # fmt: skip
    writer = GraphWriter(graph, spine, consumer=f"bench-{tag}")
    stop = threading.Event()
    counts = {"transactions": 0, "entries": 0, "writer_cpu_s": 0.0}

    def loop() -> None:
        t0 = time.thread_time()
        while not stop.is_set():
            n = writer.step(block=True)
            counts["transactions"] += n > 0
            counts["entries"] += n
        counts["writer_cpu_s"] = time.thread_time() - t0

    thread = threading.Thread(target=loop, name="bench-writer", daemon=True)
    neo0 = _cpu(proc)
    t0 = time.perf_counter()
    thread.start()
    try:
        for i, e in enumerate(entries):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            spine.r.xadd(spine.keys.stream(spine.keys.part(e.fields["u"])), e.fields)
        while counts["entries"] < feeds:
            st = group_status(spine, GROUP)
            if time.perf_counter() - t0 > seconds + 120:
                raise RuntimeError(f"the writer did not catch up: {st}")
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=60)
        spine.close()
    saws = feeds * FEED
    return {
        "interval_ms": interval_ms,
        "feeds_per_s": rate,
        "neo4j_cpu_us_per_saw": round((_cpu(proc) - neo0) / saws * 1e6, 1),
        "writer_cpu_us_per_saw": round(counts["writer_cpu_s"] / saws * 1e6, 1),
        "transactions": counts["transactions"],
        "feeds_per_transaction": round(feeds / max(1, counts["transactions"]), 1),
    }


def bench_saw(
    *,
    size: str = "S",
    seed: int = 0,
    feeds: int = 300,
    batch_feeds: Sequence[int] = (1, 10, 100),
    runs: int = 3,
    warmup_s: float = 20.0,
    compare: Path | None = None,
    stream_rate: float = 100.0,
    stream_s: float = 5.0,
) -> dict[str, Any]:
    """Load world ``size`` into a private server; apply ``feeds`` served feeds per run in
    batches of each of ``batch_feeds`` entries (and ``compare``'s statement likewise); then,
    with ``stream_rate`` > 0, the writer on a private Redis at that rate, with and without
    its interval; medians of ``runs`` runs."""
    from graphrec.services.redis import provide_redis

    settings = get_settings()
    world = generate(size, seed)
    variants: dict[str, ApplyFn] = {"writer": writer_apply}
    if compare is not None:
        variants[compare.name] = file_apply(compare.read_text())
    interval = settings.stream_writer_interval_ms
    stream: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="graphrec-bench-") as tmp:
        handle = provide_server(settings, state_dir=Path(tmp) / "neo4j", ephemeral_port=True)
        redis_handle = None
        try:
            with Graph.connect(handle.connection, settings=settings) as graph:
                load_world(graph, world)
                pid = _server_pid(handle)
                proc = psutil.Process(pid) if pid is not None else None
                load_before = load_avg()
                rows = run_variants(graph, world, proc, variants, feeds=feeds,
                                    batch_feeds=batch_feeds, runs=runs, seed=seed + 1,
                                    at=world.now_ms, warmup_s=warmup_s)  # fmt: skip
                c0 = _cpu(proc)
                time.sleep(2.0)
                idle = (_cpu(proc) - c0) / 2.0
                if stream_rate > 0:
                    redis_handle = provide_redis(settings, state_dir=Path(tmp) / "redis",
                                                 ephemeral_port=True)  # fmt: skip
                    s = settings.model_copy(update={"redis_url": redis_handle.url})
                    got: dict[int, list[dict[str, Any]]] = {}
                    for run in range(runs):
                        for ms in (0, interval):
                            got.setdefault(ms, []).append(
                                stream_run(graph, proc, world, s, interval_ms=ms, rate=stream_rate,
                                           seconds=stream_s, tag=f"s{run}-{ms}", seed=seed + run)
                            )  # fmt: skip
                    stream = [
                        {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                        for rs in got.values()
                    ]
                load_after = load_avg()
        finally:
            if redis_handle is not None:
                redis_handle.close()
            handle.close()
    return {
        "benchmark": "saw",
        "size": size,
        "seed": seed,
        "feeds_per_run": feeds,
        "saws_per_feed": FEED,
        "runs": runs,
        "machine": machine(),
        "backend": handle.backend,
        "neo4j_idle_cores": round(idle, 3),
        "load_before": load_before,
        "load_after": load_after,
        "rows": rows,
        "stream": stream,
    }
