"""The pool cycle: exact top-10 % promotion with documented ties, idempotence, look-back,
vertical labels, spillover and community amplification, on small deterministic worlds."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support.sandbox import DAY_MS, Sandbox

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.errors import Conflict
from graphrec.lifecycle import budgets
from graphrec.lifecycle.cycle import run_cycle
from graphrec.lifecycle.scoring import Weights, promoted_count, score

S = Settings(environment="test")


def spent(vid: str, creator: str, *, views: int, day: int = 0, **kw: Any) -> dict[str, Any]:
    """A cold-start video whose 100-impression budget is spent, entered on ``day``."""
    base = Sandbox.__dataclass_fields__["now"].default  # type: ignore[attr-defined]
    row = {
        "id": vid,
        "creator": creator,
        "budget": 100,
        "served": 100,
        "impressions": 100,
        "views": views,
        "since": base - (day + 1) * DAY_MS,
    }
    row.update(kw)
    return row


def pool_of(graph: Graph) -> dict[str, str | None]:
    return {r["video_id"]: r["pool"] for r in graph.read("lifecycle/sandbox_snapshot")}


@pytest.mark.parametrize(("size", "k"), [(0, 0), (9, 0), (10, 1), (25, 2), (30, 3), (99, 9)])
def test_promoted_count_is_floor_of_share(size: int, k: int) -> None:
    assert promoted_count(size, 0.10) == k


@pytest.mark.parametrize(("size", "k"), [(2, 0), (3, 1), (9, 1), (10, 1), (25, 2)])
def test_a_cohort_of_min_cohort_promotes_at_least_one(size: int, k: int) -> None:
    assert promoted_count(size, 0.10, min_cohort=3) == k


def test_small_cohorts_wait_for_more_then_promote_their_best(graph: Graph) -> None:
    """A cohort under GRAPHREC_PROMOTE_MIN_COHORT (3) waits across cycles; once it has 3
    decided videos its best moves up (floor(0.3) would be none); an aged one settles."""
    sb = Sandbox(graph)
    sb.creators("c1")
    rows = [spent("w1", "c1", views=50), spent("w2", "c1", views=10)]  # day 0: only 2
    rows += [spent(f"d{i}", "c1", views=10 * i, day=1) for i in range(3)]  # day 1: 3
    rows += [spent(f"old{i}", "c1", views=90, day=3) for i in range(2)]  # aged: 4 days in
    sb.videos(rows)
    first = run_cycle(graph, settings=S, now=sb.now)
    where = pool_of(graph)
    assert where["w1"] == where["w2"] == "cold_start"  # waiting for their cohort to grow
    assert [where[f"d{i}"] for i in range(3)] == ["long_tail", "long_tail", "boost"]
    assert where["old0"] == where["old1"] == "long_tail"  # past max age: decided as it is
    assert first.moves == {"cold_start->boost": 1, "cold_start->long_tail": 4}
    sb.videos([spent("w3", "c1", views=30)])  # the third of day 0 is decided
    second = run_cycle(graph, settings=S, now=sb.now + 1)
    where = pool_of(graph)
    assert (where["w1"], where["w2"], where["w3"]) == ("boost", "long_tail", "long_tail")
    assert second.moves == {"cold_start->boost": 1, "cold_start->long_tail": 2}


@pytest.mark.parametrize(
    ("size", "clearing", "k"), [(1, 1, 1), (2, 1, 1), (2, 2, 2), (1, 0, 0), (0, 0, 0), (25, 5, 2)]
)
def test_small_cohorts_promote_the_videos_clearing_the_bar(
    size: int, clearing: int, k: int
) -> None:
    assert promoted_count(size, 0.10, min_cohort=3, clearing_bar=clearing) == k


def test_a_lone_strong_video_moves_up_from_a_small_cohort(graph: Graph) -> None:
    """A video whose score clears GRAPHREC_PROMOTE_MIN_SCORE (1.5) moves up at once, even
    alone in its cohort, in cold start and in boost; its weaker cohort-mates still wait."""
    sb = Sandbox(graph)
    sb.creators("c1")
    strong = {"views": 100, "completions": 90, "likes": 40}  # (100+180+160)/110 + 0.25 = 4.25
    rows = [spent("star", "c1", **strong), spent("plain", "c1", views=90)]  # day 0: two
    rows += [spent("hit", "c1", day=1, **strong), spent("meh", "c1", views=60, day=1)]
    rows += [spent("boosted", "c1", pool="boost", **strong)]  # alone in its boost cohort
    sb.videos(rows)
    assert score({"impressions": 100, **strong}, 0.5, Weights()) > S.promote_min_score
    report = run_cycle(graph, settings=S, now=sb.now)
    where = pool_of(graph)
    assert (where["star"], where["hit"], where["boosted"]) == ("boost", "boost", "trending")
    # under the bar (0.82 + 0.25 and 0.55 + 0.25): still waiting for their cohorts to grow
    assert where["meh"] == where["plain"] == "cold_start"
    assert report.moves == {"cold_start->boost": 2, "boost->trending": 1}


def test_score_formula() -> None:
    w = Weights()
    counters = {"impressions": 90, "views": 50, "completions": 20, "likes": 10, "shares": 1}
    assert score(counters, 0.4, w) == pytest.approx((50 + 40 + 40 + 8) / 100 + 0.2)


def test_exactly_top_ten_percent_of_each_cohort_is_promoted(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("c1", score=0.5)
    sb.creators("c2", score=0.9)  # a better account score lifts c2's videos
    rows = [spent(f"a{i:02d}", "c1", views=i) for i in range(25)]  # cohort day 0: 25 videos
    # cohort day 1: 20 videos, all tied on score: earlier upload wins, then smaller id
    rows += [
        spent(f"t{i:02d}", "c1", views=30, day=1, created_at=sb.now - (50 - i // 2) * DAY_MS)
        for i in range(20)
    ]
    rows += [spent("b00", "c2", views=22)]  # day 0: 22 views + better account beats a23
    rows += [{"id": "fresh", "creator": "c1", "budget": 100, "served": 99, "views": 99}]
    sb.videos(rows)
    report = run_cycle(graph, settings=S, now=sb.now)
    where = pool_of(graph)
    boosted = sorted(v for v, p in where.items() if p == "boost")
    # day 0: 26 videos -> floor(2.6) = 2: a24 (24 views) and b00 (22 views + account 0.9)
    # day 1: 20 tied videos -> 2: the earliest uploads t00, t01 (same created_at: id order)
    assert boosted == ["a24", "b00", "t00", "t01"]
    assert where["fresh"] == "cold_start"  # budget not spent: not decided yet
    assert sum(p == "long_tail" for p in where.values()) == 26 + 20 - 4
    assert report.moves == {"cold_start->boost": 4, "cold_start->long_tail": 42}
    state = {r["video_id"]: r for r in graph.read("pools/video_state", video_ids=boosted)}
    for v in boosted:
        assert 10_000 <= state[v]["budget"] <= 100_000 and state[v]["served"] == 0
    expected = score({"impressions": 100, "views": 22}, 0.9, Weights.from_settings(S))
    assert state["b00"]["score"] == pytest.approx(expected)
    cycles = graph.read("lifecycle/sandbox_cycles")
    assert [(c["cycle"], c["status"], c["moved"]) for c in cycles] == [(1, "done", 46)]


def test_second_cycle_on_the_same_state_changes_nothing(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("c1", "c2")
    sb.users(*[f"u{i}" for i in range(5)])
    rows = [spent(f"v{i:02d}", "c1", views=i, hashtags=["dance"]) for i in range(20)]
    rows += [
        {
            "id": "old",
            "creator": "c2",
            "pool": "long_tail",
            "budget": 0,
            "impressions": 50,
            "views": 45,
            "completions": 40,
            "likes": 20,
            "since": sb.now - 30 * DAY_MS,
            "created_at": sb.now - 30 * DAY_MS,  # older than "viral": its spillover lifts it
        },
        {
            "id": "viral",
            "creator": "c2",
            "pool": "trending",
            "budget": 0,
            "impressions": 5000,
            "views": 4000,
            "completions": 3000,
            "likes": 900,
            "shares": 200,  # score 3.36 >= 3.0 on 5,000 impressions: viral
            "since": sb.now - 8 * DAY_MS,
        },
        {
            "id": "boosted",
            "creator": "c2",
            "pool": "boost",
            "budget": 10_000,
            "served": 10_000,
            "impressions": 10_000,
            "views": 3000,
        },
    ]
    sb.videos(rows)
    first = run_cycle(graph, settings=S, now=sb.now)
    assert first.changed > 0
    assert (first.counts["spillover_viral"], first.counts["spillover_raised"]) == (1, 1)
    before = graph.read("lifecycle/sandbox_snapshot")
    second = run_cycle(graph, settings=S, now=sb.now + 1)
    assert second.changed == 0 and second.moves == {}
    assert graph.read("lifecycle/sandbox_snapshot") == before
    assert [c["status"] for c in graph.read("lifecycle/sandbox_cycles")] == ["done", "done"]


def test_a_running_cycle_blocks_another(graph: Graph) -> None:
    sb = Sandbox(graph)
    graph.write("pools/cycle_begin", now=sb.now, stale_ms=S.cycle_stale_ms)
    with pytest.raises(Conflict, match="another pool cycle is running"):
        run_cycle(graph, settings=S, now=sb.now + 1000)
    # a cycle that died long ago no longer blocks
    report = run_cycle(graph, settings=S, now=sb.now + S.cycle_stale_ms + 1)
    assert report.cycle == 2


def test_cycle_runs_safely_with_traffic(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("c1")
    users = [f"u{i:03d}" for i in range(60)]
    sb.users(*users)
    sb.videos(
        [spent(f"s{i:02d}", "c1", views=i) for i in range(30)]
        + [{"id": f"n{i}", "creator": "c1", "budget": 20} for i in range(4)]
    )
    errors: list[BaseException] = []

    def traffic() -> None:
        try:
            for u in users:
                budgets.record_impressions(graph, u, ["n0", "n1", "n2", "n3", "s00"], at=sb.now)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=traffic) for _ in range(3)]
    for t in threads:
        t.start()
    run_cycle(graph, settings=S, now=sb.now)
    for t in threads:
        t.join()
    assert not errors
    snap = {r["video_id"]: r for r in graph.read("lifecycle/sandbox_snapshot")}
    assert all(r["pool"] is not None for r in snap.values())
    assert all(r["served"] <= r["budget"] for r in snap.values() if r["budget"])
    assert sum(r["pool"] == "boost" for r in snap.values()) == 3


def test_look_back_revives_the_overlooked_video_not_the_weak_ones(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("c1", "c2", "hot")
    old = sb.now - 30 * DAY_MS

    def tail(vid: str, creator: str = "c1", **kw: Any) -> dict[str, Any]:
        return {
            "id": vid,
            "creator": creator,
            "pool": "long_tail",
            "budget": 0,
            "since": old,
            "created_at": old,
            **kw,
        }

    strong = {"impressions": 60, "views": 50, "completions": 40, "likes": 20, "shares": 4}
    sb.videos(
        [
            tail("overlooked", **strong),
            tail("weak1", impressions=60, views=6, likes=1),
            tail("weak2", impressions=200, views=30, completions=5),
            tail("famous", impressions=20_000, views=16_000, completions=13_000, likes=7_000),
            tail("too_few", impressions=5, views=5, completions=5, likes=5),
            tail("too_recent", since=sb.now - DAY_MS, **strong),
            tail("hot_old", creator="hot", impressions=80, views=50, completions=25, likes=8),
            tail("hot_weak", creator="hot", impressions=80, views=5),
            tail("hot_hit", creator="hot", pool="boost", budget=20_000, impressions=500, views=300),
        ]
    )
    graph.write(
        "lifecycle/sandbox_moved",
        rows=[
            {
                "video_id": "hot_hit",
                "from_pool": "cold_start",
                "to_pool": "boost",
                "reason": "promoted",
                "at": sb.now - DAY_MS,
            }
        ],
    )
    rows = graph.read(
        "pools/decide_look_back",
        now=sb.now,
        min_age_ms=S.lookback_min_age_ms,
        min_impressions=S.lookback_min_impressions,
        max_impressions=S.lookback_max_impressions,
        min_score=S.lookback_min_score,
        creator_window_ms=S.lookback_creator_window_ms,
        creator_min_score=S.lookback_creator_min_score,
        period_ms=S.lookback_period_ms,
        weights=Weights.from_settings(S).param(),
        limit=10,
    )
    assert {r["video_id"]: r["why"] for r in rows} == {
        "overlooked": "overlooked",
        "hot_old": "creator drawing traffic",
    }
    report = run_cycle(graph, settings=S, now=sb.now)
    assert report.moves["long_tail->cold_start"] == 2
    state = {r["video_id"]: r for r in graph.read("lifecycle/sandbox_snapshot")}
    assert state["overlooked"]["pool"] == "cold_start"
    assert state["overlooked"]["revived_at"] == sb.now
    assert 200 <= state["overlooked"]["budget"] <= 300
    for v in ("weak1", "weak2", "famous", "too_few", "too_recent", "hot_weak"):
        assert state[v]["pool"] == "long_tail" and state[v]["revived_at"] is None
    revivals = graph.read("analyst/look_back_revivals", since=0, limit=10)
    assert {r["video_id"] for r in revivals} == {"overlooked", "hot_old"}


def test_vertical_label_appears_and_disappears_at_thresholds(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("niche", "mixed")
    s = S.model_copy(update={"vertical_min_videos": 5, "vertical_min_share": 0.6})
    dance = [{"id": f"d{i}", "creator": "niche", "hashtags": ["dance", "ballet"]} for i in range(3)]
    other = [{"id": f"o{i}", "creator": "niche", "hashtags": ["cat"]} for i in range(1)]
    mixed = [
        {"id": f"m{i}", "creator": "mixed", "hashtags": [["food", "cat"][i % 2]]} for i in range(6)
    ]
    sb.videos(dance + other + mixed)
    run_cycle(graph, settings=s, now=sb.now)
    assert graph.read("lifecycle/sandbox_verticals") == []  # 4 videos < 5
    sb.videos([{"id": "o1", "creator": "niche", "hashtags": ["cat"]}])  # 5 videos, 3/5 dance
    report = run_cycle(graph, settings=s, now=sb.now + 1)
    labels = [
        (r["creator_id"], r["tag"], r["share"]) for r in graph.read("lifecycle/sandbox_verticals")
    ]
    assert labels == [("niche", "ballet", 0.6), ("niche", "dance", 0.6)]
    sb.users("dancer")
    graph.write("lifecycle/sandbox_interest", user_id="dancer", tag="ballet", weight=1.0)
    niche = graph.read("pools/vertical_candidates", user_id="dancer", limit=10)
    assert sorted(r["video_id"] for r in niche) == ["d0", "d1", "d2"]
    assert report.counts["vertical_added"] == 2
    sb.videos([{"id": "o2", "creator": "niche", "hashtags": ["cat"]}])  # 3/6 = 0.5 < 0.6
    report = run_cycle(graph, settings=s, now=sb.now + 2)
    assert graph.read("lifecycle/sandbox_verticals") == []
    assert report.counts["vertical_removed"] == 2


def test_spillover_raises_only_the_viral_creators_older_videos(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("star", "other", "flop")
    t = sb.now - 10 * DAY_MS
    viral = {"impressions": 5000, "views": 4000, "completions": 3000, "likes": 800, "shares": 200}
    sb.videos(
        [
            {
                "id": "hit",
                "creator": "star",
                "pool": "trending",
                "budget": 0,
                "created_at": t,
                **viral,
            },
            {
                "id": "star_old1",
                "creator": "star",
                "pool": "long_tail",
                "budget": 0,
                "created_at": t - 5 * DAY_MS,
            },
            {
                "id": "star_old2",
                "creator": "star",
                "pool": "long_tail",
                "budget": 0,
                "created_at": t - 9 * DAY_MS,
            },
            {"id": "star_new", "creator": "star", "created_at": t + DAY_MS},
            {
                "id": "other_old",
                "creator": "other",
                "pool": "long_tail",
                "budget": 0,
                "created_at": t - 5 * DAY_MS,
            },
            {
                "id": "flop",
                "creator": "flop",
                "pool": "boost",
                "budget": 50_000,
                "created_at": t,
                "impressions": 5000,
                "views": 300,
            },
            {
                "id": "flop_old",
                "creator": "flop",
                "pool": "long_tail",
                "budget": 0,
                "created_at": t - 5 * DAY_MS,
            },
        ]
    )
    sb.users("fan", "passer")
    graph.write(
        "lifecycle/sandbox_interactions",
        rows=[
            {"user": "fan", "video": "hit", "type": "LIKED", "at": sb.now},
            {"user": "fan", "video": "star_old2", "type": "SAW", "at": sb.now},
        ],
    )
    report = run_cycle(graph, settings=S, now=sb.now)
    assert report.counts["spillover_viral"] == 1 and report.counts["spillover_raised"] == 2
    snap = {r["video_id"]: r for r in graph.read("lifecycle/sandbox_snapshot")}
    raised = {v for v, r in snap.items() if r["spillover_boost"]}
    assert raised == {"star_old1", "star_old2"}
    assert snap["star_old1"]["spillover_from"] == "hit"
    assert snap["hit"]["spilled_at"] == sb.now
    fan = graph.read("pools/spillover_candidates", user_id="fan", since=0, limit=10)
    assert [(r["video_id"], r["score"]) for r in fan] == [("star_old1", 2.0)]  # old2 seen
    passer = graph.read("pools/spillover_candidates", user_id="passer", since=0, limit=10)
    assert {r["video_id"]: r["score"] for r in passer} == {"star_old1": 1.0, "star_old2": 1.0}


def test_promoted_video_is_amplified_in_its_best_community_else_its_tags(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("c1")
    users = [f"u{i}" for i in range(12)]
    sb.users(*users)
    rows = [spent(f"v{i:02d}", "c1", views=i, hashtags=["dance", "ballet"]) for i in range(10)]
    rows += [spent(f"w{i:02d}", "c1", views=i, hashtags=["cat", "dog"], day=2) for i in range(10)]
    sb.videos(rows)
    # v09 (the day-0 winner) was seen by everyone; community "dancers" engaged, "gamers" did not
    members = [
        {"user": u, "community": "dancers" if i < 6 else "gamers", "score": 1.0}
        for i, u in enumerate(users)
    ]
    graph.write("lifecycle/sandbox_members", rows=members)
    events = [{"user": u, "video": "v09", "type": "SAW", "at": sb.now} for u in users]
    events += [{"user": u, "video": "v09", "type": "LIKED", "at": sb.now} for u in users[:4]]
    events += [{"user": u, "video": "v09", "type": "VIEWED", "at": sb.now} for u in users[6:7]]
    # w09 (day-2 winner): only "loner", in no community, engaged -> its tag audience
    sb.users("loner")
    events += [{"user": "loner", "video": "w09", "type": t, "at": sb.now} for t in ("SAW", "LIKED")]
    graph.write("lifecycle/sandbox_interactions", rows=events)
    graph.write("lifecycle/sandbox_interest", user_id="loner", tag="dog", weight=1.0)
    s = S.model_copy(update={"amplify_communities": 1})
    report = run_cycle(graph, settings=s, now=sb.now)
    assert report.moves["cold_start->boost"] == 2
    amp = [
        (r["video_id"], r["target"], r["audience"])
        for r in graph.read("lifecycle/sandbox_amplified")
    ]
    assert amp == [("v09", "dancers", "community"), ("w09", "dog", "tag")]
    sb.users("newcomer")
    graph.write(
        "lifecycle/sandbox_members",
        rows=[{"user": "newcomer", "community": "dancers", "score": 1.0}],
    )
    got = graph.read("pools/amplified_candidates", user_id="newcomer", limit=5)
    assert [(r["video_id"], r["via"]) for r in got] == [("v09", "community dancers")]
