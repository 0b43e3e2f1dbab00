"""After POST /admin/train: embedding and community sources, and the online embedding."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed import FeedPolicy, Recommender
from graphrec.spine.state import sync_nearline
from graphrec.world.generate import World

pytestmark = pytest.mark.slow  # trains a model through the API

KEY = {"X-API-Key": "graphrec-dev-api-key"}


def wait_for(c: TestClient, job_id: str, polls: int = 1200) -> dict:
    """Poll a background job until it is no longer running (progress moves meanwhile)."""
    stages = set()
    for _ in range(polls):
        state = c.get(f"/admin/jobs/{job_id}", headers=KEY).json()
        stages.add(state["stage"])
        if state["status"] != "running":
            state["stages_seen"] = sorted(s for s in stages if s)
            return state
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still running after {polls} polls: {state}")


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
        assert r.status_code == 202, r.text
        job = r.json()["job_id"]
        again = c.post("/admin/train", headers=KEY)  # one training job at a time
        assert again.status_code == 409 and job in again.json()["detail"]
        assert c.get("/admin/jobs/nope", headers=KEY).status_code == 404
        state = wait_for(c, job)
        assert state["status"] == "succeeded", state
        assert state["result"]["communities"] and state["stage"] == "done"
        assert state["result"]["item_item"]["method"] == "ease"
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
        # The writer's housekeeping refreshes the nearline lists of users whose online
        # embedding moved, in the background; run that refresh now for this user.
        sync_nearline(loaded_graph, c.app.state.spine, [uid])  # type: ignore[attr-defined]
        after = c.get(f"/users/{uid}/feed", params={"n": 10, "record": "false"}).json()
        # Before the likes the embedding source spoke for the learned profile; after them it
        # speaks for the online embedding, and what it proposes changed.
        assert not any("your recent activity" in x for x in reasons)
        assert any("your recent activity ~" in i["reason"] for i in after["items"])
        emb_before = {i["video_id"] for i in body["items"] if "embedding" in i["sources"]}
        emb_after = {i["video_id"] for i in after["items"] if "embedding" in i["sources"]}
        assert emb_after != emb_before
        assert [i.video_id for i in frozen.feed(uid, 10, record=False).items] == before
