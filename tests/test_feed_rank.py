"""The ranker's pure logic: scoring, diversity caps, cold-start and exploration slots."""

from __future__ import annotations

from collections import Counter

import pytest

from graphrec.errors import InvalidInput
from graphrec.feed import SCENARIOS, FeedPolicy, scenario
from graphrec.feed.policy import Mix, mix
from graphrec.feed.rank import merge, pages, rerank, score, slots, squash, tag_cap
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


def test_a_shared_lists_order_on_arrays_equals_the_row_by_row_order() -> None:
    """SharedSource.order on a long list (the ListIndex arrays: the CRC32 jitter from a zero
    start, the seen filter's probes at once) gives exactly what order_rows gives, for ids of
    mixed lengths, a video listed twice, users with and without seen videos, a Bloom
    filter and a plain set; fails if the jitter term or the seen mask is off."""
    import random

    from graphrec.feed.sources import INDEX_MIN, ListIndex, PoolsSource, jitter, list_index
    from graphrec.spine.store import SeenFilter, bloom_bytes

    rng = random.Random(7)
    ids = [f"v{rng.randrange(10 ** rng.randrange(1, 9))}-{i}" for i in range(400)]
    rows = [{"video_id": v, "creator_id": "c", "tags": []} for v in ids]
    rows += rows[:50]  # a list may repeat a video: same jitter, kept apart by position
    assert len({len(v) for v in ids}) > 3  # several id lengths: one CRC term each
    src = PoolsSource()
    m = 4096
    checked = 0
    for u in range(40):
        uid = f"user-{u}" * (1 + u % 3)
        seen_ids = set(rng.sample(ids, rng.choice([0, 5, 150, 399])))
        ix = ListIndex(rows)
        assert ix.jitter(uid).tolist() == [jitter(uid, r["video_id"]) for r in rows]
        for seen in (set(seen_ids), SeenFilter(bloom_bytes(seen_ids, m) if seen_ids else b"", m)):
            c = ctx()
            c.user_id, c.seen = uid, seen
            assert ix.unseen(seen).tolist() == [r["video_id"] not in seen for r in rows]
            want = src.order_rows(rows, c)
            assert src.order(rows, c) == want
            checked += len(want)
    assert checked > 40 * 2 * 20
    assert list_index(rows) is list_index(rows) and list_index(list(rows)) is not list_index(rows)
    short = rows[: INDEX_MIN - 1]
    assert src.order(short, ctx()) == src.order_rows(short, ctx())


def test_the_cold_start_order_on_arrays_equals_the_row_by_row_order() -> None:
    """ColdStartSource.order_live (the spine's feed: the cached list, live budgets from
    Redis) gives what the row-by-row definition gives on the rows those budgets leave: ties
    in tag match (shared tags), in spread (no budget left in the row: 0) and so by id; seen
    videos, spent budgets (0, negative) and rows without a live budget (their own)."""
    import random

    from graphrec.feed.sources import ColdStartSource, tag_sum
    from graphrec.spine.store import SeenFilter, bloom_bytes

    rng = random.Random(11)
    tags = [f"t{i}" for i in range(12)]
    rows = [
        {
            "video_id": f"cv{rng.randrange(10 ** rng.randrange(1, 7))}-{i}",
            "creator_id": "c",
            "tags": rng.sample(tags, rng.randrange(0, 4)),
            "remaining": rng.choice([None, 0, 5, 250, rng.randrange(300)]),
        }
        for i in range(200)
    ]
    src = ColdStartSource()
    m = 4096
    compared = 0
    for u in range(30):
        weights = {t: rng.choice([0.1, 0.25, -0.3, 1.0 / 3]) for t in rng.sample(tags, u % 6)}
        left = [rng.choice([None, None, b"0", b"-3", b"7", str(rng.randrange(400)).encode()])
                for _ in rows]  # fmt: skip
        seen_ids = set(rng.sample([r["video_id"] for r in rows], rng.choice([0, 20, 120])))
        for seen in (set(seen_ids), SeenFilter(bloom_bytes(seen_ids, m) if seen_ids else b"", m)):
            c = ctx(weights)
            c.user_id, c.seen = f"u{u}", seen
            fresh = [
                {**r, "remaining": int(x)} if x is not None else r
                for r, x in zip(rows, left, strict=True)
                if (x is None or int(x) > 0) and r["video_id"] not in seen
            ]
            want = src.order_rows(fresh, c)
            assert src.order_live(rows, left, c) == want
            assert src.order(rows, c) == src.order_rows(rows, c)
            compared += len(want)
    assert compared > 30 * 2 * 20
    assert tag_sum({"a": 0.1, "b": 0.2}, ["a", "b", "c"]) == 0.1 + 0.2


def test_the_interest_order_on_arrays_equals_the_row_by_row_order() -> None:
    """InterestSource.order_tops (the spine's feed: each tag's cached list) gives what
    ``order`` gives on the rows ``rows`` merges from the same lists: a video under several of
    the user's tags comes once, via the first; affinity ties (rounded to 2 places) fall to
    quality and jitter, then the id; seen videos are dropped."""
    import random

    from graphrec.feed.sources import InterestSource
    from graphrec.spine.store import SeenFilter, bloom_bytes

    rng = random.Random(5)
    tags = [f"t{i}" for i in range(10)]
    pool = [
        {
            "video_id": f"iv{rng.randrange(10 ** rng.randrange(1, 6))}-{i}",
            "creator_id": "c",
            "tags": rng.sample(tags, rng.randrange(1, 4)),
            "quality": rng.choice([0.0, 0.5, rng.random()]),
        }
        for i in range(300)
    ]
    tops = {t: [r for r in pool if t in r["tags"]][:40] for t in tags}
    src = InterestSource()
    m = 4096
    compared = 0
    for u in range(30):
        weights = {
            t: rng.choice([0.1, 0.25, 0.5, 1.0 / 3, -0.2]) for t in rng.sample(tags, 1 + u % 8)
        }
        seen_ids = set(rng.sample([r["video_id"] for r in pool], rng.choice([0, 30, 200])))
        for seen in (set(seen_ids), SeenFilter(bloom_bytes(seen_ids, m) if seen_ids else b"", m)):
            c = ctx(weights)
            c.user_id, c.seen = f"u{u}", seen
            merged: dict[str, dict[str, object]] = {}
            for tag, _ in c.top_tags[: src.max_tags]:
                for v in tops.get(tag, ()):
                    merged.setdefault(v["video_id"], {**v, "via": tag})
            want = src.order(list(merged.values()), c)
            assert src.order_tops(tops, c) == want
            compared += len(want)
    assert compared > 30 * 2 * 10


def test_list_indexes_age_out_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker keeps one index per shared list it uses (hundreds: one per tag): over the
    bound the least recently used goes, never the whole cache at once."""
    from graphrec.feed import sources as S

    monkeypatch.setattr(S, "INDEXES_MAX", 3)
    monkeypatch.setattr(S, "_INDEXES", type(S._INDEXES)())
    lists = [[{"video_id": f"v{i}-{j}"} for j in range(3)] for i in range(4)]
    a, b, c, d = (S.list_index(x) for x in lists)  # a goes when d comes: b, c, d
    assert S.list_index(lists[1]) is b  # used again: c, d, b
    assert S.list_index(lists[0]) is not a  # rebuilt, c goes: d, b, a
    assert S.list_index(lists[3]) is d  # kept: b, a, d
    assert S.list_index(lists[2]) is not c  # c went
    assert len(S._INDEXES) == 3 and S.list_index(lists[3]) is d


def test_pages_from_a_pool_kept_in_order_are_the_pages_that_sort_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pages keeps its pool best first between pages (rerank(ordered=True)) and rerank reads
    the exploration candidates lazily: the same pages, in the same order, with the same
    exploration flags, as sorting the pool again for every page."""
    import random

    import graphrec.feed.rank as R

    def resorting(*args: object, **kw: object) -> list[Candidate]:
        return rerank(*args, **{**kw, "ordered": False})  # type: ignore[arg-type]

    rng = random.Random(11)
    tags = ["a", "b", "c", "d", "e", "f"]
    for case in range(40):
        made = []
        for i in range(rng.randint(0, 160)):
            c = cand(i, creator=f"c{rng.randint(0, 25)}",
                     tags=rng.sample(tags, rng.randint(0, 3)),
                     source=rng.choice(["interest", "similar", "cold_start", "pools"]),
                     rel=rng.random())  # fmt: skip
            c.score = rng.choice([0.5, 0.25, 1.0, rng.random(), -rng.random()])  # with ties
            made.append(c)
        rng.shuffle(made)
        kw = {"m": the_mix(rng.choice([None, *SCENARIOS])), "top_tags": set(rng.sample(tags, 2)),
              "diversity": case % 5 != 0, "cold_start": case % 7 != 0,
              "exclude": {f"v{i:03d}" for i in range(0, 160, rng.randint(3, 9))}}  # fmt: skip
        n, count = rng.choice([(10, 120), (5, 40), (20, 100), (1, 7)])
        mine = [Candidate(**c.__dict__) for c in made]
        theirs = [Candidate(**c.__dict__) for c in made]
        got = pages(mine, n, count, **kw)  # type: ignore[arg-type]
        with monkeypatch.context() as mp:  # every page sorts its pool again
            mp.setattr(R, "rerank", resorting)
            want = pages(theirs, n, count, **kw)  # type: ignore[arg-type]
        assert [(c.video_id, c.exploration) for c in got] == [
            (c.video_id, c.exploration) for c in want
        ]
