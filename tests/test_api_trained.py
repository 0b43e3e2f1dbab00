"""After POST /admin/train: embedding and community sources, and the online embedding."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed import FeedPolicy, Recommender
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key"}


def test_training_brings_embedding_and_community_sources(
    loaded_graph: Graph, settings: Settings, world_s: World, tmp_path: Path
) -> None:
    s = settings.model_copy(
        update={
            "learn_checkpoint": tmp_path / "lightgcn.pt",
            "learn_epochs": 4,
            "learn_eval_every": 2,
            "learn_batch_size": 1024,
            "learn_negatives": 128,
        }
    )
    with TestClient(create_app(s, graph=loaded_graph)) as c:
        r = c.post("/admin/train", headers=KEY)
        assert r.status_code == 200, r.text
        assert r.json()["communities"]
        uid = world_s.users[7]["id"]
        profile = c.get(f"/users/{uid}").json()
        assert profile["has_embedding"] and profile["communities"]
        body = c.get(f"/users/{uid}/feed", params={"n": 10, "record": "false"}).json()
        assert body["candidates"]["embedding"] > 0 and body["candidates"]["community"] > 0
        reasons = [i["reason"] for i in body["items"]]
        assert any("embedding similarity" in x or "your community" in x for x in reasons)

        # A like moves the online embedding at once; the frozen policy keeps the learned one.
        frozen = Recommender(loaded_graph, s, policy=FeedPolicy(realtime=False))
        before = [i.video_id for i in frozen.feed(uid, 10, record=False).items]
        liked = [i["video_id"] for i in body["items"]][:3]
        events = [
            {"event_id": f"t-{v}", "user_id": uid, "kind": "like", "video_id": v} for v in liked
        ]
        assert c.post("/events", json=events, headers=KEY).json()["accepted"] == 3
        c.app.state.writer.drain()  # type: ignore[attr-defined]  # the graph follows the stream
        assert c.get(f"/users/{uid}").json()["has_online_embedding"] is True
        after = c.get(f"/users/{uid}/feed", params={"n": 10, "record": "false"}).json()
        assert any("your recent activity" in i["reason"] for i in after["items"]) or (
            after["candidates"]["embedding"] > 0
        )
        assert [i.video_id for i in frozen.feed(uid, 10, record=False).items] == before
