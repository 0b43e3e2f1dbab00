"""``graphrec state sync``: Redis filled from the graph, in pages and pipelines.

Parts (each can run alone):

- ``catalog``: creator ids, video facts (creator, tags, status, reasons, length) and
  normalised video embeddings;
- ``users``: known ids and each user's online state (tag weights, liked tags, declared tags,
  net skips, follows, communities, embedding, the seen filter);
- ``budgets``: remaining impressions per budgeted pool entry (a Redis count for an entry it
  already holds is kept: Redis is the live count, the graph catches up through the writer);
- ``lists``: every shared source's candidate list, each creator's newest videos;
- ``nearline``: each user's embedding neighbours (vector index), for users with a vector.

It runs at API start when Redis is empty, after ``graphrec world load``, after training
(``embeddings``: users' vectors and communities, catalogue vectors, nearline) and after each
pool cycle (``budgets`` and ``lists``); the graph writer refreshes ``lists`` every
``state_refresh_s`` and the nearline lists of users whose online embedding moved. Each sync
outdates every user's feed queue (:mod:`graphrec.spine.queue`; the filler recomputes them);
the periodic refresh does not (queued feeds follow it within ``feed_queue_ttl_s``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import orjson

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed.sources import (
    InterestSource,
    QuerySource,
    SharedSource,
    UserContext,
    default_sources,
)
from graphrec.spine.store import RECENT, Spine, bloom_bytes, pack_vector, unpack_vector

PARTS = ("catalog", "users", "budgets", "lists", "nearline")
PAGE = 2_000
MAX_LIKES = 50
CREATOR_VIDEOS = 10

Progress = Callable[[str, int, int], None]


def _pages(
    graph: Graph, query: str, key: str, page: int = PAGE, **params: Any
) -> Iterable[list[dict[str, Any]]]:
    after = ""
    while True:
        rows = graph.read(query, after=after, limit=page, **params)
        if not rows:
            return
        yield rows
        after = rows[-1][key]
        if len(rows) < page:
            return


def sync_catalog(graph: Graph, spine: Spine) -> dict[str, int]:
    k, r = spine.keys, spine.r
    creators = videos = 0
    for rows in _pages(graph, "state/creators", "creator_id", page=10_000):
        r.sadd(k.creators, *[x["creator_id"] for x in rows])
        creators += len(rows)
    for rows in _pages(graph, "state/videos", "video_id", page=5_000):
        facts: dict[str, bytes] = {}
        vecs: dict[str, bytes] = {}
        for x in rows:
            facts[x["video_id"]] = orjson.dumps(
                {
                    "video_id": x["video_id"],
                    "creator_id": x["creator_id"],
                    "tags": x["tags"],
                    "status": x["status"],
                    "reasons": x["reasons"] or [],
                    "duration_ms": x["duration_ms"],
                }
            )
            v = pack_vector(x["embedding"], normalise=True)
            if v is not None:
                vecs[x["video_id"]] = v
        pipe = r.pipeline(transaction=False)
        pipe.hset(k.videos, mapping=facts)
        if vecs:
            pipe.hset(k.vemb, mapping=vecs)
        pipe.execute()
        videos += len(rows)
    return {"creators": creators, "videos": videos}


def sync_users(graph: Graph, spine: Spine, *, vectors_only: bool = False) -> dict[str, int]:
    """Every user's online state from the graph; ``vectors_only``: embeddings and
    communities only (after training: the online tag weights and seen filters stay)."""
    k, r, m = spine.keys, spine.r, spine.settings.seen_bloom_bits
    users = 0
    communities: set[str] = set()
    for rows in _pages(graph, "state/users", "user_id", max_likes=MAX_LIKES, recent=RECENT):
        pipe = r.pipeline(transaction=False)
        for x in rows:
            uid = x["user_id"]
            key = lambda what, uid=uid: k.user(uid, what)  # noqa: E731
            comm = [
                {"id": c["id"], "label": c["label"], "score": c["score"]} for c in x["communities"]
            ]
            communities.update(c["id"] for c in comm)
            pipe.set(key("comm"), orjson.dumps(comm))
            emb = pack_vector(x["embedding"])
            if emb is not None:
                pipe.set(key("emb"), emb)
            else:
                pipe.delete(key("emb"))
            if vectors_only:
                continue
            pipe.sadd(k.users(k.part(uid)), uid)
            for what in ("tags", "liked", "declared", "skips", "follows"):
                pipe.delete(key(what))  # one key a DEL: a Cluster pipeline takes no more
            if x["interests"]:
                pipe.hset(key("tags"), mapping={i["tag"]: i["weight"] for i in x["interests"]})
                declared = [i["tag"] for i in x["interests"] if i["declared"]]
                if declared:
                    pipe.sadd(key("declared"), *declared)
            if x["liked_tags"]:
                pipe.hset(key("liked"), mapping={i["tag"]: int(i["n"]) for i in x["liked_tags"]})
            if x["skipped_creators"]:
                pipe.hset(
                    key("skips"), mapping={i["creator"]: int(i["n"]) for i in x["skipped_creators"]}
                )
            if x["follows"]:
                pipe.sadd(key("follows"), *x["follows"])
            pipe.set(key("seen"), bloom_bytes(x["seen"], m))
            pipe.delete(key("recent"))
            if x["recent"]:
                pipe.rpush(key("recent"), *x["recent"])
        pipe.execute()
        users += len(rows)
    if communities:
        r.sadd("gr:{c}:communities", *communities)
    return {"users": users, "communities": len(communities)}


def sync_similar(graph: Graph, spine: Spine) -> dict[str, int]:
    """Each video's item-to-item neighbours (SIMILAR, written at training) and the recency
    scale training chose: what the feed's ``similar`` source reads."""
    r = spine.r
    videos = 0
    for rows in _pages(graph, "state/similar", "video_id", page=2_000):
        pipe = r.pipeline(transaction=False)
        for x in rows:
            pipe.set(spine.keys.list(f"sim:{x['video_id']}"), orjson.dumps(x["neighbours"]))
        pipe.execute()
        videos += len(rows)
    r.hincrby(spine.keys.meta, "lists_v", 1)  # workers drop their parsed copies
    info = graph.read("state/model_info", id="similar")
    tau = info[0]["props"].get("tau") if info else None
    if tau is not None:
        r.hset(spine.keys.meta, "similar_tau", float(tau))
    else:
        r.hdel(spine.keys.meta, "similar_tau")
    return {"videos": videos}


def sync_spectral(graph: Graph, spine: Spine) -> dict[str, int]:
    """Each video's spectral query and key vectors (written at training), packed in one hash
    that the feed's ``spectral`` source loads once per lists version."""
    r, key = spine.r, spine.keys.vspec
    r.delete(key)
    videos = 0
    for rows in _pages(graph, "state/spectral", "video_id", page=2_000):
        r.hset(key, mapping={
            x["video_id"]: np.asarray([*x["query"], *x["key"]], dtype="<f4").tobytes()
            for x in rows
        })  # fmt: skip
        videos += len(rows)
    # The served score's weights and statistics (the feed's "blend" source).
    info = graph.read("state/model_info", id="blend")
    if info:
        r.hset(spine.keys.meta, "blend", orjson.dumps(info[0]["props"]))
    else:
        r.hdel(spine.keys.meta, "blend")
    r.hincrby(spine.keys.meta, "lists_v", 1)  # workers drop their loaded matrices
    return {"videos": videos}


def sync_budgets(graph: Graph, spine: Spine) -> dict[str, int]:
    """Budgets of pool entries Redis does not hold yet (new entries after a cycle, uploads)."""
    k, r = spine.keys, spine.r
    rows = graph.read("state/budgets")
    if not rows:
        return {"budgets": 0, "new": 0}
    ids = [x["video_id"] for x in rows]
    held = r.hmget(k.entry, ids)
    fresh = [x for x, h in zip(rows, held, strict=True) if h is None or h.decode() != x["entry"]]
    moved = sum(h is not None and h.decode() != x["entry"] for x, h in zip(rows, held, strict=True))
    if fresh:
        pipe = r.pipeline(transaction=False)
        for i in range(0, len(fresh), 5_000):
            part = fresh[i : i + 5_000]
            pipe.hset(k.budget, mapping={x["video_id"]: max(0, int(x["remaining"])) for x in part})
            pipe.hset(k.entry, mapping={x["video_id"]: x["entry"] for x in part})
        pipe.execute()
    # A video no longer in a budgeted entry serves without a budget.
    gone = set(r.hkeys(k.entry)) - {i.encode() for i in ids}
    if gone:
        r.hdel(k.entry, *gone)
        r.hdel(k.budget, *gone)
    if moved or gone:  # queued entries may name a pool they left: every queue is outdated
        spine.invalidate_queues()
    return {"budgets": len(rows), "new": len(fresh)}


def list_name(key: str) -> str:
    """The Redis list a shared source's cache key maps to (time-stamped keys share one)."""
    head = key.partition(":")[0]
    return key if head == "community" else head


def shared_context(spine: Spine, now: int) -> UserContext:
    """A context that asks every shared source for all of its lists."""
    comms = sorted(x.decode() for x in spine.r.smembers("gr:{c}:communities"))
    return UserContext(
        user_id="",
        tag_weights={"_": 1.0},
        tag_origin={},
        follows=[],
        skipped_creators={},
        communities=[{"id": c} for c in comms],
        has_embedding=False,
        seen=set(),
        realtime=True,
        now=now,
    )


def sync_lists(
    graph: Graph,
    spine: Spine,
    sources: Sequence[QuerySource] | None = None,
    *,
    now: int | None = None,
    queues: bool = True,
) -> dict[str, int]:
    """Each shared source's lists and each creator's newest videos, one SET each; with
    ``queues`` every feed queue is outdated too (the writer's periodic refresh passes False:
    queued feeds then follow the lists within ``feed_queue_ttl_s``)."""
    now = now if now is not None else int(time.time() * 1000)
    ctx = shared_context(spine, now)
    out: dict[str, int] = {}
    pipe = spine.r.pipeline(transaction=False)
    for src in sources if sources is not None else default_sources():
        if not isinstance(src, SharedSource) or not src.available():
            continue
        for key, params in src.keys(ctx):
            rows: Any
            if isinstance(src, InterestSource):
                rows = {x["tag"]: x["videos"] for x in graph.read(src.query, **params)}
            else:
                rows = graph.read(src.query, **params)
            name = list_name(key)
            pipe.set(spine.keys.list(name), orjson.dumps(rows))
            out[name] = len(rows)
    for x in graph.read("state/creator_videos", per_creator=CREATOR_VIDEOS):
        pipe.set(spine.keys.creator_videos(x["creator_id"]), orjson.dumps(x["videos"]))
    pipe.hset(spine.keys.meta, "lists_at", now)
    pipe.hincrby(spine.keys.meta, "lists_v", 1)  # workers drop their parsed copies
    pipe.execute()
    if queues:
        spine.invalidate_queues()
    return out


def sync_nearline(
    graph: Graph, spine: Spine, user_ids: Sequence[str] | None = None, *, chunk: int = 200
) -> int:
    """Embedding neighbours of ``user_ids`` (None: every known user with a vector)."""
    k, r, s = spine.keys, spine.r, spine.settings
    if user_ids is None:
        ids: list[str] = []
        for p in range(k.partitions):
            ids += [x.decode() for x in r.smembers(k.users(p))]
        user_ids = sorted(ids)
    done = 0
    for i in range(0, len(user_ids), chunk):
        part = list(user_ids[i : i + chunk])
        pipe = r.pipeline(transaction=False)
        for uid in part:
            pipe.get(k.user(uid, "emb"))
            pipe.hget(k.user(uid, "meta"), "emb_online")
        got = pipe.execute()
        rows = []
        for j, uid in enumerate(part):
            vec = unpack_vector(got[2 * j])
            if vec is not None:
                via = "your recent activity" if got[2 * j + 1] else "your taste profile"
                rows.append({"user_id": uid, "vector": vec, "via": via})
        if not rows:
            continue
        found = graph.read(
            "state/nearest_videos", rows=rows, k=s.nearline_limit * 3, limit=s.nearline_limit
        )
        pipe = r.pipeline(transaction=False)
        for x in found:
            pipe.set(k.user(x["user_id"], "near"), orjson.dumps(x["videos"]))
        pipe.execute()
        spine.invalidate_queues([x["user_id"] for x in found])  # new neighbours: rank again
        done += len(found)
    return done


def sync_state(
    graph: Graph,
    spine: Spine,
    parts: Sequence[str] = PARTS,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the named parts in order; returns what each wrote and how long it took."""
    unknown = set(parts) - set(PARTS) - {"embeddings"}
    if unknown:
        from graphrec.errors import InvalidInput

        raise InvalidInput(
            f"parts: unknown {sorted(unknown)}; one of {', '.join(PARTS)}, embeddings"
        )
    report: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], Any]]] = []
    if "catalog" in parts:
        steps.append(("catalog", lambda: sync_catalog(graph, spine)))
        steps.append(("similar", lambda: sync_similar(graph, spine)))
        steps.append(("spectral", lambda: sync_spectral(graph, spine)))
    if "users" in parts:
        steps.append(("users", lambda: sync_users(graph, spine)))
    if "embeddings" in parts:
        steps.append(("catalog", lambda: sync_catalog(graph, spine)))
        steps.append(("embeddings", lambda: sync_users(graph, spine, vectors_only=True)))
        steps.append(("similar", lambda: sync_similar(graph, spine)))
        steps.append(("spectral", lambda: sync_spectral(graph, spine)))
    if "budgets" in parts:
        steps.append(("budgets", lambda: sync_budgets(graph, spine)))
    if "lists" in parts or "embeddings" in parts:
        steps.append(("lists", lambda: sync_lists(graph, spine)))
    if "nearline" in parts or "embeddings" in parts:
        steps.append(("nearline", lambda: sync_nearline(graph, spine)))
    for n, (name, step) in enumerate(steps):
        t = time.perf_counter()
        got = step()
        report[name] = {"wrote": got, "seconds": round(time.perf_counter() - t, 3)}
        if progress is not None:
            progress("state sync", n + 1, len(steps))
    if steps:  # the user state or lists queued feeds were ranked from may have changed
        spine.invalidate_queues()
    if set(PARTS) <= set(parts):
        spine.r.hset(spine.keys.meta, "synced_at", int(time.time() * 1000))
    return report


__all__ = ["PARTS", "sync_lists", "sync_nearline", "sync_similar", "sync_spectral", "sync_state"]
