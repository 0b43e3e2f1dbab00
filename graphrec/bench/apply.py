"""The graph writer's event benchmark: Neo4j's CPU per event the writer applies.

``graphrec bench events`` bills each event its POST, its Redis append and its share of
everything Neo4j did meanwhile; Neo4j was the largest share. This measures the writer's event
work alone, on the graph the settings reach (world ``size`` loaded first when it lacks it):
batches of events as ``bench events`` posts them (view 50 %, complete 20, like 15, skip 10,
share 3, comment 2, uniform over users and videos), turned into rows as the writer turns
stream entries (:func:`graphrec.spine.writer._rows`), each batch applied in one transaction:

* ``writer``: :func:`graphrec.spine.writer.apply_entries`, what the writer runs (a batch cut
  into transactions of at most ``TX_EVENTS`` events, every user's events in one; the profile
  step in two batch-wide statements);
* ``statements``: the events API's statements (``serving/ingest_events`` with ``any_type``
  false, then ``serving/update_profiles``) in one transaction a batch, what the writer ran
  before;
* ``compare``: a list of (ingest file, profiles file) taking those statements' params,
  to try a variant.

Figures: the Neo4j process's CPU per event (every thread, from ``/proc/<pid>/task/*/schedstat``)
and this process's CPU per event, medians of ``runs`` rounds, variants interleaved in each
round (a drift of the machine or the growing graph hits each alike), after ``warmup_s``
unmeasured seconds (a fresh JVM spends its first minute compiling). Events it writes stay in
the graph (ids ``bench-apply-<time>-...``), as ``bench events``' do. Nothing here is a timed
assertion: figures to compare before/after a change, with the machine's load beside them.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

from graphrec.bench.load import machine
from graphrec.bench.saw import load_avg
from graphrec.bench.serve import EVENT_KINDS
from graphrec.config import get_settings
from graphrec.db import Graph, quiet
from graphrec.events import MAX_WEIGHT, MIN_WEIGHT, profile_rows
from graphrec.spine.stream import Entry
from graphrec.spine.writer import _rows, apply_entries

ApplyFn = Callable[[Graph, list[Entry]], int]


def event_entries(
    users: Sequence[str], videos: Sequence[str], *, n: int, rng: random.Random, tag: str, at: int
) -> list[Entry]:
    """``n`` stream entries as ``POST /events`` appends ``bench events``' events."""
    out = []
    for i in range(n):
        kind = EVENT_KINDS[rng.randrange(len(EVENT_KINDS))]
        f = {"k": kind, "id": f"{tag}-{i}", "u": users[rng.randrange(len(users))],
             "v": videos[rng.randrange(len(videos))], "at": str(at + i)}  # fmt: skip
        if kind in ("view", "skip"):
            f["wm"] = str(rng.randrange(300, 30_000))
        out.append(Entry("bench", f"{at + i}-0", f))
    return out


def writer_apply(graph: Graph, entries: list[Entry]) -> int:
    """What the graph writer does with a batch's events (:func:`apply_entries`)."""
    return apply_entries(graph, entries, rate=get_settings().online_embedding_rate)["events"]


def statements_apply(ingest: str, profiles: str) -> ApplyFn:
    """The writer's event work as one ingest statement then one profile statement (the events
    API's, or a variant taking their params)."""
    rate = get_settings().online_embedding_rate

    def apply(graph: Graph, entries: list[Entry]) -> int:
        _served, events, models = _rows(entries)
        events.sort(key=lambda r: (r["video_id"] or "", r["user_id"], r["event_id"]))
        now = int(time.time() * 1000)

        def work(tx: Any) -> int:
            params = quiet({"rows": events, "any_type": False})
            grouped = {g["status"]: g["rows"] for g in tx.run(ingest, params)}
            ok = set(grouped.get("accepted", ()))
            stored = [m for i, m in enumerate(models) if i in ok]
            if stored:
                tx.run(profiles, quiet({"rows": profile_rows(stored, now), "rate": rate,
                       "min_weight": MIN_WEIGHT, "max_weight": MAX_WEIGHT})).consume()  # fmt: skip
            return len(ok)

        return graph.transaction(work, what="applying events (statements)")

    return apply


def jvm_cpu(proc: psutil.Process | None) -> dict[str, float]:
    """CPU seconds of a JVM by kind: ``gc`` (G1's threads), ``work`` (the other live threads
    but the compiler's: Bolt workers running the queries, commits, checkpoints) and ``jit``
    (the rest of the process's CPU: the compiler threads, which come and go, so what ended
    ones used is only in the process's total)."""
    out = {"gc": 0.0, "jit": 0.0, "work": 0.0}
    if proc is None:
        return out
    for task in Path(f"/proc/{proc.pid}/task").glob("*"):
        try:
            ns = int((task / "schedstat").read_text().split()[0])
            name = (task / "comm").read_text().strip()
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile
            continue
        if "CompilerThre" not in name:
            out["gc" if "GC" in name or name.startswith("G1") else "work"] += ns / 1e9
    t = proc.cpu_times()  # every thread, ended ones included (clock ticks)
    out["jit"] = t.user + t.system - out["gc"] - out["work"]
    return out


def measure(
    graph: Graph, proc: psutil.Process | None, batches: Sequence[list[Entry]], apply: ApplyFn
) -> dict[str, Any]:
    """Apply ``batches`` one transaction each; Neo4j (all, and its GC and JIT threads) and
    client CPU per event stored, wall."""
    stored = 0
    jvm0, me0, t0 = jvm_cpu(proc), time.process_time(), time.perf_counter()
    for entries in batches:
        stored += apply(graph, entries)
    jvm1 = jvm_cpu(proc)
    me, wall = time.process_time() - me0, time.perf_counter() - t0
    d = {k: jvm1[k] - jvm0[k] for k in jvm1}
    n = max(stored, 1)
    return {
        "events": stored,
        "neo4j_cpu_us_per_event": round(sum(d.values()) / n * 1e6, 1),
        "neo4j_gc_us": round(d["gc"] / n * 1e6, 1),
        "neo4j_jit_us": round(d["jit"] / n * 1e6, 1),
        "client_cpu_us_per_event": round(me / n * 1e6, 1),
        "wall_us_per_event": round(wall / n * 1e6, 1),
    }


def bench_apply(
    graph: Graph,
    conn: Any,
    *,
    size: str = "M",
    seed: int = 0,
    batch: int = 5_000,
    batches: int = 2,
    runs: int = 5,
    warmup_s: float = 40.0,
    compare: Sequence[tuple[Path, Path]] = (),
) -> dict[str, Any]:
    """Per round, ``batches`` batches of ``batch`` events through each variant; medians of
    ``runs`` rounds after ``warmup_s`` seconds of unmeasured rounds."""
    from graphrec import cypher
    from graphrec.bench.serve import listening_pid, sample_ids, world_ready

    counts = world_ready(graph, size, seed)
    users, videos = sample_ids(graph, 50_000)
    pid = listening_pid(int(conn.uri.rsplit(":", 1)[1]))
    proc = psutil.Process(pid) if pid is not None else None
    variants: dict[str, ApplyFn] = {
        "writer": writer_apply,
        "statements": statements_apply(
            cypher.load("serving/ingest_events").text, cypher.load("serving/update_profiles").text
        ),
    }
    for ingest, profiles in compare:
        variants[f"{ingest.name}+{profiles.name}"] = statements_apply(
            ingest.read_text(), profiles.read_text()
        )
    rng = random.Random(seed)
    tag = f"bench-apply-{int(time.time())}"
    at = int(time.time() * 1000)
    n = 0

    def next_batches() -> list[list[Entry]]:
        nonlocal n
        n += 1
        return [
            event_entries(users, videos, n=batch, rng=rng, tag=f"{tag}-{n}-{b}", at=at + n)
            for b in range(batches)
        ]

    load_before = load_avg()
    deadline = time.monotonic() + warmup_s
    warm_rounds = 0
    while time.monotonic() < deadline or warm_rounds == 0:
        warm_rounds += 1
        for fn in variants.values():
            for entries in next_batches():
                fn(graph, entries)
    got: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for r in range(runs):
        names = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in names:
            got[name].append(measure(graph, proc, next_batches(), variants[name]))
    rows = []
    for name, results in got.items():
        row: dict[str, Any] = {"variant": name}
        for k in results[0]:
            row[k] = round(statistics.median(x[k] for x in results), 1)
        rows.append(row)
    return {
        "benchmark": "apply",
        "size": size,
        "graph": counts,
        "batch_events": batch,
        "batches_per_round": batches,
        "runs": runs,
        "warmup_rounds": warm_rounds,
        "load_before": load_before,
        "load_after": load_avg(),
        "machine": machine(),
        "rows": rows,
        "all": got,
    }


__all__ = ["bench_apply", "event_entries", "statements_apply", "writer_apply"]
