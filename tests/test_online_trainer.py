"""The online trainer against real Neo4j and real Redis (world S, trained briefly): events
appended through the spine move the touched video's vector in Redis and in the graph, and the
safety gate refuses a model made worse on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import orjson
import pytest

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.learn.pipeline import learn
from graphrec.spine import Spine
from graphrec.spine.append import append_events
from graphrec.spine.state import sync_state
from graphrec.spine.stream import Entry
from graphrec.spine.trainer import (
    GROUP,
    OnlineTrainer,
    interactions_from,
    kind_weights,
    learner_from_graph,
)
from graphrec.world.generate import World


@dataclass
class Setup:
    graph: Graph
    spine: Spine
    world: World
    settings: Settings


@pytest.fixture(scope="module")
def trained(
    session_graph: Graph,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    world_s: World,
) -> Iterator[Setup]:
    """World S loaded and trained once for the module, Redis synced from it. The gate test
    runs first: it publishes nothing, so the graph still holds the batch model after it."""
    from graphrec.services.redis import redis_client
    from graphrec.world.load import load_world

    assert settings.redis_url is not None
    client = redis_client(settings.redis_url, settings)
    client.flushdb()
    client.close()
    session_graph.wipe()
    load_world(session_graph, world_s)
    s = settings.model_copy(
        update={
            "learn_checkpoint": tmp_path_factory.mktemp("model") / "lightgcn.pt",
            "learn_epochs": 4,
            "learn_eval_every": 2,
            "learn_batch_size": 1024,
            "learn_negatives": 128,
        }
    )
    learn(session_graph, settings=s, communities=False, item_item=False)
    spine = Spine.connect(settings.redis_url, s)
    sync_state(session_graph, spine)
    yield Setup(session_graph, spine, world_s, s)
    spine.close()
    session_graph.wipe()


def _vemb(spine: Spine, vid: str) -> np.ndarray:
    raw = spine.r.hget(spine.keys.vemb, vid)
    assert raw is not None
    return np.frombuffer(raw, dtype="<f4").copy()


def _graph_vec(graph: Graph, vid: str) -> tuple[np.ndarray, str]:
    row = graph.read("learn/video_embeddings", video_ids=[vid])[0]
    return np.asarray(row["embedding"], dtype=np.float32), row["source"]


def _approved(world: World) -> list[str]:
    return [v["id"] for v in world.videos if v["status"] == "approved"]


def test_the_gate_refuses_a_model_made_worse_on_purpose(trained: Setup) -> None:
    learner, batch = learner_from_graph(trained.graph, settings=trained.settings)
    # Held-out events the batch model predicts well: each user likes its top-3 unseen videos.
    vids = set(_approved(trained.world))
    cand = np.asarray([i for i, v in enumerate(batch.item_ids) if v in vids])
    events = []
    for j, u in enumerate(batch.user_ids[:120]):
        seen = set(learner.user_history(u))
        order = cand[np.argsort(-(batch.items[cand] @ batch.users[j]))]
        top = [batch.item_ids[i] for i in order if batch.item_ids[i] not in seen][:3]
        events += [
            {"event_id": f"g-{u}-{v}", "user_id": u, "kind": "like", "video_id": v} for v in top
        ]
    # Made worse on purpose: the videos' vectors scrambled before it learns anything.
    rng = np.random.default_rng(0)
    n = len(learner.items)
    w = learner.items.emb.weight
    w.data[:n] = w.data[rng.permutation(n)]
    trainer = OnlineTrainer(trained.spine, learner, batch, graph=trained.graph, min_users=50)
    touched = sorted({e["video_id"] for e in events})
    before = {v: _vemb(trained.spine, v) for v in touched}
    for i in range(0, len(events), 1000):
        append_events(trained.spine, events[i : i + 1000])
    trainer.drain(timeout_s=120)
    report = trainer.stats.gate
    assert report is not None and not report.publish
    assert report.online.ndcg < report.batch.ndcg - trainer.margin
    assert "below the batch model" in report.reason
    # Nothing it learned reached Redis or the graph.
    for v in touched:
        np.testing.assert_array_equal(_vemb(trained.spine, v), before[v])
        assert _graph_vec(trained.graph, v)[1] != "online"
    k = trained.spine.keys
    gate = orjson.loads(trained.spine.r.hget(k.progress, f"{GROUP}:gate"))
    assert gate["publish"] is False and gate["batch_ndcg_at_20"] > gate["online_ndcg_at_20"]


def test_events_through_the_stream_move_the_video_in_redis_and_the_graph(trained: Setup) -> None:
    learner, batch = learner_from_graph(trained.graph, settings=trained.settings)
    trainer = OnlineTrainer(trained.spine, learner, batch, graph=trained.graph)
    vids = set(_approved(trained.world))
    vid = next(v for v in batch.item_ids if v in vids)
    before = _vemb(trained.spine, vid)
    # The users least like this video (by the batch model) discover it and like it.
    uvec = {u: batch.users[i] for i, u in enumerate(batch.user_ids)}
    users = sorted(uvec, key=lambda u: float(uvec[u] @ before))[:40]
    audience = np.mean([uvec[u] for u in users], axis=0)
    for round_ in range(3):
        events = [
            {"event_id": f"t{round_}-{u}", "user_id": u, "kind": "like", "video_id": vid}
            for u in users
        ]
        assert append_events(trained.spine, events).accepted == len(users)
        trainer.drain(timeout_s=120)
    after = _vemb(trained.spine, vid)
    assert float(after @ audience) > float(before @ audience) + 0.05
    # The graph got the same vector, marked as learned online; the vector index reads it.
    in_graph, source = _graph_vec(trained.graph, vid)
    np.testing.assert_allclose(in_graph, after, atol=1e-5)
    assert source == "online"
    # A liking user's vector was published too, and marked for a nearline refresh.
    k = trained.spine.keys
    for u in users:  # every liking user's vector as the learner has it (float32 bytes)
        raw = trained.spine.r.get(k.user(u, "emb"))
        assert raw is not None
        mine = trainer.learner.users.unit()[trainer.learner.users.index[u]]
        np.testing.assert_allclose(np.frombuffer(raw, dtype="<f4"), mine, atol=1e-6)
    assert trained.spine.r.sismember(k.moved(k.part(users[0])), users[0])
    assert trained.spine.r.hget(k.user(users[0], "meta"), "emb_online") == b"1"
    summary = orjson.loads(trained.spine.r.hget(k.progress, f"{GROUP}:stats"))
    assert summary["events"] >= 3 * len(users) and summary["event_to_model_p99_s"] > 0
    assert summary["gate"]["publish"]


def test_stream_entries_become_interactions() -> None:
    s = Settings(environment="test")
    w = kind_weights(s)
    assert w["like"] == s.learn_weights["LIKED"] and w["skip"] < 0 and w["impression"] == 0
    entries = [
        Entry("gr:{p0}:events", "1000-0", {"k": "like", "u": "u1", "v": "v1", "id": "e1"}),
        Entry("gr:{p0}:events", "1001-0", {"k": "served", "u": "u1", "f": "f1", "v": "v2,v3"}),
        Entry("gr:{p0}:events", "1002-0", {"k": "follow", "u": "u1", "c": "c1", "id": "e2"}),
        Entry("gr:{p0}:events", "1003-0", {"k": "skip", "u": "u2", "v": "v4", "id": "e3"}),
    ]
    got = interactions_from(entries, w)
    assert list(got.user_ids) == ["u1", "u1", "u1", "u2"]
    assert list(got.item_ids) == ["v1", "v2", "v3", "v4"]
    assert got.weights.tolist() == [w["like"], 0.0, 0.0, w["skip"]]
    assert got.times is not None and got.times[0] == pytest.approx(1.0)


def test_a_due_rehearsal_never_holds_up_fresh_events(trained: Setup) -> None:
    """Fresh entries are learned and published first; a due rehearsal pass then gets one
    slice per read while the trainer keeps up, none while it is behind, and the rest of it
    when the stream is idle."""
    learner, batch = learner_from_graph(trained.graph, settings=trained.settings)
    learner.config.rehearse_every = 1  # every event makes a pass due
    learner.config.rehearse_batch = max(1, learner._replay_n // 5)  # ~6 slices an epoch
    trainer = OnlineTrainer(trained.spine, learner, batch, rehearse_slice_s=0.0)
    vid = next(v for v in batch.item_ids if v in set(_approved(trained.world)))
    users = [u for u in batch.user_ids if learner.user_history(u)][:30]
    before = _vemb(trained.spine, vid)
    k = trained.spine.keys
    for u in users:
        trained.spine.r.delete(k.user(u, "emb"))

    def like(tag: str, who: list[str]) -> None:
        events = [
            {"event_id": f"r{tag}-{u}", "user_id": u, "kind": "like", "video_id": vid} for u in who
        ]
        assert append_events(trained.spine, events).accepted == len(who)

    like("1", users[:10])
    assert trainer.step(block=False) == 10
    # The fresh likes reached Redis in this step, and the pass only began: one slice.
    assert not np.array_equal(_vemb(trained.spine, vid), before)
    assert trainer.stats.rehearsal_pairs == learner.config.rehearse_batch
    assert learner.rehearsal_due and learner.rehearsal_passes == 0
    in_pass = learner._replay_n  # the pass covers the reservoir as it was when it began
    # Behind (entries older than rehearse_lag_s when learned): no rehearsal at all.
    trainer.rehearse_lag_s = -1.0
    like("2", users[10:20])
    assert trainer.step(block=False) == 10
    assert trainer.stats.rehearsal_pairs == learner.config.rehearse_batch
    # Idle: the rest of the pass, a slice per step; then every user with a history was
    # folded in and published, also users without a fresh event.
    trainer.rehearse_lag_s = 1.0
    steps = 0
    while learner.rehearsal_passes == 0 and steps < 50:
        assert trainer.step(block=False) == 0
        steps += 1
    assert learner.rehearsal_passes == 1 and steps >= 4
    assert trainer.stats.rehearsal_pairs == learner.config.rehearse_epochs * in_pass == 2 * in_pass
    quiet = users[20:30]  # no event of theirs in the stream
    assert all(trained.spine.r.get(k.user(u, "emb")) is not None for u in quiet)
    summary = orjson.loads(trained.spine.r.hget(k.progress, f"{GROUP}:stats"))
    assert summary["rehearsal_passes"] == 1
