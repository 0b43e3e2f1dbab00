"""The ranker's pure logic: scoring, diversity caps, cold-start and exploration slots."""

from __future__ import annotations

from collections import Counter

import pytest

from graphrec.errors import InvalidInput
from graphrec.feed import SCENARIOS, FeedPolicy, scenario
from graphrec.feed.policy import Mix, mix
from graphrec.feed.rank import merge, rerank, score, slots, squash, tag_cap
from graphrec.feed.sources import Candidate, UserContext

DEFAULTS = Mix(
    source_weights={},
    cold_start_share=0.2,
    exploration_share=0.1,
    max_per_creator=2,
    max_tag_share=0.4,
    scenario=scenario(None),
)


def cand(
    i: int,
    *,
    creator: str,
    tags: list[str],
    source: str = "interest",
    rel: float = 1.0,
    dur: int | None = None,
) -> Candidate:
    return Candidate(
        video_id=f"v{i:03d}",
        creator_id=creator,
        tags=tags,
        source=source,
        relevance=rel,
        reason=f"{source} -> video",
        duration_ms=dur,
    )


def ctx(
    weights: dict[str, float] | None = None, skipped: dict[str, int] | None = None
) -> UserContext:
    return UserContext(
        user_id="u",
        tag_weights=weights or {},
        tag_origin={},
        follows=[],
        skipped_creators=skipped or {},
        communities=[],
        has_embedding=False,
        seen=set(),
        realtime=True,
        now=0,
    )


def the_mix(name: str | None = None) -> Mix:
    return mix(FeedPolicy(), defaults=DEFAULTS, sc=scenario(name))


@pytest.mark.parametrize(("x", "y"), [(0.0, 0.0), (1.0, 0.5), (-3.0, -0.75)])
def test_squash(x: float, y: float) -> None:
    assert squash(x) == pytest.approx(y)


@pytest.mark.parametrize(
    ("n", "share", "want"), [(10, 0.2, 2), (10, 0.0, 0), (3, 0.1, 1), (1, 0.5, 1)]
)
def test_slots(n: int, share: float, want: int) -> None:
    assert slots(n, share) == want


def test_one_tag_collapse_is_capped() -> None:
    # 30 dance videos from 15 creators, 10 others: the feed must not be all dance.
    pool = [cand(i, creator=f"c{i % 15}", tags=["dance"], rel=1.0 - i / 100) for i in range(30)]
    pool += [cand(100 + i, creator=f"d{i}", tags=[f"t{i}"], rel=0.2) for i in range(10)]
    score(pool, ctx({"dance": 3.0}), FeedPolicy(), the_mix())
    out = rerank(pool, 10, m=the_mix(), top_tags={"dance"})
    assert len(out) == 10 and len({c.video_id for c in out}) == 10
    assert sum("dance" in c.tags for c in out) <= tag_cap(10, 0.4)
    assert max(Counter(c.creator_id for c in out).values()) <= 2


def test_cold_start_and_exploration_slots_are_reserved() -> None:
    pool = [cand(i, creator=f"c{i}", tags=["dance", f"x{i}"], rel=1.0) for i in range(20)]
    pool += [
        cand(50 + i, creator=f"n{i}", tags=["pets"], source="cold_start", rel=0.1) for i in range(5)
    ]
    pool += [cand(80, creator="z", tags=["art"], rel=0.05)]
    score(pool, ctx({"dance": 2.0}), FeedPolicy(), the_mix())
    out = rerank(pool, 10, m=the_mix(), top_tags={"dance"})
    assert sum(c.source == "cold_start" for c in out) >= 2
    explored = [c for c in out if c.exploration]
    assert explored and all("dance" not in c.tags for c in explored)


def test_caps_relax_rather_than_a_short_feed() -> None:
    pool = [cand(i, creator="only", tags=["dance"]) for i in range(6)]
    out = rerank(pool, 5, m=the_mix(), top_tags=set())
    assert len(out) == 5


def test_no_diversity_takes_best_scores() -> None:
    pool = [cand(i, creator="only", tags=["dance"], rel=1.0 - i / 10) for i in range(6)]
    score(pool, ctx(), FeedPolicy(), the_mix())
    out = rerank(pool, 3, m=the_mix(), top_tags=set(), diversity=False, cold_start=False)
    assert [c.video_id for c in out] == ["v000", "v001", "v002"]


def test_skips_and_negative_tags_lower_the_score() -> None:
    a = cand(1, creator="liked", tags=["dance"])
    b = cand(2, creator="skipped", tags=["dance"])
    c = cand(3, creator="other", tags=["cringe"])
    score([a, b, c], ctx({"dance": 1.0, "cringe": -2.0}, {"skipped": 2}), FeedPolicy(), the_mix())
    assert a.score > b.score and a.score > c.score


def test_merge_keeps_one_candidate_with_every_source() -> None:
    out = merge(
        [
            cand(1, creator="c", tags=["a"], source="pools", rel=0.5),
            cand(1, creator="c", tags=["a"], source="interest", rel=0.9),
        ]
    )
    assert len(out) == 1 and out[0].sources == ["pools", "interest"] and out[0].source == "interest"


def test_commute_favours_short_videos() -> None:
    short = cand(1, creator="a", tags=["t"], dur=15_000)
    long = cand(2, creator="b", tags=["t"], dur=120_000)
    score([short, long], ctx(), FeedPolicy(), the_mix("commute"))
    assert short.score > long.score
    score([short, long], ctx(), FeedPolicy(), the_mix("tv"))
    assert long.score > short.score


def test_every_scenario_is_documented_and_unknown_ones_refused() -> None:
    assert {"default", "morning", "evening", "night", "commute", "binge", "tv"} <= set(SCENARIOS)
    assert all(s.doc for s in SCENARIOS.values())
    with pytest.raises(InvalidInput, match="scenario"):
        scenario("sideways")


def test_shared_lists_keep_a_list_then_refresh_in_the_background() -> None:
    """No sleeps: the lists run on a clock the test moves, and the refresher is waited for."""
    import threading

    from graphrec.feed.sources import SharedLists, jitter

    calls: list[int] = []
    loading = threading.Event()
    release = threading.Event()

    def load() -> int:
        calls.append(1)
        if len(calls) > 1:
            loading.set()
            assert release.wait(30)
        return len(calls)

    now = [100.0]
    lists = SharedLists(ttl_s=5.0, clock=lambda: now[0])
    assert lists.get("k", load) == 1 and len(calls) == 1
    now[0] += 4.9
    assert lists.get("k", load) == 1 and len(calls) == 1  # still fresh: not loaded again
    now[0] += 0.2  # expired
    assert lists.get("k", load) == 1  # the old list, while one thread refreshes
    assert loading.wait(30)
    assert lists.get("k", load) == 1 and len(calls) == 2  # only one refresher
    release.set()
    lists.settle("k")
    assert lists.get("k", load) == 2 and len(calls) == 2  # the refreshed list, fresh again
    now[0] += 5.1
    assert lists.get("k", load) == 2  # expired again: old list served, a refresh started
    lists.settle("k")
    assert lists.get("k", load) == 3
    assert SharedLists(ttl_s=0).get("k", lambda: len(calls)) == len(calls)  # no sharing
    assert jitter("u1", "v1") == jitter("u1", "v1") != jitter("u2", "v1")


def test_shared_lists_on_a_simulated_clock_reload_before_serving() -> None:
    """background=False (the simulated day's lists): an expired list is read again before it
    is served, never in a thread, so what a feed gets depends only on the clock."""
    import threading

    from graphrec.feed.sources import SharedLists

    loads: list[str] = []

    def load() -> int:
        loads.append(threading.current_thread().name)
        return len(loads)

    now = [0.0]
    lists = SharedLists(ttl_s=300.0, clock=lambda: now[0], background=False)
    assert lists.get("k", load) == 1
    now[0] = 299.0
    assert lists.get("k", load) == 1 and len(loads) == 1  # fresh on the simulated clock
    now[0] = 300.0
    assert lists.get("k", load) == 2  # expired: the new list, at once
    assert lists.get("k", load, ttl_s=3_600.0) == 2  # a longer TTL (each tag's best videos)
    assert loads == [threading.current_thread().name] * 2  # both in the caller's thread


@pytest.mark.parametrize(
    ("name", "cold", "explored"),
    [
        # docs/api.md: default 20 % cold start and 10 % exploration; night: cold-start share
        # 0.1, no exploration; commute: no exploration; evening: exploration 0.2; binge:
        # exploration 0.25, cold start 0.3.
        (None, 2, 1),
        ("night", 1, 0),
        ("commute", 2, 0),
        ("evening", 2, 2),
        ("binge", 3, 2),
        ("morning", 2, 1),
        ("tv", 2, 1),
    ],
)
def test_each_scenario_reserves_its_documented_slots(
    name: str | None, cold: int, explored: int
) -> None:
    """Strong items on the user's top tags fill the feed unless slots are reserved: weak
    cold-start and off-topic items get in only through their slots, so the counts are the
    scenario's shares of 10."""
    pool = [
        cand(i, creator=f"s{i}", tags=[("a", "b", "c")[i % 3]], rel=1.0 - i / 100)
        for i in range(21)
    ]
    pool += [cand(100 + i, creator=f"n{i}", tags=["new"], source="cold_start", rel=0.01)
             for i in range(5)]  # fmt: skip
    pool += [cand(200 + i, creator=f"o{i}", tags=[f"z{i}"], rel=0.01) for i in range(5)]
    m = the_mix(name)
    score(pool, ctx({"a": 3.0, "b": 2.0, "c": 1.0}), FeedPolicy(), m)
    out = rerank(pool, 10, m=m, top_tags={"a", "b", "c"})
    assert len(out) == 10
    assert sum(c.source == "cold_start" for c in out) == cold
    assert sum(c.exploration for c in out) == explored
    assert sum(c.video_id >= "v200" for c in out) == explored  # off-topic only by slot
