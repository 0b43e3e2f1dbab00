"""A day on the platform: the closed loop runs, repeats itself, and shows what the parts do."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from support.shared import SharedGraph

from graphrec.db import Graph
from graphrec.errors import InvalidInput
from graphrec.sim import SimConfig, SimReport, simulate
from graphrec.sim import metrics as M
from graphrec.sim.report import story, write_report
from graphrec.world.generate import SIZES, generate

# simulated days with training; the first test builds the day (5 policies): a hang guard
# wider than the suite's 300 s, which a busy 2-core machine can reach (898 s measured at load 8)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

POLICIES = ("graphrec", "online", "no_cold_start", "random", "popular")


# The planted world: world S's population with eight distinct taste communities, so that
# one global "most popular" list cannot suit everyone (with the default four, the largest
# communities' favourites are most of what anyone watches).
PLANTED = dataclasses.replace(SIZES["S"], communities=8)


@pytest.fixture
def day(shared_graph: SharedGraph) -> SimReport:
    """Ten simulated hours on the planted world, four policies, the model trained first
    (simulated once while no other test changes the graph)."""
    world = generate(PLANTED, seed=11)
    # No planted change of taste here (tests/test_demo_story.py follows one): its users'
    # long sessions would cost four policies' time.
    cfg = SimConfig(
        seed=11, hours=10, users=160, policies=POLICIES, session_rate=0.5, shift_share=0.0
    )
    return shared_graph.holding("sim: planted day", lambda g: simulate(g, world, cfg, train=True))


def test_graphrec_beats_random_and_popular_on_watch_time(day: SimReport) -> None:
    fig = {p: r.figures for p, r in day.policies.items()}
    ours = fig["graphrec"]["watch_time_per_session_s"]
    assert ours > 1.15 * fig["random"]["watch_time_per_session_s"]
    assert ours > 1.05 * fig["popular"]["watch_time_per_session_s"]
    assert fig["graphrec"]["like_rate"] > fig["random"]["like_rate"]


def test_every_policy_starts_with_the_trained_item_to_item_lists(day: SimReport) -> None:
    """The world is reloaded before each policy: the lists training wrote for the first
    one are written again for the others (each policy gets the whole learning half)."""
    written = day.training["similar"]["written"]
    assert written > 0
    assert day.training["similar_restored"] == [written] * (len(POLICIES) - 1)
    assert "published" in day.training["ranker"]


def test_cold_start_pool_gives_the_days_uploads_their_impressions(day: SimReport) -> None:
    """Every new video gets its first audience: with the pool, the day's uploads take a far
    larger share of impressions (measured 0.189 against 0.110) and none goes unseen. (The
    share of new *creators* is no test of it here: their older videos reach feeds through
    the other sources too, and it measured 0.0431 against 0.0433 in one run, 0.048 against
    0.044 in another: within the day's run-to-run spread.)"""
    full = day.policies["graphrec"].figures
    ablated = day.policies["no_cold_start"].figures
    assert full["upload_impression_share"] > 1.3 * ablated["upload_impression_share"]
    assert full["uploads_shown"] >= ablated["uploads_shown"]
    assert full["uploads_shown"] > 0.95


def test_planted_strong_video_reaches_boost_within_two_cycles(day: SimReport) -> None:
    """The newcomer's strong video (no followers) clears the promotion bar in its first
    cycles, however few of its cohort-mates the day has decided (docs/lifecycle.md)."""
    f = day.policies["graphrec"].figures
    hours = f["strong_new_video_hours_to_boost"]
    assert hours is not None, f["pool_moves"]
    assert 0 < hours <= 2 * day.config["cycle_every_hours"]
    assert f["reached_boost"] >= 1 and f["pool_moves"]["cold_start->boost"] >= 1


def test_online_training_moves_upload_vectors_to_their_audience(day: SimReport) -> None:
    """With the model learning online, the day's uploads' vectors (as the graph serves them)
    move to where the users who watch them are; without it they stay at their tags' and
    creator's guess (docs/online-training.md, "In the simulated day")."""
    online = day.policies["online"]
    static = day.policies["graphrec"]
    up_on = [v for v in online.audience_cosine["uploads"] if v is not None]
    up_off = [v for v in static.audience_cosine["uploads"] if v is not None]
    assert up_on and up_off, (online.audience_cosine, static.audience_cosine)
    # closer to the audience at every hour both follow, and by a clear margin at the end
    pairs = [
        (a, b)
        for a, b in zip(
            online.audience_cosine["uploads"], static.audience_cosine["uploads"], strict=True
        )
        if a is not None and b is not None
    ]
    assert all(a > b for a, b in pairs), pairs
    # measured end-of-day margins: 0.16 and 0.094 on two runs (the day is not bit-for-bit
    # repeatable once training's thread timing differs), so the bar is 0.05
    assert up_on[-1] > up_off[-1] + 0.05, (up_on, up_off)
    # the planted trending upload: 0.80 against 0.50 at the end of the measured day
    planted = [v for v in online.audience_cosine["planted_strong"] if v is not None]
    planted_off = [v for v in static.audience_cosine["planted_strong"] if v is not None]
    assert planted and planted_off, online.audience_cosine["planted_strong"]
    assert planted[-1] > planted_off[-1] + 0.1, (planted, planted_off)
    training = online.figures["online_training"]
    assert training["updates"] > 0 and training["vectors_written"] > 0, training
    assert training["gate"]["publish"], training["gate"]
    assert "online_training" not in static.figures


def test_malicious_upload_is_never_shown(day: SimReport) -> None:
    for r in day.policies.values():
        assert r.figures["malicious_impressions"] == 0


def test_report_is_written_with_every_figure(day: SimReport, tmp_path: Path) -> None:
    with warnings.catch_warnings():  # e.g. a chart's legend with nothing in it
        warnings.simplefilter("error", UserWarning)
        paths = write_report(day, tmp_path / "report")
    html = paths["html"].read_text()
    assert "A day on the platform" in html and html.count("data:image/png;base64,") == 5
    import json

    data = json.loads(paths["json"].read_text())
    assert [r["policy"] for r in data["headline"]] == list(POLICIES)
    assert {"creator_gini", "coverage", "adaptation_pages"} <= set(data["headline"][0])
    assert {"upload_audience_cosine", "trending_upload_audience_cosine"} <= set(data["headline"][0])
    assert data["policies"]["online"]["audience_cosine"]["uploads"]


def test_same_seed_same_figures(graph: Graph) -> None:
    world = generate("S", seed=5)
    cfg = SimConfig(
        seed=5,
        hours=3,
        users=40,
        policies=("graphrec", "random"),
        uploads_per_hour=1,
        session_rate=0.6,
        cycle_every_hours=2,
    )
    a = simulate(graph, world, cfg, train=False)
    b = simulate(graph, world, cfg, train=False)
    for p in cfg.policies:
        fa = {k: v for k, v in a.policies[p].figures.items() if k != "wall_s"}
        fb = {k: v for k, v in b.policies[p].figures.items() if k != "wall_s"}
        assert fa == fb
        assert (
            asdict(a.policies[p])["creator_impressions"]
            == asdict(b.policies[p])["creator_impressions"]
        )


def test_bad_configs_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown policies"):
        SimConfig(policies=("graphrec", "magic"))
    with pytest.raises(InvalidInput, match="at least 1"):
        SimConfig(hours=0)


def test_online_policy_needs_the_trained_model(graph: Graph) -> None:
    cfg = SimConfig(hours=1, users=5, policies=("online",))
    with pytest.raises(InvalidInput, match="simulate it with training"):
        simulate(graph, generate("S", seed=0), cfg, train=False)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1, 1, 1, 1], 0.0), ([0, 0, 0, 4], 0.75), ([], 0.0), ([0, 0], 0.0)],
)
def test_gini(values: list[float], expected: float) -> None:
    assert M.gini(values) == pytest.approx(expected)


def test_lorenz_and_adaptation_time() -> None:
    x, y = M.lorenz([0, 0, 0, 4], points=5)
    assert x == [0, 0.25, 0.5, 0.75, 1.0]
    assert np.allclose(y, [0, 0, 0, 0, 1])
    assert M.adaptation_time([0.1, 0.2, 0.35, 0.5], 0.3) == 3
    assert M.adaptation_time([0.1], 0.3) is None
    assert M.category_diversity(["a", "a", "b", "c"]) == 0.75


def test_one_scale_factor_sizes_every_pool_budget_to_the_population() -> None:
    from graphrec.config import Settings
    from graphrec.sim import _sim_settings, pool_budget_scale

    assert pool_budget_scale(240) == pytest.approx(0.0024)
    assert pool_budget_scale(100_000) == pool_budget_scale(10**7) == 1.0
    small = _sim_settings(Settings(environment="test"), generate("S", seed=0), SimConfig())
    assert (small.cold_start_budget_min, small.cold_start_budget_max) == (10, 15)  # floors
    assert (small.boost_budget_min, small.boost_budget_max) == (24, 240)  # 0.0024 x seed's
    half = _sim_settings(Settings(environment="test"), generate("S", seed=0), SimConfig(users=120))
    assert (half.boost_budget_min, half.boost_budget_max) == (20, 120)  # floor 20, 0.0012


def test_the_story_is_told_per_policy_in_words(tmp_path: Path) -> None:
    from graphrec.sim.run import PolicyResult

    told = {
        "strong_new_video_hours_to_boost": 3.0,
        "strong_new_video_hours_to_trending": None,
        "planted_malicious_rejected": True,
        "planted_malicious_reasons": ["banned term: free followers"],
        "malicious_rejected_at_audit": 4,
        "amplified_in_community": 2,
        "look_back_revivals": 1,
        "adaptation_pages": 2,
    }
    day = SimReport(
        config={},
        world={},
        policies={
            "popular": PolicyResult("popular", figures={"planted_malicious_rejected": False}),
            "graphrec": PolicyResult("graphrec", figures=told),
        },
    )
    popular, ours = story(day)
    assert ours["strong newcomer: boost"] == "3 h after upload"
    assert ours["strong newcomer: trending"] == "not within the day"
    assert ours["malicious upload"].startswith("stopped at audit (banned term: free followers)")
    assert ours["changed taste"].endswith("by page 2")
    assert popular["malicious upload"] == "not stopped at audit"
    assert popular["changed taste"] == "not within the pages followed"
