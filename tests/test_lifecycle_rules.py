"""The pool cycle's timing rules and its once-only rules, on small sandbox worlds.

Trending exit after 7 days, the cold-start (3 days) and boost (14 days) timeouts, boost ->
trending, spillover once per viral video, look-back's cap per period and "never revived
twice". Each boundary is checked on both sides, so moving a threshold fails a test.
"""

from __future__ import annotations

from typing import Any

from support.sandbox import DAY_MS, Sandbox

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.lifecycle.cycle import run_cycle

S = Settings(environment="test")
HOUR_MS = 3_600_000


def snapshot(graph: Graph) -> dict[str, dict[str, Any]]:
    return {r["video_id"]: r for r in graph.read("lifecycle/sandbox_snapshot")}


def test_trending_settles_after_seven_days_not_before(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("c1")
    sb.videos(
        [
            {
                "id": "week",
                "creator": "c1",
                "pool": "trending",
                "budget": 0,
                "since": sb.now - 7 * DAY_MS,
            },
            {
                "id": "almost",
                "creator": "c1",
                "pool": "trending",
                "budget": 0,
                "since": sb.now - 7 * DAY_MS + HOUR_MS,
            },
        ]
    )
    report = run_cycle(graph, settings=S, now=sb.now)
    snap = snapshot(graph)
    assert (snap["week"]["pool"], snap["almost"]["pool"]) == ("long_tail", "trending")
    assert report.moves == {"trending->long_tail": 1}


def test_unspent_budgets_are_decided_after_the_pool_timeout(graph: Graph) -> None:
    """Cold start decides an unspent budget after 3 days, boost after 14; not an hour sooner."""
    sb = Sandbox(graph)
    sb.creators("c1")
    unspent = {"creator": "c1", "served": 10, "impressions": 10, "views": 9}
    sb.videos(
        [
            {
                "id": "cs_due",
                "pool": "cold_start",
                "budget": 250,
                "since": sb.now - 3 * DAY_MS,
                **unspent,
            },
            {
                "id": "cs_wait",
                "pool": "cold_start",
                "budget": 250,
                "since": sb.now - 3 * DAY_MS + HOUR_MS,
                **unspent,
            },
            {
                "id": "bo_due",
                "pool": "boost",
                "budget": 50_000,
                "since": sb.now - 14 * DAY_MS,
                **unspent,
            },
            {
                "id": "bo_wait",
                "pool": "boost",
                "budget": 50_000,
                "since": sb.now - 14 * DAY_MS + HOUR_MS,
                **unspent,
            },
        ]
    )
    report = run_cycle(graph, settings=S, now=sb.now)
    where = {v: r["pool"] for v, r in snapshot(graph).items()}
    # A cohort of one promotes floor(0.1) = 0: a timed-out video settles in the long tail.
    assert where == {
        "cs_due": "long_tail",
        "cs_wait": "cold_start",
        "bo_due": "long_tail",
        "bo_wait": "boost",
    }
    assert report.moves == {"cold_start->long_tail": 1, "boost->long_tail": 1}


def test_the_best_tenth_of_a_boost_cohort_goes_trending(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("c1")
    sb.videos(
        [
            {
                "id": f"b{i}",
                "creator": "c1",
                "pool": "boost",
                "budget": 10_000,
                "served": 10_000,
                "impressions": 10_000,
                "views": 1_000 * i,
                "since": sb.now - DAY_MS,
            }
            for i in range(10)
        ]
    )
    report = run_cycle(graph, settings=S, now=sb.now)
    snap = snapshot(graph)
    assert [v for v, r in snap.items() if r["pool"] == "trending"] == ["b9"]
    assert snap["b9"]["budget"] == 0 and snap["b9"]["since"] == sb.now  # trending has no budget
    assert report.moves == {"boost->trending": 1, "boost->long_tail": 9}


def test_a_viral_video_spills_once(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("star")
    viral = {"impressions": 5000, "views": 4000, "completions": 3000, "likes": 800, "shares": 200}
    sb.videos(
        [
            {"id": "hit", "creator": "star", "pool": "boost", "budget": 50_000, **viral},
            {
                "id": "older",
                "creator": "star",
                "pool": "long_tail",
                "budget": 0,
                "created_at": sb.now - 20 * DAY_MS,
            },
        ]
    )
    first = run_cycle(graph, settings=S, now=sb.now)
    assert (first.counts["spillover_viral"], first.counts["spillover_raised"]) == (1, 1)
    snap = snapshot(graph)
    assert snap["hit"]["spilled_at"] == sb.now
    older = graph.read("serving/video_detail", video_id="older")[0]
    assert (older["spillover_from"], older["spillover_at"]) == ("hit", sb.now)
    page = graph.read("serving/creator_page", creator_id="star", recent=5)[0]
    assert page["spillover"] == [{"video_id": "older", "boost": 1.0, "from": "hit", "at": sb.now}]
    # A day later the video is as viral as before: it does not spill again.
    later = run_cycle(graph, settings=S, now=sb.now + DAY_MS)
    assert later.counts["spillover_viral"] == 0 and later.counts["spillover_raised"] == 0
    older = graph.read("serving/video_detail", video_id="older")[0]
    assert older["spillover_at"] == sb.now
    assert snapshot(graph)["hit"]["spilled_at"] == sb.now


def test_look_back_keeps_its_cap_per_period_and_never_revives_twice(graph: Graph) -> None:
    sb = Sandbox(graph)
    sb.creators("c1")
    s = S.model_copy(update={"lookback_max_per_period": 2})
    old = sb.now - 30 * DAY_MS
    sb.videos(
        [
            {
                "id": f"o{i}",
                "creator": "c1",
                "pool": "long_tail",
                "budget": 0,
                "since": old,
                "created_at": old,
                "impressions": 60,
                "views": 50,
                "completions": 40,
                "likes": 20 - 2 * i,  # o0 best, o3 worst; all overlooked (score >= 2)
            }
            for i in range(4)
        ]
    )

    def revived(report: Any) -> int:
        return int(report.moves.get("long_tail->cold_start", 0))

    def in_cold_start() -> set[str]:
        return {v for v, r in snapshot(graph).items() if r["pool"] == "cold_start"}

    assert revived(run_cycle(graph, settings=s, now=sb.now)) == 2
    assert in_cold_start() == {"o0", "o1"}  # the best two
    # An hour later, same period: the cap is used up.
    assert revived(run_cycle(graph, settings=s, now=sb.now + HOUR_MS)) == 0
    # Four days later: o0, o1 time out of cold start (back to the long tail); a new period
    # revives the other two.
    day4 = sb.now + 4 * DAY_MS
    report = run_cycle(graph, settings=s, now=day4)
    assert revived(report) == 2 and report.moves["cold_start->long_tail"] == 2
    assert in_cold_start() == {"o2", "o3"}
    # Twelve days on, o0 and o1 have sat 8 days in the long tail and would qualify again:
    # a revived video is never revived twice.
    report = run_cycle(graph, settings=s, now=sb.now + 12 * DAY_MS)
    assert revived(report) == 0
    snap = snapshot(graph)
    assert all(snap[v]["pool"] == "long_tail" for v in ("o0", "o1", "o2", "o3"))
    assert {v: snap[v]["revived_at"] for v in ("o0", "o1", "o2", "o3")} == {
        "o0": sb.now,
        "o1": sb.now,
        "o2": day4,
        "o3": day4,
    }
