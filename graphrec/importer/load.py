"""Writing an imported :class:`~graphrec.importer.dataset.Dataset` into the graph.

The same machinery as the world loader (:mod:`graphrec.world.load`): nodes and their links
are ``MERGE``d in batches (a rerun changes nothing); the history is ``CREATE``d one batch per
transaction with a ``LoadBatch`` marker named after the data set's fingerprint, so a rerun or
an import resumed after a crash skips the batches already written and never duplicates a
relationship. Original timestamps are kept: users, creators and videos are backdated to
their ``created_at`` (given, else their first interaction) and every relationship carries
its own ``at``.

Pools: an imported video goes to the long tail (servable, no budget) unless it is recent (created
within ``Settings.cold_start_max_age_ms`` of the import's clock, the latest timestamp in the
data) and under the cold-start budget, when it enters the cold-start pool with a budget drawn
as for an upload.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from graphrec.config import Settings, get_settings
from graphrec.cypher import checked_identifier
from graphrec.db import Graph, migrate
from graphrec.errors import InvalidInput
from graphrec.importer.dataset import COUNTER_OF, IMPORT_KINDS, KIND_INDEX, REL_OF, Dataset
from graphrec.world.load import LoadReport

OTHER_CATEGORY = "other"
Progress = Callable[[str, int, int], None]


def tag_rows(ds: Dataset) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Categories and tags: each category is also a tag (in itself); any other tag goes to
    the category most of its items are in (ties by name), or ``other``."""
    cats = sorted({c for it in ds.items for c in it["categories"]} | {OTHER_CATEGORY})
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for it in ds.items:
        for t in it["tags"]:
            votes[t].update(it["categories"])
    tag_cat = {c: c for c in cats}
    for t, v in votes.items():
        if t in tag_cat:
            continue
        tag_cat[t] = min(v.items(), key=lambda kv: (-kv[1], kv[0]))[0] if v else OTHER_CATEGORY
    categories = [{"id": c, "name": c} for c in cats]
    tags = [{"id": t, "category": c} for t, c in sorted(tag_cat.items())]
    return categories, tags


def _budget(settings: Settings, video_id: str) -> int:
    seed = settings.pool_budget_seed if settings.pool_budget_seed is not None else 0
    draw = random.Random(f"{seed}:{video_id}").random()
    lo, hi = settings.cold_start_budget_min, settings.cold_start_budget_max
    return lo + int(draw * (hi - lo + 1))


def node_rows(
    ds: Dataset, *, settings: Settings, now: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Rows for every node query: creators, users and videos with history-derived fields."""
    inter = ds.interactions
    n_users, n_items = len(ds.users), len(ds.items)
    clock = int(inter.at.max()) if len(inter) else int(time.time() * 1000)
    now = clock if now is None else now
    first_u = np.full(n_users, np.iinfo(np.int64).max)
    last_u = np.full(n_users, -1, dtype=np.int64)
    np.minimum.at(first_u, inter.user, inter.at)
    np.maximum.at(last_u, inter.user, inter.at)
    first_i = np.full(n_items, np.iinfo(np.int64).max)
    np.minimum.at(first_i, inter.item, inter.at)
    hours = (inter.at // 3_600_000) % 24
    hour_counts = np.zeros((n_users, 24), dtype=np.int64)
    np.add.at(hour_counts, (inter.user, hours), 1)
    counters = {
        COUNTER_OF[k]: np.bincount(inter.item[inter.kind == i], minlength=n_items)
        for i, k in enumerate(IMPORT_KINDS)
    }
    views = inter.kind == KIND_INDEX["view"]
    watch = np.bincount(inter.item[views], weights=inter.watch_ms[views], minlength=n_items)
    follow_idx = KIND_INDEX["follow"]

    users = []
    for i, u in enumerate(ds.users):
        created = (
            u["created_at"]
            if u["created_at"] is not None
            else (int(first_u[i]) if last_u[i] >= 0 else now)
        )
        users.append({
            "id": u["id"], "name": u["name"], "created_at": created,
            "last_active_at": int(max(last_u[i], created)),
            "active_hour": int(hour_counts[i].argmax()) if last_u[i] >= 0 else 12,
        })  # fmt: skip
    videos = []
    item_created: dict[str, int] = {}
    for i, it in enumerate(ds.items):
        created = it["created_at"]
        if created is None:
            created = int(first_i[i]) if first_i[i] != np.iinfo(np.int64).max else now
        item_created[it["id"]] = created
        row: dict[str, Any] = {
            "id": it["id"], "creator": it["creator"], "caption": it["caption"],
            "hashtags": list(dict.fromkeys([*it["tags"], *it["categories"]])),
            "duration_ms": it["duration_ms"], "created_at": created,
        }  # fmt: skip
        for name, arr in counters.items():
            row[name] = int(arr[i])
        row["watch_ms"] = int(watch[i])
        recent = created >= now - settings.cold_start_max_age_ms
        if recent and row["impressions"] < settings.cold_start_budget_min:
            row["pool"], row["budget"] = "cold_start", _budget(settings, it["id"])
        else:
            row["pool"], row["budget"] = "long_tail", 0
        videos.append(row)
    followers = Counter(ds.items[int(i)]["creator"] for i in inter.item[inter.kind == follow_idx])
    first_post: dict[str, int] = {}
    for it in ds.items:
        c = it["creator"]
        first_post[c] = min(first_post.get(c, item_created[it["id"]]), item_created[it["id"]])
    creators = [
        {
            "id": c["id"], "name": c["name"], "followers": int(followers.get(c["id"], 0)),
            "strikes": 0,
            "joined_at": c["created_at"] if c["created_at"] is not None
            else first_post.get(c["id"], now),
            "account_score": 0.5,
        }
        for c in ds.creators
    ]  # fmt: skip
    return {"creators": creators, "users": users, "videos": videos}


def import_dataset(
    graph: Graph,
    ds: Dataset,
    *,
    settings: Settings | None = None,
    batch_size: int = 10_000,
    progress: Progress | None = None,
    history: bool = True,
) -> LoadReport:
    """Write ``ds`` into the graph; safe to run again (creates nothing twice).

    ``history=False`` writes the nodes only (users, creators, videos, tags, pools), e.g. when
    the history is to be replayed through the event API instead.
    """
    s = settings or get_settings()
    if batch_size <= 0:
        raise InvalidInput(f"batch size must be positive, not {batch_size}")
    report = LoadReport()
    tick = progress or (lambda stage, done, total: None)
    t0 = time.perf_counter()
    migrate(graph, settings=s)
    report.seconds["schema"] = time.perf_counter() - t0
    categories, tags = tag_rows(ds)
    rows = node_rows(ds, settings=s)

    def stage(name: str, query: str, data: list[dict[str, Any]]) -> None:
        t = time.perf_counter()
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            tick(name, done, len(data))

        report.nodes[name] = graph.write_rows(query, data, batch_size=batch_size, on_batch=advance)
        report.seconds[name] = time.perf_counter() - t

    stage("categories", "world/merge_categories", categories)
    stage("tags", "world/merge_tags", tags)
    stage("creators", "world/merge_creators", rows["creators"])
    stage("users", "world/merge_users", rows["users"])
    stage("videos", "importer/merge_videos", rows["videos"])
    if history:
        t = time.perf_counter()
        report.relationships.update(
            _history(graph, ds, batch_size=batch_size, report=report, tick=tick)
        )
        report.seconds["interactions"] = time.perf_counter() - t
    return report


def _history(
    graph: Graph, ds: Dataset, *, batch_size: int, report: LoadReport, tick: Progress
) -> dict[str, int]:
    inter = ds.interactions
    key = ds.fingerprint()
    user_ids = np.array([u["id"] for u in ds.users], dtype=object)
    item_ids = np.array([it["id"] for it in ds.items], dtype=object)
    allowed = frozenset(REL_OF.values())
    types = np.array([checked_identifier(REL_OF[k], allowed) for k in IMPORT_KINDS], dtype=object)
    follow = inter.kind == KIND_INDEX["follow"]
    total, done = len(inter), 0
    created: dict[str, int] = {}
    idx = np.flatnonzero(~follow)
    idx = idx[np.lexsort((inter.at[idx], inter.user[idx]))]
    users = inter.user[idx]
    items = list(
        zip(item_ids[inter.item[idx]].tolist(), types[inter.kind[idx]].tolist(),
            inter.at[idx].tolist(), inter.watch_ms[idx].tolist(), strict=True)
    )  # fmt: skip
    bounds = np.flatnonzero(np.diff(users)) + 1
    starts = np.r_[0, bounds].astype(int).tolist()
    ends = np.r_[bounds, len(users)].astype(int).tolist()
    uids = user_ids[users[starts]].tolist() if len(users) else []
    batch: list[dict[str, Any]] = []
    in_batch = b = 0

    def flush() -> None:
        nonlocal batch, in_batch, b, done
        out = graph.write(
            "world/create_interactions", batch_id=f"import:{key}:{batch_size}:{b}", rows=batch
        )
        for row in out:
            created[row["type"]] = created.get(row["type"], 0) + int(row["created"])
        report.skipped_batches += not out
        done += in_batch
        tick("interactions", done, total)
        batch, in_batch, b = [], 0, b + 1

    for uid, s, e in zip(uids, starts, ends, strict=True):
        # A very active user is split over several batches, each row a slice of theirs.
        for lo in range(s, e, batch_size):
            hi = min(e, lo + batch_size)
            batch.append({"user": uid, "items": [list(t) for t in items[lo:hi]]})
            in_batch += hi - lo
            if in_batch >= batch_size:
                flush()
    if batch:
        flush()
    fidx = np.flatnonzero(follow)
    fidx = fidx[np.argsort(inter.at[fidx], kind="stable")]
    rows = [[user_ids[inter.user[i]], item_ids[inter.item[i]], int(inter.at[i])] for i in fidx]
    n_follows = 0
    for s in range(0, len(rows), batch_size):
        out = graph.write("world/create_follows", rows=rows[s : s + batch_size])
        n_follows += int(out[0]["follows"]) if out else 0
        done += min(batch_size, len(rows) - s)
        tick("interactions", done, total)
    if len(rows):
        created["FOLLOWS"] = n_follows
    return created
