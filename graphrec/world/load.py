"""The bulk loader: a world into Neo4j in batched transactions (one `$rows` list each).

Nodes and their links are ``MERGE``d, so a rerun changes nothing. The interaction history is
``CREATE``d for speed, one batch per transaction together with a ``LoadBatch`` marker, so a
rerun (or a load resumed after a crash) skips the batches already written and never
duplicates a relationship. Everything is checked before the first write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphrec.cypher import checked_identifier
from graphrec.db import Graph, migrate
from graphrec.domain import INTERACTIONS, POOLS
from graphrec.errors import InvalidInput
from graphrec.world.files import fingerprint
from graphrec.world.generate import KINDS, World

REL_TYPES = {k: rel for k, (rel, _) in INTERACTIONS.items() if k != "follow"}
COUNTERS = {k: counter for k, (_, counter) in INTERACTIONS.items()}
POOL_ROWS = [p.as_dict() for p in POOLS]


@dataclass
class LoadReport:
    nodes: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    skipped_batches: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def video_rows(world: World) -> list[dict[str, Any]]:
    """Video rows with their engagement counters aggregated from the history."""
    inter = world.interactions
    n = len(world.videos)
    counts = {
        COUNTERS[k]: np.bincount(inter.video[inter.kind == i], minlength=n)
        for i, k in enumerate(KINDS)
    }
    watch = np.bincount(
        inter.video[inter.kind == KINDS.index("view")],
        weights=inter.watch_ms[inter.kind == KINDS.index("view")],
        minlength=n,
    )
    rows = []
    for i, v in enumerate(world.videos):
        row = dict(v)
        for name, arr in counts.items():
            row[name] = int(arr[i])
        row["watch_ms"] = int(watch[i])
        rows.append(row)
    return rows


def creator_rows(world: World) -> list[dict[str, Any]]:
    """Creator rows with a starting account score (strikes count against it)."""
    return [
        {**c, "account_score": round(max(0.0, 0.5 - 0.15 * int(c.get("strikes", 0))), 4)}
        for c in world.creators
    ]


def load_world(
    graph: Graph,
    world: World,
    *,
    batch_size: int = 10_000,
    progress: Callable[[str, int, int], None] | None = None,
) -> LoadReport:
    """Write ``world`` into the graph; safe to run again (creates nothing twice)."""
    report = LoadReport()
    tick = progress or (lambda stage, done, total: None)

    def timed(stage: str, fn: Callable[[], int]) -> None:
        t0 = time.perf_counter()
        report.nodes[stage] = fn()
        report.seconds[stage] = time.perf_counter() - t0

    if batch_size <= 0:
        raise InvalidInput(f"batch size must be positive, not {batch_size}")
    t0 = time.perf_counter()
    migrate(graph)
    report.seconds["schema"] = time.perf_counter() - t0

    def rows_stage(name: str, query: str, rows: list[dict[str, Any]], **extra: Any) -> None:
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            tick(name, done, len(rows))

        timed(
            name,
            lambda: graph.write_rows(
                query, rows, batch_size=batch_size, extra=extra, on_batch=advance
            ),
        )

    rows_stage("pools", "world/merge_pools", POOL_ROWS)
    rows_stage("categories", "world/merge_categories", world.categories)
    rows_stage("tags", "world/merge_tags", world.tags)
    rows_stage("creators", "world/merge_creators", creator_rows(world))
    rows_stage("users", "world/merge_users", world.users)
    rows_stage("videos", "world/merge_videos", video_rows(world))

    t0 = time.perf_counter()
    created = _load_interactions(graph, world, batch_size=batch_size, report=report, tick=tick)
    report.relationships.update(created)
    report.seconds["interactions"] = time.perf_counter() - t0
    return report


def _load_interactions(
    graph: Graph,
    world: World,
    *,
    batch_size: int,
    report: LoadReport,
    tick: Callable[[str, int, int], None],
) -> dict[str, int]:
    inter = world.interactions
    key = fingerprint(world)
    user_ids = np.array([u["id"] for u in world.users], dtype=object)
    video_ids = np.array([v["id"] for v in world.videos], dtype=object)
    allowed = frozenset(REL_TYPES.values())
    types = np.array(
        [checked_identifier(REL_TYPES.get(k, "SAW"), allowed) for k in KINDS], dtype=object
    )
    total = len(inter)
    done = 0
    created: dict[str, int] = {}

    follow = inter.kind == KINDS.index("follow")
    fidx = np.flatnonzero(follow)
    follows = list(
        zip(
            user_ids[inter.user[fidx]].tolist(),
            video_ids[inter.video[fidx]].tolist(),
            inter.at[fidx].tolist(),
            strict=True,
        )
    )
    # Everything else, grouped by user so a batch looks each user up once.
    idx = np.flatnonzero(~follow)
    idx = idx[np.argsort(inter.user[idx], kind="stable")]
    users = inter.user[idx]
    items = list(
        zip(
            video_ids[inter.video[idx]].tolist(),
            types[inter.kind[idx]].tolist(),
            inter.at[idx].tolist(),
            inter.watch_ms[idx].tolist(),
            strict=True,
        )
    )
    bounds = np.flatnonzero(np.diff(users)) + 1
    starts = np.r_[0, bounds].tolist()
    ends = np.r_[bounds, len(users)].tolist()
    uids = user_ids[users[starts]].tolist() if len(users) else []
    batch: list[dict[str, Any]] = []
    in_batch = 0
    b = 0

    def flush() -> None:
        nonlocal batch, in_batch, b, done
        out = graph.write(
            "world/create_interactions", batch_id=f"{key}:{batch_size}:{b}", rows=batch
        )
        for row in out:
            created[row["type"]] = created.get(row["type"], 0) + int(row["created"])
        report.skipped_batches += not out
        done += in_batch
        tick("interactions", done, total)
        batch, in_batch, b = [], 0, b + 1

    for uid, s, e in zip(uids, starts, ends, strict=True):
        batch.append({"user": uid, "items": [list(t) for t in items[s:e]]})
        in_batch += e - s
        if in_batch >= batch_size:
            flush()
    if batch:
        flush()

    n_follows = 0
    for s in range(0, len(follows), batch_size):
        out = graph.write(
            "world/create_follows", rows=[list(r) for r in follows[s : s + batch_size]]
        )
        n_follows += int(out[0]["follows"]) if out else 0
        done += min(batch_size, len(follows) - s)
        tick("interactions", done, total)
    created["FOLLOWS"] = n_follows
    return created


def summary(graph: Graph) -> dict[str, dict[str, int]]:
    """Node counts by label and relationship counts by type."""
    out: dict[str, dict[str, int]] = {"node": {}, "relationship": {}}
    for row in graph.read("world/summary"):
        out[row["kind"]][row["name"]] = int(row["count"])
    return out
