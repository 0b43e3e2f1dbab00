"""The spine's online state against real Redis and real Neo4j (world S): the weight each
event kind moves, the clamp, impressions stamping the served SAW, client times, and the
feed's refill when a budget runs out between ranking and granting.

Every rule is read on both sides: the Redis state the next feed reads, and the graph once the
graph writer has drained the stream. Expected weights are the documented figures
(docs/api.md "Real time"), not the code's table.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from graphrec.accounts import sign_up
from graphrec.db import Graph
from graphrec.spine import Spine
from graphrec.spine.append import append_events
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.writer import GraphWriter
from graphrec.world.generate import World

# docs/api.md: like +1, share +1, follow +0.8, comment +0.6, complete +0.4, view +0.1,
# skip -0.3, impression 0; clamped to -5..10.
DOCUMENTED = {
    "like": 1.0,
    "share": 1.0,
    "follow": 0.8,
    "comment": 0.6,
    "complete": 0.4,
    "view": 0.1,
    "skip": -0.3,
    "impression": 0.0,
}
LOW, HIGH = -5.0, 10.0


def new_user(graph: Graph, spine: Spine, uid: str) -> None:
    sign_up(graph, user_id=uid)
    spine.add_user(uid)


def redis_tags(spine: Spine, uid: str) -> dict[str, float]:
    raw = spine.r.hgetall(spine.keys.user(uid, "tags"))
    return {k.decode(): float(v) for k, v in raw.items()}


def graph_tags(graph: Graph, uid: str) -> dict[str, float]:
    return {r["tag"]: r["weight"] for r in graph.read("serving/user_interests", user_id=uid)}


def approved(world: World) -> list[dict]:
    return [v for v in world.videos if v["status"] == "approved"]


def test_each_kind_moves_the_profile_by_its_documented_weight(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    video = approved(world_s)[0]
    tags = set(video["hashtags"])
    events = []
    for kind in DOCUMENTED:
        new_user(loaded_graph, spine, f"w-{kind}")
        events.append(
            {"event_id": f"k-{kind}", "user_id": f"w-{kind}", "kind": kind, "video_id": video["id"]}
        )
    assert append_events(spine, events).accepted == len(DOCUMENTED)
    GraphWriter(loaded_graph, spine).drain()
    for kind, w in DOCUMENTED.items():
        want = {t: pytest.approx(w) for t in tags} if w else {}
        assert redis_tags(spine, f"w-{kind}") == want, kind
        assert graph_tags(loaded_graph, f"w-{kind}") == want, kind


def test_weights_clamp_per_event_alike_in_redis_and_the_graph(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    """Twelve likes then a skip end at 10 - 0.3; twenty skips then a like at -5 + 1: the
    clamp applies at each event, in order, on both sides (the graph in one writer batch)."""
    counts = Counter(t for v in approved(world_s) for t in v["hashtags"])
    tag, _ = counts.most_common(1)[0]
    vids = [v["id"] for v in approved(world_s) if tag in v["hashtags"]]
    assert len(vids) >= 21
    new_user(loaded_graph, spine, "high")
    new_user(loaded_graph, spine, "low")
    plan = [("high", "like", v) for v in vids[:12]] + [("high", "skip", vids[12])]
    plan += [("low", "skip", v) for v in vids[:20]] + [("low", "like", vids[20])]
    events = [
        {"event_id": f"c-{i}", "user_id": u, "kind": k, "video_id": v}
        for i, (u, k, v) in enumerate(plan)
    ]
    assert append_events(spine, events).accepted == len(events)
    assert redis_tags(spine, "high")[tag] == pytest.approx(HIGH - 0.3)
    assert redis_tags(spine, "low")[tag] == pytest.approx(LOW + 1.0)
    GraphWriter(loaded_graph, spine).drain()
    for uid in ("high", "low"):
        graph, online = graph_tags(loaded_graph, uid), redis_tags(spine, uid)
        assert set(graph) == set(online)
        for t, w in online.items():
            assert graph[t] == pytest.approx(w), (uid, t)
            assert LOW <= w <= HIGH


def test_an_impression_stamps_the_served_saw_and_at_is_kept(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    new_user(loaded_graph, spine, "imp")
    served = StreamRecommender(spine).feed("imp", 5, at=1_650_000_000_000)
    vid, other = served.items[0].video_id, served.items[1].video_id
    writer = GraphWriter(loaded_graph, spine)
    writer.drain()
    impressions = loaded_graph.read("serving/video_detail", video_id=vid)[0]["counters"]
    events = [
        {"event_id": "imp-1", "user_id": "imp", "kind": "impression", "video_id": vid},
        {
            "event_id": "like-1",
            "user_id": "imp",
            "kind": "like",
            "video_id": other,
            "at": 1_700_000_000_123,
        },
    ]
    assert append_events(spine, events, now=1_800_000_000_000).accepted == 2
    writer.drain()
    after = loaded_graph.read("serving/video_detail", video_id=vid)[0]["counters"]
    assert after["impressions"] == impressions["impressions"]  # no second count
    rels = loaded_graph.read("serving/user_events", user_id="imp")
    saw = [r for r in rels if r["type"] == "SAW" and r["video_id"] == vid]
    assert len(saw) == 1
    assert saw[0]["event_id"] == "imp-1" and saw[0]["served_id"] is not None
    assert saw[0]["at"] == 1_650_000_000_000  # the feed's time, stamped, not replaced
    liked = [r for r in rels if r["type"] == "LIKED"]
    assert [(r["video_id"], r["at"]) for r in liked] == [(other, 1_700_000_000_123)]
    # An impression with no served SAW writes one and counts it.
    fresh = next(
        v["id"] for v in approved(world_s) if v["id"] not in {i.video_id for i in served.items}
    )
    before = loaded_graph.read("serving/video_detail", video_id=fresh)[0]["counters"]
    ev = {"event_id": "imp-2", "user_id": "imp", "kind": "impression", "video_id": fresh}
    assert append_events(spine, [ev], now=1_800_000_000_000).accepted == 1
    writer.drain()
    got = loaded_graph.read("serving/video_detail", video_id=fresh)[0]["counters"]
    assert got["impressions"] == before["impressions"] + 1
    rels = loaded_graph.read("serving/user_events", user_id="imp")
    assert [(r["event_id"], r["at"]) for r in rels if r["video_id"] == fresh] == [
        ("imp-2", 1_800_000_000_000)  # no `at` given: the server's time
    ]


def test_a_budget_spent_between_ranking_and_granting_is_refilled(
    spine: Spine, loaded_graph: Graph
) -> None:
    new_user(loaded_graph, spine, "late")
    budgets = {k.decode(): int(v) for k, v in spine.r.hgetall(spine.keys.budget).items()}
    raced: list[str] = []
    grant = spine.grant_and_record  # the feed grants and records in one script

    def another_feed_first(user_id: str, video_ids: list[str], **kw: Any) -> set[str]:
        # Another feed takes the last impression of the first budgeted video we are about
        # to grant, after our ranking: the real script must refuse it.
        if not raced:
            first = next(v for v in video_ids if budgets.get(v, 0) > 0)
            spine.r.hset(spine.keys.budget, first, 0)
            raced.append(first)
        return grant(user_id, video_ids, **kw)

    spine.grant_and_record = another_feed_first  # type: ignore[method-assign]
    items = StreamRecommender(spine).feed("late", 10).items
    assert raced and raced[0] not in {i.video_id for i in items}
    assert len(items) == 10 and len({i.video_id for i in items}) == 10
    assert sum(i.source == "cold_start" for i in items) >= 2  # the slot refilled
    assert int(spine.r.hget(spine.keys.budget, raced[0])) == 0
    for i in items:
        if budgets.get(i.video_id, 0) > 0:
            assert int(spine.r.hget(spine.keys.budget, i.video_id)) == budgets[i.video_id] - 1
