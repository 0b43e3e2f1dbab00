"""Scoring and the diversity re-rank: pure functions, no I/O (unit-tested on their own).

Score of a candidate = the best of (source weight x relevance within the source) over the
sources that proposed it, + a bonus per extra source, + affinity (the user's weights on its
tags, squashed to -1..1) x affinity weight, + quality (engagement per impression, squashed)
x quality weight, + the scenario's duration bonus, - skip penalty x skips of its creator.

Re-rank (greedy, best score first): at most ``max_per_creator`` items per creator and
``ceil(n x max_tag_share)`` (at least 2) per tag; ``cold_start_share`` of the slots go to
cold-start videos (new content gets its impressions) and ``exploration_share`` to videos
outside the user's top tags; where too few candidates meet the caps the caps are relaxed
rather than returning a short feed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from graphrec.feed.policy import FeedPolicy, Mix
from graphrec.feed.sources import Candidate, UserContext


def squash(x: float) -> float:
    """-inf..inf onto -1..1, steep near 0 (x / (1 + |x|))."""
    return x / (1.0 + abs(x))


def merge(candidates: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per video; ``sources`` lists every source that proposed it."""
    by_video: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_video.setdefault(c.video_id, []).append(c)
    out = []
    for group in by_video.values():
        first = group[0]
        first.sources = list(dict.fromkeys(c.source for c in group))
        out.append(first)
        for other in group[1:]:
            for name, rel in other.ranks.items():
                first.ranks[name] = max(rel, first.ranks.get(name, 0.0))
            for name, raw in other.scores.items():
                first.scores[name] = max(raw, first.scores.get(name, 0.0))
            if other.relevance > first.relevance:  # keep the strongest reason
                first.source, first.relevance, first.reason = (
                    other.source,
                    other.relevance,
                    other.reason,
                )
    return out


def hand_score(c: Candidate, ctx: UserContext, policy: FeedPolicy, m: Mix) -> float:
    """The hand-weighted score of one candidate (see the module docstring)."""
    base = max(m.source_weights.get(s, 0.5) for s in (c.sources or [c.source])) * c.relevance
    bonus = policy.multi_source_bonus * (len(c.sources) - 1 if c.sources else 0)
    affinity = squash(sum(ctx.tag_weights.get(t, 0.0) for t in c.tags))
    quality = squash(4.0 * c.quality)
    penalty = policy.skip_penalty * ctx.skipped_creators.get(c.creator_id, 0)
    return (
        base
        + bonus
        + policy.affinity_weight * affinity
        + policy.quality_weight * quality
        + m.scenario.prefers(c.duration_ms)
        - penalty
    )


def score(candidates: Sequence[Candidate], ctx: UserContext, policy: FeedPolicy, m: Mix) -> None:
    """Set ``score`` on every candidate (in place)."""
    for c in candidates:
        c.score = c.hand = hand_score(c, ctx, policy, m)


def slots(n: int, share: float) -> int:
    """How many of n slots a share reserves (0 when the share is 0; at least 1 otherwise)."""
    if share <= 0 or n <= 0:
        return 0
    return min(n, max(1, round(n * share)))


def tag_cap(n: int, share: float) -> int:
    return max(2, math.ceil(n * share))


def rerank(
    candidates: Sequence[Candidate],
    n: int,
    *,
    m: Mix,
    top_tags: set[str],
    diversity: bool = True,
    cold_start: bool = True,
    exclude: set[str] | None = None,
    already: Sequence[Candidate] = (),
    ordered: bool = False,
) -> list[Candidate]:
    """Choose n items: cold-start and exploration slots, then by score within the caps.
    ``ordered``: the candidates come best first already (score down, then video id: the
    order this sorts them in), as :func:`pages` passes them."""
    kept = (c for c in candidates if not exclude or c.video_id not in exclude)
    pool = list(kept) if ordered else sorted(kept, key=lambda c: (-c.score, c.video_id))
    chosen: list[Candidate] = list(already)
    taken = {c.video_id for c in chosen}
    # Plain dicts read with .get: a Counter answers a missing key through a Python-level
    # __missing__, and most checks are of creators and tags not taken yet (a queue's fill
    # runs this twelve times over ~150 candidates).
    per_creator: dict[str, int] = {}
    per_tag: dict[str, int] = {}
    target = len(chosen) + n
    max_creator = m.max_per_creator if diversity else target
    max_tag = tag_cap(target, m.max_tag_share) if diversity else target

    def fits(c: Candidate, creator_cap: int, tag_cap_: int) -> bool:
        if c.video_id in taken or per_creator.get(c.creator_id, 0) >= creator_cap:
            return False
        count = per_tag.get  # each tag within its cap (one listed twice: checked twice)
        return all(count(t, 0) < tag_cap_ for t in c.tags)

    def count_in(c: Candidate) -> None:
        per_creator[c.creator_id] = per_creator.get(c.creator_id, 0) + 1
        for t in set(c.tags):
            per_tag[t] = per_tag.get(t, 0) + 1

    for c in chosen:
        count_in(c)

    def take(c: Candidate) -> None:
        chosen.append(c)
        taken.add(c.video_id)
        count_in(c)

    def fill(picks: Iterable[Candidate], count: int, creator_cap: int, tag_cap_: int) -> int:
        got = 0
        for c in picks:
            if got >= count or len(chosen) >= target:
                break
            if fits(c, creator_cap, tag_cap_):
                take(c)
                got += 1
        return got

    if cold_start:
        have = sum(c.source == "cold_start" for c in chosen)
        fill(
            (c for c in pool if c.source == "cold_start"),
            slots(target, m.cold_start_share) - have,
            max_creator,
            max_tag,
        )
    if diversity and top_tags:
        # Read lazily: a page's one or two exploration slots fill from the first few.
        explore = (c for c in pool if c.source != "cold_start" and top_tags.isdisjoint(c.tags))
        have = sum(c.exploration for c in chosen)
        before = len(chosen)
        fill(explore, slots(target, m.exploration_share) - have, max_creator, max_tag)
        for c in chosen[before:]:
            c.exploration = True
    fill(pool, target - len(chosen), max_creator, max_tag)
    if len(chosen) < target and diversity:  # too few within the caps: relax the tag cap,
        fill(pool, target - len(chosen), max_creator, target)
    if len(chosen) < target:  # then the creator cap
        fill(pool, target - len(chosen), target, target)
    extra = chosen[len(already) :]
    extra.sort(key=lambda c: (-c.score, c.video_id))
    return list(already) + extra


def pages(
    candidates: Sequence[Candidate],
    n: int,
    count: int,
    *,
    m: Mix,
    top_tags: set[str],
    diversity: bool = True,
    cold_start: bool = True,
    exclude: set[str] | None = None,
) -> list[Candidate]:
    """The pages that would follow: :func:`rerank` of ``n`` again and again, each without
    what the earlier ones (and ``exclude``) took, whole pages until ``count`` items are
    there (fewer when the candidates run out). Page k is what the feed serves after pages 1..k-1 were seen, while
    nothing else about the user changes (what a precomputed feed queue holds)."""
    taken = set(exclude or ())
    pool = sorted(
        (c for c in candidates if c.video_id not in taken), key=lambda c: (-c.score, c.video_id)
    )
    out: list[Candidate] = []
    while len(out) < count and pool:
        page = rerank(pool, n, m=m, top_tags=top_tags, diversity=diversity,
                      cold_start=cold_start, ordered=True)  # fmt: skip
        if not page:
            break
        out += page
        got = {c.video_id for c in page}
        pool = [c for c in pool if c.video_id not in got]
    return out
