"""The served-impression benchmark: Neo4j's CPU per SAW the graph writer applies.

Every feed served appends a ``served`` entry (10 videos, the ranker's features) to the stream;
the graph writer turns batches of them into SAW rows (:func:`graphrec.spine.writer.served_rows`)
and applies them in one transaction (:func:`graphrec.spine.writer.apply_served`). That write
was the largest single share of a feed's all-in CPU (``graphrec bench serve``), so this
measures it alone: a world loaded into a private server, feeds of 10 distinct videos drawn
Zipf-like (popular videos recur within a batch, as in a real day), features logged as the
ranker logs them, applied in batches of ``batch_feeds`` entries as the writer reads them.
Figures: the Neo4j process's CPU (user + system, every thread: Bolt, Cypher, commit, GC) and
this process's CPU (row building, the driver) per SAW created, and wall per batch; medians of
``runs`` runs. Nothing here is a timed assertion: figures to compare before/after a change in
the same session, with the machine's load beside them.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from graphrec.bench.load import _server_pid, machine
from graphrec.config import get_settings
from graphrec.db import Graph
from graphrec.learn.ranker import LOGGED, encode_log
from graphrec.services.provide import provide_server
from graphrec.spine.stream import Entry
from graphrec.spine.writer import apply_served, served_rows
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


def _cpu(proc: psutil.Process | None) -> float:
    if proc is None:
        return float("nan")
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


def bench_saw(
    *,
    size: str = "S",
    seed: int = 0,
    feeds: int = 1_000,
    batch_feeds: Sequence[int] = (10, 100, 1_000),
    runs: int = 3,
    variants: dict[str, ApplyFn] | None = None,
) -> dict[str, Any]:
    """Load world ``size`` into a private server; apply ``feeds`` served feeds per run in
    batches of each of ``batch_feeds`` entries; medians of ``runs`` runs."""
    settings = get_settings()
    world = generate(size, seed)
    variants = variants or {"writer": writer_apply}
    with tempfile.TemporaryDirectory(prefix="graphrec-bench-") as tmp:
        handle = provide_server(settings, state_dir=Path(tmp) / "neo4j", ephemeral_port=True)
        try:
            with Graph.connect(handle.connection, settings=settings) as graph:
                load_world(graph, world)
                pid = _server_pid(handle)
                proc = psutil.Process(pid) if pid is not None else None
                load_before = load_avg()
                c0 = _cpu(proc)
                time.sleep(2.0)
                idle = (_cpu(proc) - c0) / 2.0
                rows = run_variants(graph, world, proc, variants, feeds=feeds,
                                    batch_feeds=batch_feeds, runs=runs, seed=seed + 1,
                                    at=world.now_ms)  # fmt: skip
                load_after = load_avg()
        finally:
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
    }
