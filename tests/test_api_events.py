"""POST /events through the real HTTP app: stored once, counters, profile, partial batches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.spine.append import video_facts
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key"}


@pytest.fixture
def client(loaded_graph: Graph, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        yield c


def settle(client: TestClient) -> None:
    """Let the graph writer apply what the stream holds (the graph lags it a little)."""
    client.app.state.writer.drain()  # type: ignore[attr-defined]


def counters(client: TestClient, vid: str) -> dict[str, int]:
    settle(client)
    r = client.get(f"/videos/{vid}")
    assert r.status_code == 200, r.text
    return r.json()["counters"]


def test_events_are_stored_once_and_move_counters(client: TestClient, world_s: World) -> None:
    uid = world_s.users[3]["id"]
    vid = next(v["id"] for v in world_s.videos if v["status"] == "approved")
    creator = next(v["creator"] for v in world_s.videos if v["id"] == vid)
    before = counters(client, vid)
    followers = client.get(f"/creators/{creator}").json()["followers"]
    batch = [
        {"event_id": "a1", "user_id": uid, "kind": "impression", "video_id": vid},
        {"event_id": "a2", "user_id": uid, "kind": "view", "video_id": vid, "watch_ms": 4_000},
        {"event_id": "a3", "user_id": uid, "kind": "complete", "video_id": vid},
        {
            "event_id": "a4",
            "user_id": uid,
            "kind": "like",
            "video_id": vid,
            "at": 1_700_000_000_000,
        },
        {"event_id": "a5", "user_id": uid, "kind": "comment", "video_id": vid},
        {"event_id": "a6", "user_id": uid, "kind": "share", "video_id": vid},
        {"event_id": "a7", "user_id": uid, "kind": "follow", "video_id": vid},
        {"event_id": "a8", "user_id": uid, "kind": "skip", "video_id": vid, "watch_ms": 500},
    ]
    r = client.post("/events", json=batch, headers=KEY)
    assert r.status_code == 200 and r.json() == {"accepted": 8, "duplicates": 0, "rejected": []}
    after = counters(client, vid)
    for k in (
        "impressions",
        "views",
        "completions",
        "likes",
        "comments",
        "shares",
        "follows",
        "skips",
    ):
        assert after[k] == before[k] + 1, k
    assert after["watch_ms"] == before["watch_ms"] + 4_500
    assert client.get(f"/creators/{creator}").json()["followers"] == followers + 1

    # The same batch again (a client retry), plus a repeat inside one batch: nothing counted.
    r = client.post("/events", json=[*batch, batch[3]], headers=KEY)
    assert r.json() == {"accepted": 0, "duplicates": 9, "rejected": []}
    assert counters(client, vid) == after
    # One event id reused with another kind is still the same event.
    r = client.post("/events", json={**batch[3], "kind": "share"}, headers=KEY)
    assert r.json()["duplicates"] == 1 and counters(client, vid) == after

    settle(client)
    profile = client.get(f"/users/{uid}").json()
    assert profile["liked"] >= 1 and profile["skipped"] >= 1
    tags = set(next(v["hashtags"] for v in world_s.videos if v["id"] == vid))
    assert tags & {i["tag"] for i in profile["interests"]}


def test_a_batch_stores_the_good_and_reports_each_bad(client: TestClient, world_s: World) -> None:
    uid = world_s.users[5]["id"]
    vid = world_s.videos[10]["id"]
    batch = [
        {"event_id": "g1", "user_id": uid, "kind": "like", "video_id": vid},
        {"event_id": "b1", "user_id": uid, "kind": "wave", "video_id": vid},
        {"event_id": "b2", "user_id": uid, "kind": "view"},
        {"event_id": "b3", "user_id": "nobody", "kind": "view", "video_id": vid},
        {"event_id": "b4", "user_id": uid, "kind": "view", "video_id": "v-missing"},
        {"user_id": uid, "kind": "view", "video_id": vid},
        {"event_id": "b6", "user_id": uid, "kind": "view", "video_id": vid, "watch_ms": -5},
        {"event_id": "b7", "user_id": uid, "kind": "follow", "creator_id": "c-missing"},
        "not an event",
        {"event_id": "g2", "user_id": uid, "kind": "view", "video_id": vid, "watch_ms": 1200},
    ]
    r = client.post("/events", json=batch, headers=KEY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2 and body["duplicates"] == 0
    reasons = {x["index"]: x["reason"] for x in body["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert reasons[1].startswith("kind:")
    assert reasons[2].startswith("video_id:")
    assert "unknown user 'nobody'" in reasons[3] and reasons[3].startswith("user_id:")
    assert reasons[4].startswith("video_id:") and "unknown video" in reasons[4]
    assert reasons[5].startswith("event_id:")
    assert reasons[6].startswith("watch_ms:")
    assert reasons[7].startswith("creator_id:")
    assert reasons[8].startswith("event:")


def test_a_batch_with_nothing_good_is_422(client: TestClient) -> None:
    r = client.post("/events", json=[{"event_id": "x", "kind": "like"}], headers=KEY)
    assert r.status_code == 422
    assert "user_id" in r.json()["rejected"][0]["reason"]
    r = client.post(
        "/events",
        json={"event_id": "x", "user_id": "u", "kind": "like", "video_id": "v", "extra": 1},
        headers=KEY,
    )
    assert r.status_code == 422 and "extra" in r.json()["rejected"][0]["reason"]
    r = client.post(
        "/events", content=b"{not json", headers={**KEY, "Content-Type": "application/json"}
    )
    assert r.status_code == 422


def test_a_command_redis_refuses_for_good_is_a_500_and_the_retry_loses_nothing(
    client: TestClient, world_s: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal a retry does not cure (here a user's tag weights held as a string: the
    append script's HMGET answers WRONGTYPE) is a 500, not the 503 "Redis is unavailable"
    that tells a client to retry; Redis's words go to the log only. The script had appended
    the event before it failed (Redis does not roll a script back): once the key is fixed the
    retry is acknowledged as a duplicate and the event is in the stream once."""
    spine = client.app.state.spine  # type: ignore[attr-defined]
    uid = world_s.users[9]["id"]
    approved = [v["id"] for v in world_s.videos if v["status"] == "approved"][:200]
    facts = video_facts(spine, approved)
    vid = next(v for v in approved if facts.get(v, {}).get("tags"))
    tags = spine.keys.user(uid, "tags")
    saved = spine.r.dump(tags)
    spine.r.delete(tags)
    spine.r.set(tags, "not a hash")
    batch = [{"event_id": "wt-1", "user_id": uid, "kind": "like", "video_id": vid}]
    with caplog.at_level("WARNING"):
        r = client.post("/events", json=batch, headers=KEY)
    assert r.status_code == 500, r.text
    assert "Redis is unavailable" not in r.text and "WRONGTYPE" not in r.text
    assert any("StoreFault" in m and "WRONGTYPE" in m for m in caplog.messages)
    spine.r.delete(tags)
    if saved is not None:
        spine.r.restore(tags, 0, saved)
    r = client.post("/events", json=batch, headers=KEY)
    assert r.status_code == 200 and r.json()["accepted"] + r.json()["duplicates"] == 1
    stream = spine.keys.stream(spine.keys.part(uid))
    ids = [f[b"id"] for _, f in spine.r.xrange(stream) if f.get(b"id") == b"wt-1"]
    assert ids == [b"wt-1"]
