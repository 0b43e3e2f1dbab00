"""The feed on the spine: state and lists from Redis, ranked here, budgets granted atomically.

A request (``GET /users/{id}/feed``):

1. one pipelined read of the user's online state (known?, tag weights, liked tags, declared
   tags, net skips, follows, communities, nearline embedding neighbours, seen filter);
2. candidates from each source: shared lists come from an in-process cache
   (``state_lists_ttl_s``) of the lists the sync and the graph writer keep in Redis; a second
   pipelined read fetches what depends on the user (followed creators' newest videos, the
   remaining budgets of the cold-start list);
3. ranking: one call (:attr:`StreamRecommender.rank`: the learned ranker when one is published,
   else the policy's hand-weighted scoring; the same step as the Neo4j path) and the
   existing diversity re-rank (:mod:`graphrec.feed.rank`);
4. the chosen videos' budgets granted in one atomic script (never past a budget, whatever the
   concurrency; refused ones are replaced from the next candidates), then one script marks
   them seen and appends a "served" entry to the stream (the graph writer records the
   impressions in Neo4j later).

Before all that, a feed tries the user's precomputed queue (:mod:`graphrec.spine.queue`):
one script that pops the next n entries the seen filter and budgets let through, grants and
records them. Only on a miss does it rank as above, and it then stores the pages that would
follow as the new queue.

No Neo4j transaction runs per request. Sources are pluggable: any object with ``name``,
``shared`` and ``candidates(rows, ctx)`` (as :mod:`graphrec.feed.sources`) plus, for a source
this module does not know, a ``store_rows(recommender, ctx, limit)`` method giving its rows
from Redis.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import anyio.to_thread
import orjson
import redis

from graphrec.config import Settings
from graphrec.errors import InvalidInput, NotFound
from graphrec.feed.policy import FeedPolicy, Mix, mix
from graphrec.feed.policy import scenario as find_scenario
from graphrec.feed.rank import merge, pages, rerank
from graphrec.feed.recommender import TOP_TAGS, Feed, FeedItem, default_ranker
from graphrec.feed.sources import (
    Candidate,
    ColdStartSource,
    EmbeddingSource,
    FollowingSource,
    InterestSource,
    QuerySource,
    SharedSource,
    UserContext,
    default_sources,
)
from graphrec.learn.ranker import log_vectors, ranker_table
from graphrec.spine.queue import FeedQueue, Popped
from graphrec.spine.state import list_name
from graphrec.spine.store import SeenFilter, Spine, store_error

Ranker = Callable[[Sequence[Candidate], UserContext, FeedPolicy, Mix], None]
MAX_CACHED = 20_000


class ListCache:
    """Lists read from Redis and parsed once, kept in this process while their version holds.

    The sync bumps ``lists_v`` in ``gr:{c}:meta`` each time it rewrites the lists (shared
    lists, creators' newest videos, item-to-item neighbours); every feed reads that version
    in its first pipelined read (no extra round trip) and hands it to :meth:`observe`. A list
    is reused while its version is current and it is younger than ``ttl_s`` (a bound for
    lists written without a version bump); parsing large lists once per version rather than
    every few seconds is most of what a feed saves here. An outdated list is refreshed by one
    thread while the others keep the previous one (no thundering herd on a large list).
    Per-video and per-creator lists (``sim:``, ``cv:``: as many as there are videos) live in
    a bounded part of the cache, emptied when full, so they never push the shared lists out.
    """

    def __init__(self, spine: Spine, ttl_s: float) -> None:
        self.spine = spine
        self.ttl_s = ttl_s
        self.version: bytes | None = None
        self._values: dict[str, tuple[float, bytes | None, Any]] = {}
        self._items: dict[str, tuple[float, bytes | None, Any]] = {}
        self._lock = threading.Lock()
        self._refreshing: set[str] = set()

    def observe(self, version: bytes | None) -> None:
        """The lists' version as Redis holds it now (read with the user's state)."""
        self.version = version

    def _store(self, key: str) -> dict[str, tuple[float, bytes | None, Any]]:
        return self._items if ":cv:" in key or ":list:sim:" in key else self._values

    def get_many(self, keys: Sequence[str], default: Any) -> list[Any]:
        now = time.monotonic()
        version = self.version
        out: list[Any] = [None] * len(keys)
        missing: list[int] = []
        for i, key in enumerate(keys):
            hit = self._store(key).get(key)
            if hit is not None and hit[0] > now and hit[1] == version:
                out[i] = hit[2]
                continue
            if hit is not None:
                with self._lock:
                    mine = key not in self._refreshing
                    self._refreshing.add(key)
                if not mine:  # another thread refreshes it: the previous list will do
                    out[i] = hit[2]
                    continue
            missing.append(i)
        if missing:
            try:
                raw = self.spine.r.mget([keys[i] for i in missing])
            finally:
                with self._lock:
                    self._refreshing.difference_update(keys[i] for i in missing)
            with self._lock:
                for store in (self._values, self._items):
                    if len(store) > MAX_CACHED:
                        store.clear()
                for i, x in zip(missing, raw, strict=True):
                    value = orjson.loads(x) if x is not None else default
                    self._store(keys[i])[keys[i]] = (now + self.ttl_s, version, value)
                    out[i] = value
        return out

    def get(self, key: str, default: Any) -> Any:
        return self.get_many([key], default)[0]


def _s(x: bytes | str) -> str:
    return x.decode() if isinstance(x, bytes) else x


class StreamRecommender:
    """Feeds from Redis under one policy; stateless between calls (state is in Redis)."""

    def __init__(
        self,
        spine: Spine,
        settings: Settings | None = None,
        policy: FeedPolicy | None = None,
        sources: list[QuerySource] | None = None,
        *,
        ranker: Ranker | None = None,
    ) -> None:
        self.spine = spine
        self.settings = settings or spine.settings
        self.policy = policy or FeedPolicy()
        self.sources = sources if sources is not None else default_sources()
        self.rank: Ranker = ranker or default_ranker(self.settings)
        self.lists = ListCache(spine, self.settings.state_lists_ttl_s)
        self.queue = FeedQueue(spine)
        s = self.settings
        self._defaults = Mix(
            source_weights={},
            cold_start_share=s.feed_cold_start_share,
            exploration_share=s.feed_exploration_share,
            max_per_creator=s.feed_max_per_creator,
            max_tag_share=s.feed_max_tag_share,
            scenario=find_scenario(None),
        )

    def active_sources(self) -> list[QuerySource]:
        return [s for s in self.sources if self.policy.enabled(s.name)]

    # --- reading ---------------------------------------------------------------------------
    def context(
        self, user_id: str, now: int, cold: Sequence[dict[str, Any]] = ()
    ) -> tuple[UserContext, list[dict[str, Any]], list[Any], tuple[Any, Any]]:
        """The user's context, nearline neighbours, the live budgets of ``cold`` (the
        cold-start list) and the feed queue's (generation, epoch): one pipelined round trip."""
        k = self.spine.keys
        pipe = self.spine.r.pipeline(transaction=False)
        pipe.sismember(k.users(k.part(user_id)), user_id)
        for what in ("tags", "liked", "skips"):
            pipe.hgetall(k.user(user_id, what))
        for what in ("declared", "follows"):
            pipe.smembers(k.user(user_id, what))
        for what in ("comm", "near", "seen"):
            pipe.get(k.user(user_id, what))
        pipe.exists(k.user(user_id, "emb"))
        pipe.hget(k.meta, "lists_v")
        pipe.hget(k.user(user_id, "meta"), "qg")
        pipe.hget(self.spine.epoch_key(user_id), "queue_epoch")
        if cold:
            pipe.hmget(k.budget, [r["video_id"] for r in cold])
        # Sources that read Redis themselves queue their first reads here (one round trip).
        early = [s for s in self.active_sources() if hasattr(s, "prefetch")]
        queued = [src.prefetch(pipe, self.spine, user_id) for src in early]
        got = pipe.execute()
        known, tags, liked, skips, declared, follows, comm, near, seen, has_emb, lv = got[:11]
        versions = (got[11], got[12])
        self.lists.observe(lv)
        left = got[13] if cold else []
        at = 14 if cold else 13
        prefetched: dict[str, Any] = {}
        for src, n in zip(early, queued, strict=True):
            prefetched[src.name] = got[at : at + n]
            at += n
        if not known:
            raise NotFound(f"user_id: unknown user {user_id!r}")
        weights: dict[str, float] = {}
        origin: dict[str, str] = {}
        for t, n in liked.items():
            weights[_s(t)] = 0.25 * int(n)
            origin[_s(t)] = "liked"
        declared_set = {_s(t) for t in declared}
        for t, w in tags.items():
            tag = _s(t)
            weights[tag] = weights.get(tag, 0.0) + float(w)
            origin.setdefault(tag, "interested in" if tag in declared_set else "engaged with")
        ctx = UserContext(
            user_id=user_id,
            tag_weights=weights,
            tag_origin=origin,
            follows=sorted(_s(c) for c in follows),
            skipped_creators={_s(c): int(n) for c, n in skips.items() if int(n) > 0},
            communities=orjson.loads(comm) if comm else [],
            has_embedding=bool(has_emb),
            seen=cast(set[str], SeenFilter(seen, self.settings.seen_bloom_bits)),
            realtime=True,
            now=now,
            prefetched=prefetched,
        )
        return ctx, orjson.loads(near) if near else [], left, versions

    def cold_list(self) -> list[dict[str, Any]]:
        """The shared cold-start list when the cold-start source is on (else empty)."""
        if not any(isinstance(s, ColdStartSource) for s in self.active_sources()):
            return []
        # The cached object itself (read, never edited): its ListIndex is kept with it.
        return cast(list[dict[str, Any]], self.lists.get(self.spine.keys.list("cold_start"), []))

    def gather(
        self,
        ctx: UserContext,
        near: list[dict[str, Any]],
        limit: int,
        cold: Sequence[dict[str, Any]] = (),
        left: Sequence[Any] = (),
    ) -> dict[str, list[Candidate]]:
        """Each active source's candidates (seen videos dropped); ``left``: the live budgets
        of the ``cold`` list's videos."""
        seen = ctx.seen
        sources = self.active_sources()
        found: dict[str, list[Candidate]] = {}
        # Second round trip: what depends on the user's follows and the live budgets.
        follows = [
            self.spine.keys.creator_videos(c)
            for c in ctx.follows
            if any(isinstance(s, FollowingSource) for s in sources)
        ]
        by_creator = self.lists.get_many(follows, []) if follows else []
        for src in sources:
            rows: list[dict[str, Any]]
            if isinstance(src, ColdStartSource):
                # The cached list with its live budgets (spent and seen ones dropped), in
                # the source's order on the list's arrays.
                rows = src.order_live(cold, left, ctx) if cold else []
                found[src.name] = src.candidates(rows, ctx, ordered=True)
                continue
            if hasattr(src, "store_rows"):
                rows = src.store_rows(self, ctx, limit)
            elif isinstance(src, EmbeddingSource):
                rows = (
                    [r for r in near if r["video_id"] not in seen][:limit]
                    if ctx.has_embedding
                    else []
                )
            elif isinstance(src, FollowingSource):
                rows = []
                for videos in by_creator:
                    rows += [r for r in videos if r["video_id"] not in seen][: src.per_creator]
                rows = rows[:limit]
            elif isinstance(src, InterestSource):
                # The user's strongest tags' cached lists, ordered on their arrays.
                tops = self.lists.get(self.spine.keys.list("tag_tops"), {}) if ctx.top_tags else {}
                found[src.name] = src.candidates(src.order_tops(tops, ctx), ctx, ordered=True)
                continue
            elif isinstance(src, SharedSource):
                got = self.lists.get_many(
                    [self.spine.keys.list(list_name(key)) for key, _ in src.keys(ctx)], []
                )
                # One list: the cached object itself (its ListIndex is kept with it).
                rows = got[0] if len(got) == 1 else [r for x in got for r in x]
            else:
                continue
            found[src.name] = src.candidates(rows, ctx)
        return found

    # --- the feed --------------------------------------------------------------------------
    def feed(
        self,
        user_id: str,
        n: int = 10,
        scenario: str | None = None,
        *,
        at: int | None = None,
        record: bool = True,
    ) -> Feed:
        """The next ``n`` videos for ``user_id``; served ones are granted and recorded.

        From the user's queue when it holds a valid one; ``at`` (a feed at a given time:
        simulations, replays) always ranks, and neither reads nor stores a queue."""
        try:
            started = time.perf_counter()
            sc = self._check(n, scenario)
            why = ""
            if self.queue.enabled and at is None:
                popped = self._pop(user_id, n, sc, record)
                if isinstance(popped, Popped):
                    return Feed(
                        user_id=user_id,
                        items=[FeedItem(**orjson.loads(x)) for x in popped.items],
                        scenario=sc,
                        candidates=orjson.loads(popped.candidates),
                        took_ms=(time.perf_counter() - started) * 1000,
                        timings_ms={"queue": round((time.perf_counter() - started) * 1000, 3)},
                        queue="hit",
                    )
                why = popped
            feed = self._feed(user_id, n, sc, at=at, record=record, started=started)
            feed.queue = why
            return feed
        except redis.RedisError as e:
            raise store_error(e) from e

    def feed_body(
        self, user_id: str, n: int = 10, scenario: str | None = None, *, record: bool = True
    ) -> bytes:
        """:meth:`feed` as the route answers it (``FeedPublic`` JSON); a queued feed is
        joined from the script's answer without parsing its items."""
        try:
            started = time.perf_counter()
            sc = self._check(n, scenario)
            if self.queue.enabled:
                popped = self._pop(user_id, n, sc, record)
                if isinstance(popped, Popped):
                    return self._joined(user_id, sc, popped, started)
            feed = self._feed(user_id, n, sc, at=None, record=record, started=started)
        except redis.RedisError as e:
            raise store_error(e) from e
        return feed.to_json()

    async def feed_body_async(
        self, user_id: str, n: int = 10, scenario: str | None = None, *, record: bool = True,
        deferred: list[Callable[[], None]] | None = None,
    ) -> tuple[bytes, str]:  # fmt: skip
        """:meth:`feed_body` for an ``async`` route: the queue's pop is awaited on the
        event loop (no hop to a thread for the common case); a miss ranks in a thread (or on
        the loop too, with ``feed_miss_inline``).
        Also says where the feed came from: "hit" (the queue) or why the queue missed.
        With ``deferred`` (a list), a miss leaves storing the user's next pages to the
        caller (appended there, to run after the answer is sent): a miss answers sooner."""
        started = time.perf_counter()
        sc = self._check(n, scenario)
        why = ""
        if self.queue.enabled:
            feed_id = f"{random.getrandbits(64):016x}"
            try:
                popped = await self.queue.pop_async(
                    user_id, n, sc, record=record, at=int(time.time() * 1000), feed_id=feed_id
                )
            except redis.RedisError as e:
                raise store_error(e) from e
            if isinstance(popped, Popped):
                return self._joined(user_id, sc, popped, started), "hit"
            why = popped

        def ranked() -> bytes:
            try:
                feed = self._feed(
                    user_id, n, sc, at=None, record=record, started=started, deferred=deferred
                )
            except redis.RedisError as e:
                raise store_error(e) from e
            return feed.to_json()

        if self.settings.feed_miss_inline:  # on the event loop: no waits for the GIL
            return ranked(), why
        return await anyio.to_thread.run_sync(ranked), why

    @staticmethod
    def _joined(user_id: str, scenario: str, popped: Popped, started: float) -> bytes:
        ms = round((time.perf_counter() - started) * 1000, 3)
        return b"".join(
            (
                b'{"user_id":', orjson.dumps(user_id), b',"scenario":', orjson.dumps(scenario),
                b',"items":[', b",".join(popped.items), b'],"candidates":', popped.candidates,
                b',"took_ms":', orjson.dumps(ms), b',"timings_ms":{"queue":', orjson.dumps(ms),
                b"}}",
            )
        )  # fmt: skip

    def refill(self, user_id: str, scenario: str | None = None) -> Feed:
        """Rank the user's next feed (default size) and store it with the pages after it as
        the user's queue; nothing is granted or recorded (the queue filler)."""
        try:
            sc = self._check(self.settings.feed_default_n, scenario)
            return self._feed(
                user_id, self.settings.feed_default_n, sc, at=None, record=False,
                started=time.perf_counter(),
            )  # fmt: skip
        except redis.RedisError as e:
            raise store_error(e) from e

    def _check(self, n: int, scenario: str | None) -> str:
        if not 1 <= n <= self.settings.feed_max_n:
            raise InvalidInput(f"n: must be between 1 and {self.settings.feed_max_n}, got {n}")
        return find_scenario(scenario).name

    def _pop(self, user_id: str, n: int, scenario: str, record: bool) -> Popped | str:
        now = int(time.time() * 1000)
        feed_id = f"{random.getrandbits(64):016x}"  # uuid4 reads os.urandom: slower
        return self.queue.pop(user_id, n, scenario, record=record, at=now, feed_id=feed_id)

    def _feed(
        self, user_id: str, n: int, scenario: str, *, at: int | None, record: bool, started: float,
        deferred: list[Callable[[], None]] | None = None,
    ) -> Feed:  # fmt: skip
        queue_ms = (time.perf_counter() - started) * 1000  # a queue miss (or no queue)
        sc = find_scenario(scenario)
        now = at if at is not None else int(time.time() * 1000)
        limit = max(self.policy.candidates_per_source, 2 * n)
        cold = self.cold_list()
        ctx, near, left, versions = self.context(user_id, now, cold)
        found = self.gather(ctx, near, limit, cold, left)
        gathered = time.perf_counter()
        m = mix(self.policy, defaults=self._defaults, sc=sc)
        p = self.policy
        candidates = [
            c
            for c in merge(c for cs in found.values() for c in cs)
            if ctx.skipped_creators.get(c.creator_id, 0) < p.drop_after_skips
            and sum(ctx.tag_weights.get(t, 0.0) for t in c.tags) >= p.dislike_below
        ]
        self.rank(candidates, ctx, p, m)
        kw: dict[str, Any] = {
            "m": m,
            "top_tags": {t for t, _ in ctx.top_tags[:TOP_TAGS]},
            "diversity": p.diversity,
            "cold_start": p.cold_start,
        }
        chosen = rerank(candidates, n, **kw)
        ranked = time.perf_counter()
        denied: set[str] = set()
        table = ranker_table(self.rank)
        if record:
            granted: set[str] = set()
            pending = [c.video_id for c in chosen]
            feed_id = f"{random.getrandbits(64):016x}"  # uuid4 reads os.urandom: slower
            for _ in range(3):  # budgets spent meanwhile: drop those and refill, 3 tries
                # What the ranker saw, with each impression (the "served" entry's x, then
                # SAW.x): the learned ranker's training log.
                vecs = log_vectors(chosen, candidates, ctx, table, p, m)
                logs = {c.video_id: x for c, x in zip(chosen, vecs, strict=True)}
                got = self.spine.grant_and_record(
                    user_id, pending, at=now, feed_id=feed_id, logs=logs
                )
                granted |= got
                denied |= set(pending) - got
                kept = [c for c in chosen if c.video_id in granted]
                if len(kept) >= n or not set(pending) - got:
                    break
                chosen = rerank(candidates, n - len(kept), exclude=denied, already=kept, **kw)
                pending = [c.video_id for c in chosen if c.video_id not in granted]
                if not pending:
                    break
            chosen = [c for c in chosen if c.video_id in granted]
        recorded = time.perf_counter()
        items = [FeedItem.of(c) for c in chosen]
        counts = {k: len(v) for k, v in found.items()}
        timings = {
            "gather": round((gathered - started) * 1000 - queue_ms, 3),
            "rank": round((ranked - gathered) * 1000, 3),
            "record": round((recorded - ranked) * 1000, 3),
        }
        if self.queue.enabled and at is None:

            def store_queue() -> None:
                # The pages after this one, as the user's queue (a preview's page stays in
                # it: nothing was consumed).
                # Pool entries whose budget ran out since the shared lists were read would
                # only be passed over by every pop: left out (one HMGET of their budgets).
                ids = [c.video_id for c in candidates if c.video_id not in denied]
                left = self.spine.r.hmget(self.spine.keys.budget, ids) if ids else []
                spent = {v for v, b in zip(ids, left, strict=True) if b is not None and int(b) <= 0}
                first = [] if record else [c for c in chosen if c.video_id not in spent]
                taken = {c.video_id for c in chosen} | denied | spent
                more = pages(candidates, n, self.queue.depth - len(first), exclude=taken, **kw)
                queued_c = first + more
                queued = [FeedItem.of(c) for c in queued_c]
                # Each queued page's rows, logged over the same candidates (a page's slots
                # were chosen by rerank: their flags are set). The store is refused when an
                # event or epoch bump came after ``versions`` (read before ranking).
                self.queue.store(
                    user_id, queued, n=n, scenario=sc.name, candidates=counts,
                    versions=versions, at=now,
                    logs=log_vectors(queued_c, candidates, ctx, table, p, m),
                )  # fmt: skip

            if deferred is None:
                store_queue()
            else:  # the caller stores it after answering (the route's background task)
                deferred.append(store_queue)
            timings["queue"] = round(queue_ms + (time.perf_counter() - recorded) * 1000, 3)
        return Feed(
            user_id=user_id,
            items=items,
            scenario=sc.name,
            candidates=counts,
            took_ms=(time.perf_counter() - started) * 1000,
            timings_ms=timings,
        )


__all__ = ["ListCache", "StreamRecommender"]
