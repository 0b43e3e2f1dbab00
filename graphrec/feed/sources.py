"""Candidate sources: each one named query that proposes videos, and why.

A source is pluggable: it says which named query it runs, with which parameters for this
user, and how a row becomes a :class:`Candidate` with a short graph-path reason. A source
whose query is not in the library yet, or whose data is absent (no embedding, no communities,
no pool cycle run), returns nothing; the feed works with whatever exists.
Every source drops rejected and seen (SAW) videos itself, in its query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from graphrec import cypher

DAY_MS = 86_400_000


@dataclass
class Candidate:
    """A video some source proposes, with what the ranker needs and why it came."""

    video_id: str
    creator_id: str
    tags: list[str]
    source: str
    relevance: float  # 0..1 within its source (1: the source's best)
    reason: str
    quality: float = 0.0
    duration_ms: int | None = None
    sources: list[str] = field(default_factory=list)
    score: float = 0.0
    exploration: bool = False


@dataclass
class UserContext:
    """What the feed knows about the user (``serving/feed_context``), ready for the sources."""

    user_id: str
    tag_weights: dict[str, float]  # positive and negative, interests + liked tags
    tag_origin: dict[str, str]  # tag -> "declared" | "learned" | "liked"
    follows: list[str]
    skipped_creators: dict[str, int]
    communities: list[dict[str, Any]]
    has_embedding: bool
    seen: int
    realtime: bool
    now: int

    @property
    def top_tags(self) -> list[tuple[str, float]]:
        """Positive tag weights, strongest first."""
        return sorted(
            ((t, w) for t, w in self.tag_weights.items() if w > 0), key=lambda x: (-x[1], x[0])
        )

    @classmethod
    def from_row(cls, row: dict[str, Any], *, realtime: bool, now: int) -> UserContext:
        weights: dict[str, float] = {}
        origin: dict[str, str] = {}
        for it in row["liked_tags"]:
            weights[it["tag"]] = 0.25 * int(it["n"])
            origin[it["tag"]] = "liked"
        for it in row["interests"]:
            weights[it["tag"]] = weights.get(it["tag"], 0.0) + float(it["weight"])
            origin.setdefault(it["tag"], "interested in" if it["declared"] else "engaged with")
        return cls(
            user_id=row["user_id"],
            tag_weights=weights,
            tag_origin=origin,
            follows=list(row["follows"]),
            skipped_creators={r["creator"]: int(r["n"]) for r in row["skipped_creators"]},
            communities=list(row["communities"]),
            has_embedding=bool(row["has_embedding"]),
            seen=int(row["seen"]),
            realtime=realtime,
            now=now,
        )


class CandidateSource(Protocol):
    """One pluggable source of candidates."""

    name: str
    query: str

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        """The query's parameters, or None when this user has nothing for this source."""

    def candidate(self, row: dict[str, Any], ctx: UserContext) -> Candidate:
        """One row as a candidate with its reason."""


def _rank_relevance(rows: Sequence[dict[str, Any]]) -> list[float]:
    """1.0 for the first row down to 0.5 for the last: sources return best first."""
    n = len(rows)
    return [1.0 - 0.5 * i / max(n - 1, 1) for i in range(n)]


@dataclass
class QuerySource:
    """A source backed by one named query returning the common candidate columns."""

    name: str
    query: str

    def available(self) -> bool:
        return self.query in cypher.library()

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        return {"user_id": ctx.user_id, "limit": limit}

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"{self.name} -> video"

    def candidate(self, row: dict[str, Any], ctx: UserContext) -> Candidate:
        return Candidate(
            video_id=row["video_id"],
            creator_id=row["creator_id"],
            tags=list(row.get("tags") or []),
            source=self.name,
            relevance=0.0,
            reason=self.reason(row, ctx),
            quality=float(row.get("quality") or 0.0),
            duration_ms=row.get("duration_ms"),
        )

    def candidates(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[Candidate]:
        out = []
        for rel, row in zip(_rank_relevance(rows), rows, strict=True):
            c = self.candidate(row, ctx)
            c.relevance = rel
            out.append(c)
        return out


class EmbeddingSource(QuerySource):
    """Nearest videos to the user's (online) embedding through the vector index."""

    def __init__(self) -> None:
        super().__init__("embedding", "serving/source_embedding")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        if not ctx.has_embedding:
            return None
        return {
            "user_id": ctx.user_id,
            "realtime": ctx.realtime,
            "k": limit * 3,
            "limit": limit,
        }

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"{row['via']} ~ video (embedding similarity {float(row['score']):.2f})"


class InterestSource(QuerySource):
    """Videos of the user's strongest tags (declared, learned from events, liked)."""

    max_tags = 6
    per_tag = 30

    def __init__(self) -> None:
        super().__init__("interest", "serving/source_interest")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        tags = ctx.top_tags[: self.max_tags]
        if not tags:
            return None
        return {
            "user_id": ctx.user_id,
            "tags": [{"tag": t, "w": w} for t, w in tags],
            "per_tag": self.per_tag,
            "limit": limit,
        }

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        tag = row["via"]
        return f"{ctx.tag_origin.get(tag, 'interested in')} #{tag} -> video"


class CommunitySource(QuerySource):
    """Videos co-members of the user's communities liked (amplified winners)."""

    members = 40

    def __init__(self) -> None:
        super().__init__("community", "serving/source_community")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        if not ctx.communities:
            return None
        return {"user_id": ctx.user_id, "members": self.members, "limit": limit}

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"your community {row['via']} -> liked by {int(row['score'])} members -> video"


class FollowingSource(QuerySource):
    """New videos of followed creators."""

    per_creator = 3

    def __init__(self) -> None:
        super().__init__("following", "serving/source_following")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        if not ctx.follows:
            return None
        return {"user_id": ctx.user_id, "per_creator": self.per_creator, "limit": limit}

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"you follow {row['via']} -> posted video"


class PoolsSource(QuerySource):
    """Best of the boost and trending pools (global: works for anyone)."""

    scan = 300

    def __init__(self) -> None:
        super().__init__("pools", "serving/source_pools")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        return {
            "user_id": ctx.user_id,
            "pools": ["trending", "boost"],
            "scan": self.scan,
            "limit": limit,
        }

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"{row['via']} pool -> video"


class SpilloverSource(QuerySource):
    """Videos lifted by their creator's recent hit."""

    window_ms = 14 * DAY_MS

    def __init__(self) -> None:
        super().__init__("spillover", "serving/source_spillover")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        return {"user_id": ctx.user_id, "since": ctx.now - self.window_ms, "limit": limit}

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"creator's hit {row['via']} -> spillover -> video"


class LookbackSource(QuerySource):
    """Older videos revived by the look-back rule."""

    window_ms = 14 * DAY_MS

    def __init__(self) -> None:
        super().__init__("lookback", "serving/source_lookback")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        return {"user_id": ctx.user_id, "since": ctx.now - self.window_ms, "limit": limit}

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return "look-back revival -> video"


class ColdStartSource(QuerySource):
    """New videos under budget in the cold-start pool (the lifecycle's contract query)."""

    def __init__(self) -> None:
        super().__init__("cold_start", "pools/cold_start_candidates")

    def candidates(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[Candidate]:
        # Re-ordered by this feed's own view of the user's tags (with realtime off, the
        # query's match still counts online interests): best match, then furthest from budget.
        def key(row: dict[str, Any]) -> tuple[float, int, str]:
            match = sum(ctx.tag_weights.get(t, 0.0) for t in row.get("tags") or [])
            return (-match, -int(row.get("remaining") or 0), row["video_id"])

        return super().candidates(sorted(rows, key=key), ctx)

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        matched = [t for t in row.get("tags") or [] if ctx.tag_weights.get(t, 0) > 0]
        left = f"{row.get('remaining')} impressions left"
        if matched:
            return f"new video for #{matched[0]} -> cold-start pool ({left})"
        return f"new video -> cold-start pool ({left})"


def default_sources() -> list[QuerySource]:
    """Every source, in the order they run."""
    return [
        EmbeddingSource(),
        InterestSource(),
        CommunitySource(),
        FollowingSource(),
        PoolsSource(),
        SpilloverSource(),
        LookbackSource(),
        ColdStartSource(),
    ]
