"""The feed through the real HTTP app against real Neo4j (world S, seed 7)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed import FeedPolicy, Recommender
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key"}


@pytest.fixture
def client(loaded_graph: Graph, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        yield c


def settle(client: TestClient) -> None:
    """Let the graph writer apply what the stream holds (the graph lags it a little)."""
    client.app.state.writer.drain()  # type: ignore[attr-defined]


def feed(client: TestClient, user_id: str, n: int = 10, **params: str) -> list[dict]:
    r = client.get(f"/users/{user_id}/feed", params={"n": n, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def check_feed(items: list[dict], n: int) -> None:
    """Full, no duplicates, within the diversity caps, every item explained."""
    assert len(items) == n
    assert len({i["video_id"] for i in items}) == n
    assert max(Counter(i["creator_id"] for i in items).values()) <= 2
    tags = Counter(t for i in items for t in set(i["tags"]))
    assert max(tags.values()) <= max(2, math.ceil(n * 0.4))
    for i in items:
        assert (i["source"] and "->" in i["reason"]) or "~" in i["reason"], i


def likers(world: World) -> str:
    """The world user with the most likes."""
    from graphrec.world.generate import KINDS

    inter = world.interactions
    users = inter.user[inter.kind == KINDS.index("like")]
    return world.users[int(Counter(users.tolist()).most_common(1)[0][0])]["id"]


def tagged(world: World, tag: str, k: int) -> list[str]:
    return [v["id"] for v in world.videos if tag in v["hashtags"] and v["status"] == "approved"][:k]


def test_fresh_user_gets_declared_interests_trending_and_cold_start(client: TestClient) -> None:
    r = client.post("/users", json={"id": "new1", "interests": ["dance", "#Food"]}, headers=KEY)
    assert r.status_code == 201, r.text
    assert r.json()["interests"] == ["dance", "food"]
    items = feed(client, "new1")
    check_feed(items, 10)
    sources = Counter(i["source"] for i in items)
    assert sources["cold_start"] >= 2  # the fixed share for new content
    assert sources["interest"] >= 1 and sources["pools"] >= 1
    assert any("interested in #" in i["reason"] for i in items)
    # A user with no interests at all still gets a full feed.
    client.post("/users", json={"id": "blank"}, headers=KEY)
    check_feed(feed(client, "blank"), 10)


def test_history_feed_never_repeats_seen_videos(
    client: TestClient, loaded_graph: Graph, world_s: World
) -> None:
    uid = likers(world_s)
    seen = {
        r["video_id"] for r in loaded_graph.read("serving/user_seen", user_id=uid, limit=10_000)
    }
    assert seen
    first = feed(client, uid)
    check_feed(first, 10)
    assert not seen & {i["video_id"] for i in first}
    assert any(i["reason"].startswith("liked #") for i in first)
    second = feed(client, uid)
    assert not {i["video_id"] for i in first} & {i["video_id"] for i in second}
    settle(client)
    after = {
        r["video_id"] for r in loaded_graph.read("serving/user_seen", user_id=uid, limit=10_000)
    }
    assert after == seen | {i["video_id"] for i in first + second}  # impressions recorded


def test_likes_bring_more_dance_and_skips_drop_a_creator(
    client: TestClient, world_s: World
) -> None:
    client.post("/users", json={"id": "fan"}, headers=KEY)
    before = sum("dance" in i["tags"] for i in feed(client, "fan"))
    likes = [
        {"event_id": f"like-{v}", "user_id": "fan", "kind": "like", "video_id": v}
        for v in tagged(world_s, "dance", 3)
    ]
    r = client.post("/events", json=likes, headers=KEY)
    assert r.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    after = feed(client, "fan")
    n_dance = sum("dance" in i["tags"] for i in after)
    assert n_dance > before and n_dance >= 3
    assert any("#dance" in i["reason"] for i in after)
    settle(client)
    profile = client.get("/users/fan").json()
    assert profile["interests"][0]["tag"] in {"dance"} or any(
        i["tag"] == "dance" and i["weight"] > 0 for i in profile["interests"]
    )
    assert profile["has_online_embedding"] in (True, False)  # set once embeddings exist

    # Skip two videos of the creator that tops the feed: that creator drops out.
    creator = after[0]["creator_id"]
    skips = [
        {
            "event_id": f"skip-{i['video_id']}",
            "user_id": "fan",
            "kind": "skip",
            "video_id": i["video_id"],
            "watch_ms": 800,
        }
        for i in after
        if i["creator_id"] == creator
    ]
    extra = [
        v["id"]
        for v in world_s.videos
        if v["creator"] == creator and v["id"] not in {s["video_id"] for s in skips}
    ][: max(0, 2 - len(skips))]
    skips += [
        {"event_id": f"skip-{v}", "user_id": "fan", "kind": "skip", "video_id": v} for v in extra
    ]
    assert client.post("/events", json=skips, headers=KEY).json()["accepted"] == len(skips)
    for _ in range(2):
        nxt = feed(client, "fan")
        assert creator not in {i["creator_id"] for i in nxt}, [
            (i["creator_id"], i["score"], i["source"]) for i in nxt
        ]


def test_cold_start_slots_count_budgets_down(client: TestClient) -> None:
    client.post("/users", json={"id": "cs"}, headers=KEY)
    items = feed(client, "cs", n=5)
    cold = [i for i in items if i["source"] == "cold_start"]
    assert cold and all("cold-start pool" in i["reason"] for i in cold)
    vid = cold[0]["video_id"]
    settle(client)
    before = client.get(f"/videos/{vid}").json()
    assert before["pool"]["id"] == "cold_start" and before["pool"]["served"] >= 1
    client.post("/users", json={"id": "cs2"}, headers=KEY)
    for _ in range(3):
        feed(client, "cs2", n=5)
    settle(client)
    pools = {p["pool_id"]: p for p in client.get("/pools").json()}
    assert set(pools) >= {"cold_start", "boost", "trending", "long_tail"}
    assert pools["cold_start"]["served"] > 0


def test_scenarios_shift_the_mix(loaded_graph: Graph, settings: Settings, world_s: World) -> None:
    rec = Recommender(loaded_graph, settings)
    uid = likers(world_s)

    def mean_ms(sc: str | None) -> float:
        items = rec.feed(uid, 10, scenario=sc, record=False).items
        durations = {v["id"]: v["duration_ms"] for v in world_s.videos}
        return sum(durations[i.video_id] for i in items) / len(items)

    assert mean_ms("commute") < mean_ms(None) < mean_ms("tv")
    binge = rec.feed(uid, 10, scenario="binge", record=False).items
    assert sum(i.source == "cold_start" for i in binge) >= 3


def test_realtime_off_ignores_online_updates(
    client: TestClient, loaded_graph: Graph, settings: Settings, world_s: World
) -> None:
    client.post("/users", json={"id": "abl", "interests": ["gaming"]}, headers=KEY)
    frozen = Recommender(loaded_graph, settings, policy=FeedPolicy(realtime=False))
    live = Recommender(loaded_graph, settings)

    def ids(rec: Recommender) -> list[str]:
        return [i.video_id for i in rec.feed("abl", 10, record=False).items]

    frozen_before, live_before = ids(frozen), ids(live)
    events = []
    for v in tagged(world_s, "pets", 4):
        events.append({"event_id": f"i-{v}", "user_id": "abl", "kind": "impression", "video_id": v})
        events.append({"event_id": f"l-{v}", "user_id": "abl", "kind": "like", "video_id": v})
    assert client.post("/events", json=events, headers=KEY).json()["accepted"] == 8
    liked = {e["video_id"] for e in events}
    assert ids(frozen) == [v for v in frozen_before if v not in liked] or (
        not (set(frozen_before) & liked) and ids(frozen) == frozen_before
    )
    live_after = live.feed("abl", 10, record=False).items
    assert [i.video_id for i in live_after] != live_before
    assert sum("pets" in i.tags for i in live_after) >= 2
