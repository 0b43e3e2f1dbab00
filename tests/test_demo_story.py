"""The demo's day tells world S's story (issue 14), read from the report the demo writes:
a strong video from a newcomer with no followers climbs cold start -> boost -> trending, the
planted malicious upload is stopped at audit with its reason, a promoted video is amplified
in its community, look-back revives an old video, and the users whose taste changes find
their new favourite in the feed within a few pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.shared import SharedGraph

from graphrec.config import Settings
from graphrec.demo import (
    DEMO_HOURS,
    DEMO_POLICIES,
    learn_demo_world,
    load_demo_world,
    simulate_demo_day,
)
from graphrec.sim.run import ADAPTATION_PAGES, ADAPTED_SHARE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the demo's whole day, once


@pytest.fixture
def report(
    shared_graph: SharedGraph, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The demo's own steps on world S, seed 0; what its report.json says."""
    out = tmp_path_factory.mktemp("demo")

    def build(_graph: object) -> dict[str, Any]:
        g = shared_graph.graph
        world, _counts = load_demo_world(g, "S", 0)
        learned = learn_demo_world(g, world, settings=settings, checkpoint=out / "model.pt")
        _day, paths = simulate_demo_day(
            g, world, learned, seed=0, hours=DEMO_HOURS, report=out, settings=settings
        )
        data: dict[str, Any] = json.loads(Path(paths["json"]).read_text())
        data["html"] = Path(paths["html"]).read_text()
        return data

    return shared_graph.holding("demo: world S day", build)


def graphrec(report: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = report["policies"]["graphrec"]["figures"]
    return figures


def test_the_report_covers_each_demo_policy(report: dict[str, Any]) -> None:
    assert [r["policy"] for r in report["story"]] == list(DEMO_POLICIES)
    assert "The story of the day" in report["html"]


def test_the_day_runs_on_the_whole_learning_half(report: dict[str, Any]) -> None:
    """Learning is `graphrec train`'s: item-to-item lists (written again for the policy that
    starts on a reloaded world) and, when published, the feed ranker the day ranks with."""
    t = report["training"]
    assert t["similar"].get("method"), t["similar"]
    assert t["similar_restored"] and min(t["similar_restored"]) > 0, t
    if t["ranker_published"]:
        assert Path(t["ranker"]["path"]).name == "ranker.npz", t
    else:
        assert "ranker" not in t, t


def test_the_strong_newcomer_climbs_to_boost_then_trending(report: dict[str, Any]) -> None:
    f = graphrec(report)
    boost, trending = f["strong_new_video_hours_to_boost"], f["strong_new_video_hours_to_trending"]
    assert boost is not None and trending is not None, report["policies"]["graphrec"]["cycles"]
    assert 0 < boost <= trending <= DEMO_HOURS
    told = next(r for r in report["story"] if r["policy"] == "graphrec")
    assert told["strong newcomer: trending"] == f"{trending:g} h after upload"


def test_the_malicious_upload_is_stopped_at_audit_with_its_reason(
    report: dict[str, Any],
) -> None:
    for policy in DEMO_POLICIES:
        f = report["policies"][policy]["figures"]
        assert f["planted_malicious_rejected"], policy
        assert any("link" in r or "banned" in r for r in f["planted_malicious_reasons"]), f
        assert f["malicious_impressions"] == 0


def test_look_back_revives_and_communities_amplify(report: dict[str, Any]) -> None:
    f = graphrec(report)
    assert f["look_back_revivals"] >= 1, report["policies"]["graphrec"]["cycles"]
    assert f["pool_moves"].get("long_tail->cold_start", 0) == f["look_back_revivals"]
    assert f["amplified_in_community"] >= 1


def test_a_changed_taste_shows_in_the_feed_within_a_few_pages(report: dict[str, Any]) -> None:
    f = graphrec(report)
    curve = report["policies"]["graphrec"]["adaptation_curve"]
    pages = f["adaptation_pages"]
    assert pages is not None and 1 <= pages <= ADAPTATION_PAGES, curve
    assert curve[pages - 1] >= ADAPTED_SHARE > max(curve[: pages - 1], default=0.0)
    # the popularity baseline, blind to the change, does not get there within the pages
    popular = report["policies"]["popular"]
    assert max(popular["adaptation_curve"], default=0.0) < curve[pages - 1]
