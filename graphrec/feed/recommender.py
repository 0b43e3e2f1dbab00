"""The feed: candidates from every source that has data, scored, re-ranked, recorded.

One request is two round trips' worth of work on Neo4j: one read transaction (the user's
context, then each enabled source's query) and one write (``pools/record_impressions``:
SAW + impressions + pool budgets, under a lock so budgets never overrun). A video whose budget
was spent meanwhile is not granted; the feed drops it and refills from the next candidates.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from neo4j import ManagedTransaction

from graphrec.config import Settings, get_settings
from graphrec.db import Graph, run_in
from graphrec.errors import InvalidInput, NotFound
from graphrec.feed.policy import FeedPolicy, Mix, mix, scenario
from graphrec.feed.rank import merge, rerank
from graphrec.feed.sources import (
    Candidate,
    QuerySource,
    SharedLists,
    SharedSource,
    UserContext,
    default_sources,
)

MAX_LIKES = 50
Ranker = Callable[[Sequence[Candidate], UserContext, FeedPolicy, Mix], None]
TOP_TAGS = 3  # the tags exploration slots stay outside of


@dataclass
class FeedItem:
    """One video of a feed and why it is there."""

    video_id: str
    creator_id: str
    tags: list[str]
    source: str
    reason: str
    score: float
    sources: list[str] = field(default_factory=list)
    exploration: bool = False

    @classmethod
    def of(cls, c: Candidate) -> FeedItem:
        """The served item of a ranked candidate (an exploration slot says so in its reason)."""
        return cls(
            video_id=c.video_id,
            creator_id=c.creator_id,
            tags=c.tags,
            source=c.source,
            reason=("exploration, outside your usual tags: " + c.reason)
            if c.exploration
            else c.reason,
            score=c.score,
            sources=c.sources,
            exploration=c.exploration,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "creator_id": self.creator_id,
            "tags": self.tags,
            "source": self.source,
            "reason": self.reason,
            "score": round(self.score, 4),
            "sources": self.sources,
            "exploration": self.exploration,
        }


@dataclass
class Feed:
    """The next n videos for a user."""

    user_id: str
    items: list[FeedItem]
    scenario: str
    candidates: dict[str, int]  # candidates per source (after dropping seen/rejected)
    took_ms: float = 0.0
    # gather, rank, record; queue: popping the user's feed queue (alone when it answered)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # On the spine: "hit" (popped from the user's feed queue) or why the queue missed
    # (graphrec.spine.queue.MISSES); "" where no queue was tried. Not in the body: the route
    # sends it as the X-Feed-Queue header.
    queue: str = ""

    def to_json(self) -> bytes:
        """The body ``GET /users/{id}/feed`` answers (``FeedPublic``), by orjson."""
        return orjson.dumps(
            {
                "user_id": self.user_id,
                "scenario": self.scenario,
                "items": [it.as_dict() for it in self.items],
                "candidates": self.candidates,
                "took_ms": round(self.took_ms, 3),
                "timings_ms": self.timings_ms,
            }
        )


def default_ranker(settings: Settings) -> Ranker:
    """The rank step both feed paths use: the learned ranker (``graphrec train`` publishes it
    at ``settings.ranker_path()``), falling back to the hand-set weights while none exists."""
    from graphrec.learn.ranker import feed_ranker

    return feed_ranker(settings.ranker_path())


class Recommender:
    """Builds feeds from the graph under one policy; stateless between calls (state is Neo4j)."""

    def __init__(
        self,
        graph: Graph,
        settings: Settings | None = None,
        policy: FeedPolicy | None = None,
        sources: list[QuerySource] | None = None,
        *,
        shared_ttl_s: float | None = None,
        shared: SharedLists | None = None,
        ranker: Ranker | None = None,
    ) -> None:
        self.graph = graph
        self.settings = settings or get_settings()
        self.policy = policy or FeedPolicy()
        self.sources = sources if sources is not None else default_sources()
        self.rank = ranker or default_ranker(self.settings)
        s = self.settings
        # Shared candidate lists (not user state) live this long in this process; 0: re-read
        # them for every feed. ``shared``: lists kept on another clock (a simulation's).
        self.shared = (
            shared
            if shared is not None  # not ``or``: an empty SharedLists is falsy (it has a len)
            else SharedLists(s.feed_shared_ttl_s if shared_ttl_s is None else shared_ttl_s)
        )
        self._defaults = Mix(
            source_weights={},
            cold_start_share=s.feed_cold_start_share,
            exploration_share=s.feed_exploration_share,
            max_per_creator=s.feed_max_per_creator,
            max_tag_share=s.feed_max_tag_share,
            scenario=scenario(None),
        )

    def warm(self) -> None:
        """Read the shared candidate lists now (at start), so no request waits for them."""
        ctx = UserContext(
            user_id="",
            tag_weights={"_": 1.0},
            tag_origin={},
            follows=[],
            skipped_creators={},
            communities=[],
            has_embedding=False,
            seen=set(),
            realtime=True,
            now=int(time.time() * 1000),
        )
        for src in self.active_sources():
            if isinstance(src, SharedSource):
                src.rows(self.graph, self.shared, ctx)

    def active_sources(self) -> list[QuerySource]:
        """Sources the policy enables and whose query exists in the library."""
        return [s for s in self.sources if self.policy.enabled(s.name) and s.available()]

    def gather(
        self, user_id: str, *, now: int, limit: int
    ) -> tuple[UserContext, dict[str, list[Candidate]]]:
        """The user's context and each source's candidates.

        One read transaction holds the context and the per-user sources; shared sources come
        from the shared lists, minus what the context says the user has seen.
        """
        sources = self.active_sources()
        realtime = self.policy.realtime

        def work(tx: ManagedTransaction) -> tuple[UserContext, dict[str, list[Candidate]]]:
            rows = run_in(
                tx,
                "serving/feed_context",
                user_id=user_id,
                realtime=realtime,
                max_likes=MAX_LIKES,
            )
            if not rows:
                raise NotFound(f"user_id: unknown user {user_id!r}")
            ctx = UserContext.from_row(rows[0], realtime=realtime, now=now)
            found: dict[str, list[Candidate]] = {}
            for src in sources:
                if src.shared:
                    continue
                if hasattr(src, "graph_rows"):  # a source reading several queries itself
                    rows = src.graph_rows(functools.partial(run_in, tx), ctx, limit)
                    found[src.name] = src.candidates(rows, ctx)
                    continue
                params = src.params(ctx, limit)
                found[src.name] = (
                    [] if params is None else src.candidates(run_in(tx, src.query, **params), ctx)
                )
            return ctx, found

        ctx, found = self.graph.transaction(work, read=True, what=f"building the feed of {user_id}")
        for src in sources:
            if isinstance(src, SharedSource):
                found[src.name] = src.candidates(src.rows(self.graph, self.shared, ctx), ctx)
        return ctx, found

    def feed(
        self,
        user_id: str,
        n: int = 10,
        scenario: str | None = None,
        *,
        at: int | None = None,
        record: bool = True,
    ) -> Feed:
        """The next ``n`` videos for ``user_id``; their impressions are recorded (``record``)."""
        from graphrec.feed.policy import scenario as find_scenario

        started = time.perf_counter()
        if not 1 <= n <= self.settings.feed_max_n:
            raise InvalidInput(f"n: must be between 1 and {self.settings.feed_max_n}, got {n}")
        sc = find_scenario(scenario)
        now = at if at is not None else int(time.time() * 1000)
        limit = max(self.policy.candidates_per_source, 2 * n)
        ctx, found = self.gather(user_id, now=now, limit=limit)
        gathered = time.perf_counter()
        m = mix(self.policy, defaults=self._defaults, sc=sc)
        candidates = [
            c for c in merge(c for cs in found.values() for c in cs) if self._wanted(c, ctx)
        ]
        self.rank(candidates, ctx, self.policy, m)
        top = {t for t, _ in ctx.top_tags[:TOP_TAGS]}
        kw = {
            "m": m,
            "top_tags": top,
            "diversity": self.policy.diversity,
            "cold_start": self.policy.cold_start,
        }
        chosen = rerank(candidates, n, **kw)  # type: ignore[arg-type]
        ranked = time.perf_counter()
        if record:
            from graphrec.learn.ranker import decode_log, log_vectors, ranker_table

            table = ranker_table(self.rank)
            granted: set[str] = set()
            denied: set[str] = set()
            pending = [c.video_id for c in chosen]
            feed_id = f"{random.getrandbits(64):016x}"
            for _ in range(3):  # budgets spent meanwhile: drop those and refill, 3 tries
                # What the ranker saw, kept with each impression (SAW.x, SAW.pos): the
                # learned ranker's training log (graphrec.learn.ranker.impression_lists).
                vecs = log_vectors(chosen, candidates, ctx, table, self.policy, m)
                logs = {c.video_id: {"x": decode_log(x), "pos": i}
                        for i, (c, x) in enumerate(zip(chosen, vecs, strict=True))}  # fmt: skip
                got = self._record(user_id, pending, now, feed_id, logs)
                granted |= got
                denied |= set(pending) - got
                kept = [c for c in chosen if c.video_id in granted]
                if len(kept) >= n or not set(pending) - got:
                    break
                chosen = rerank(candidates, n - len(kept), exclude=denied, already=kept, **kw)  # type: ignore[arg-type]
                pending = [c.video_id for c in chosen if c.video_id not in granted]
                if not pending:
                    break
            chosen = [c for c in chosen if c.video_id in granted]
        items = [FeedItem.of(c) for c in chosen]
        return Feed(
            user_id=user_id,
            items=items,
            scenario=sc.name,
            candidates={k: len(v) for k, v in found.items()},
            took_ms=(time.perf_counter() - started) * 1000,
            timings_ms={
                "gather": round((gathered - started) * 1000, 3),
                "rank": round((ranked - gathered) * 1000, 3),
                "record": round((time.perf_counter() - ranked) * 1000, 3),
            },
        )

    def _wanted(self, c: Candidate, ctx: UserContext) -> bool:
        """False for disliked content: a creator skipped too often, tags the user turned from."""
        p = self.policy
        if ctx.skipped_creators.get(c.creator_id, 0) >= p.drop_after_skips:
            return False
        return sum(ctx.tag_weights.get(t, 0.0) for t in c.tags) >= p.dislike_below

    def _record(self, user_id: str, video_ids: list[str], at: int, feed_id: str,
                logs: dict[str, dict[str, Any]]) -> set[str]:  # fmt: skip
        rows = self.graph.write(
            "pools/record_impressions", user_id=user_id, video_ids=video_ids, at=at,
            feed_id=feed_id, logs={v: logs.get(v, {}) for v in video_ids},
        )  # fmt: skip
        return {r["video_id"] for r in rows if r["granted"]}
