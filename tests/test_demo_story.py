"""The demo's day tells world S's story (issue 14): on seed 0 a strong video from a newcomer
climbs cold start -> boost -> trending, the planted malicious upload is stopped at audit, a
promoted video is amplified in its community, look-back revives an old video and the users
whose taste changes see it in their feed within a few pages."""

from __future__ import annotations

import json
import time

import pytest
from support.shared import SharedGraph

from graphrec.config import Settings
from graphrec.demo import DEMO_POLICIES, learn_demo_world, load_demo_world, simulate_demo_day
from graphrec.sim import SimReport

pytestmark = pytest.mark.slow  # the demo's whole day: a world, training, two policies


@pytest.fixture
def demo_day(
    shared_graph: SharedGraph, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> SimReport:
    out = tmp_path_factory.mktemp("demo")

    def build(graph: object) -> SimReport:
        g = shared_graph.graph
        t0 = time.perf_counter()
        world, _counts = load_demo_world(g, "S", 0)
        learned = learn_demo_world(g, world, settings=settings, checkpoint=out / "model.pt")
        day, _paths = simulate_demo_day(
            g, world, learned, seed=0, hours=12, report=out, settings=settings
        )
        print(f"demo day on world S: {time.perf_counter() - t0:.0f} s")
        print(json.dumps({p: r.figures for p, r in day.policies.items()}, indent=1))
        return day

    return shared_graph.holding("demo: world S day", build)


def test_the_demo_day_tells_the_story(demo_day: SimReport) -> None:
    assert tuple(demo_day.policies) == DEMO_POLICIES
    f = demo_day.policies["graphrec"].figures
    assert f["strong_new_video_hours_to_boost"] is not None
    assert f["planted_malicious_rejected"] and f["planted_malicious_reasons"]
    assert f["malicious_impressions"] == 0
    assert f["amplified_in_community"] > 0
    assert f["adaptation_pages"] is not None
