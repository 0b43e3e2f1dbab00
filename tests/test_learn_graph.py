"""Learning against a real Neo4j with world S: export -> train -> write-back, retrieval by
vector index, cold start. The model is trained once (one load, one training) on the session's world S."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from support.shared import SharedGraph

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.learn.pipeline import TrainingRun, learn, recompute_communities
from graphrec.learn.train import load_checkpoint
from graphrec.world.generate import World
from graphrec.world.load import load_world

pytestmark = pytest.mark.slow  # a model trained on world S


@dataclass
class Trained:
    graph: Graph
    world: World
    run: TrainingRun
    settings: Settings


@pytest.fixture
def trained(
    shared_graph: SharedGraph, world_s: World, tmp_path_factory: pytest.TempPathFactory
) -> Trained:
    """World S (the session's fixture) loaded and trained on, built once while no other test
    changes the graph in between."""

    def build(graph: Graph) -> Trained:
        load_world(graph, world_s)
        s = Settings(
            environment="test",
            learn_checkpoint=tmp_path_factory.mktemp("model") / "lightgcn.pt",
            learn_epochs=10,
            learn_eval_every=5,
            learn_batch_size=1024,
            learn_negatives=128,
        )
        run = learn(graph, settings=s)
        return Trained(graph, world_s, run, s)

    return shared_graph.holding("learn: world S trained", build)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_export_train_write_back_round_trips_ids(trained: Trained) -> None:
    g, world, run = trained.graph, trained.world, trained.run
    assert run.export.user_ids == sorted(u["id"] for u in world.users)
    assert run.export.video_ids == sorted(v["id"] for v in world.videos)
    ckpt = load_checkpoint(run.checkpoint)
    assert ckpt.user_ids == run.export.user_ids and ckpt.item_ids == run.export.video_ids
    assert Path(run.curve_png).is_file() and run.checkpoint.with_suffix(".ids.json").is_file()
    # The stored embeddings, read back by id, rank each user's own training positives above
    # the videos they never touched (a write-back that mixed ids up would rank at chance).
    # Read from the graph and the export's matrix only, not the write-back's own function.
    m = run.export.matrix.tocsr()
    users = run.export.user_ids[::17]
    u_emb = {r["user_id"]: r for r in g.read("learn/user_embeddings", user_ids=users)}
    v_rows = g.read("learn/video_embeddings", video_ids=run.export.video_ids)
    v_emb = np.array([r["embedding"] for r in v_rows], dtype=float)
    assert [r["video_id"] for r in v_rows] == run.export.video_ids
    aucs = []
    for uid in users:
        i = run.export.user_ids.index(uid)
        pos = m.indices[m.indptr[i] : m.indptr[i + 1]]
        if len(pos) == 0:
            continue
        assert u_emb[uid]["source"] == "trained"
        scores = v_emb @ np.array(u_emb[uid]["embedding"])
        neg = np.setdiff1d(np.arange(len(v_rows)), pos)
        aucs.append(float((scores[pos][:, None] > scores[neg][None, :]).mean()))
    assert len(aucs) > 10 and float(np.mean(aucs)) > 0.8, np.mean(aucs)
    counts = {(r["label"], r["source"]): r["nodes"] for r in g.read("learn/embedding_counts")}
    assert counts[("Tag", "trained")] > 0 and counts[("Creator", "trained")] > 0
    assert run.result.best is not None and run.result.best.recall > 0.2


def test_learn_finds_communities_from_the_embeddings_it_wrote(trained: Trained) -> None:
    """One export: the communities learn() found equal those found afresh from the saved
    checkpoint, and they are in the graph."""
    run = trained.run
    assert run.communities is not None and run.communities.source == "embedding"
    assert run.communities_written and run.communities.count > 1
    export, again, _ = recompute_communities(
        trained.graph, settings=trained.settings, source="embedding", checkpoint=run.checkpoint
    )
    assert export.user_ids == run.export.user_ids
    assert np.array_equal(again.labels, run.communities.labels)


def test_recommendations_follow_latent_favourite_categories(trained: Trained) -> None:
    g, world = trained.graph, trained.world
    theta = world.latent["user_interests"]
    vcat = world.latent["video_category"]
    fav = np.argsort(-theta, axis=1)[:, :3]
    shares, baselines = [], []
    cat_share = np.bincount(vcat, minlength=theta.shape[1]) / len(vcat)
    for i, user in enumerate(world.users[::3]):
        idx = i * 3
        rows = g.read("learn/similar_videos_for_user", user_id=user["id"], k=10)
        if not rows:
            continue
        cats = [vcat[int(r["video_id"][1:])] for r in rows]
        shares.append(np.isin(cats, fav[idx]).mean())
        baselines.append(cat_share[fav[idx]].sum())
    assert len(shares) > 60
    # Random videos would land in a user's top-3 latent categories this often:
    baseline = float(np.mean(baselines))
    share = float(np.mean(shares))
    assert baseline < 0.45
    assert share > baseline + 0.25, (share, baseline)


def test_new_video_is_embedded_near_its_tags_videos(trained: Trained) -> None:
    g, world = trained.graph, trained.world
    tag = world.tags[0]["id"]
    other_cat = {t["id"]: t["category"] for t in world.tags}
    creator = world.creators[0]["id"]
    g.write(
        "world/merge_videos",
        rows=[
            {
                "id": "v-new-1",
                "creator": creator,
                "caption": "fresh",
                "hashtags": [tag],
                "duration_ms": 15_000,
                "created_at": world.now_ms,
                "status": "approved",
                "reasons": [],
                "pool": "cold_start",
                "budget": 250,
                "impressions": 0,
                "views": 0,
                "completions": 0,
                "likes": 0,
                "comments": 0,
                "shares": 0,
                "follows": 0,
                "watch_ms": 0,
            }
        ],
        now=world.now_ms,
    )
    assert g.read("learn/video_embeddings", video_ids=["v-new-1"])[0]["embedding"] is None
    rows = g.write("learn/embed_new_video", video_id="v-new-1")
    assert rows == [{"video_id": "v-new-1", "dims": trained.settings.embedding_dim}]
    new = np.array(g.read("learn/video_embeddings", video_ids=["v-new-1"])[0]["embedding"])
    assert np.linalg.norm(new) > 0.1
    tagged = [v["id"] for v in world.videos if tag in v["hashtags"]]
    untagged = [
        v["id"] for v in world.videos if all(other_cat[t] != other_cat[tag] for t in v["hashtags"])
    ]
    emb = {
        r["video_id"]: np.array(r["embedding"])
        for r in g.read("learn/video_embeddings", video_ids=tagged + untagged)
        if r["embedding"]
    }
    near = np.mean([_cos(new, emb[v]) for v in tagged if v in emb])
    far = np.mean([_cos(new, emb[v]) for v in untagged if v in emb])
    assert near > far + 0.2, (near, far)
    # Retrieval by the vector index: a user whose taste is exactly this video finds it first.
    g.write(
        "world/merge_users",
        rows=[
            {
                "id": "u-probe",
                "name": "probe",
                "created_at": world.now_ms,
                "last_active_at": world.now_ms,
                "active_hour": 20,
            }
        ],
    )
    g.write(
        "learn/write_user_embeddings",
        rows=[{"id": "u-probe", "embedding": new.tolist(), "source": "cold_start"}],
        at=world.now_ms,
    )
    found = g.read("learn/similar_videos_for_user", user_id="u-probe", k=5)
    assert found[0]["video_id"] == "v-new-1" and found[0]["score"] == pytest.approx(1.0, abs=1e-3)
    # A second call keeps the embedding (idempotent) ...
    assert g.write("learn/embed_new_video", video_id="v-new-1") == [
        {"video_id": "v-new-1", "dims": trained.settings.embedding_dim}
    ]
    again = g.read("learn/video_embeddings", video_ids=["v-new-1"])[0]
    assert again["source"] == "cold_start" and np.allclose(again["embedding"], new)
    # ... and a trained video's embedding is never overwritten by the cold-start rule.
    trained_vid = next(
        r["video_id"]
        for r in g.read("learn/video_embeddings", video_ids=tagged)
        if r["source"] == "trained"
    )
    before = g.read("learn/video_embeddings", video_ids=[trained_vid])[0]
    g.write("learn/embed_new_video", video_id=trained_vid)
    after = g.read("learn/video_embeddings", video_ids=[trained_vid])[0]
    assert after == before


def test_new_user_is_embedded_from_first_events(trained: Trained) -> None:
    g, world = trained.graph, trained.world
    g.write(
        "world/merge_users",
        rows=[
            {
                "id": "u-new-1",
                "name": "newbie",
                "created_at": world.now_ms,
                "last_active_at": world.now_ms,
                "active_hour": 20,
            }
        ],
    )
    assert g.write("learn/embed_new_user", user_id="u-new-1") == []  # nothing to embed from
    tag = world.tags[0]["id"]
    liked = [v["id"] for v in world.videos if tag in v["hashtags"]][:3]
    g.write(
        "world/create_interactions",
        batch_id="learn-test-likes",
        rows=[{"user": "u-new-1", "items": [[v, "LIKED", world.now_ms, 0] for v in liked]}],
    )
    rows = g.write("learn/embed_new_user", user_id="u-new-1")
    assert rows == [{"user_id": "u-new-1", "dims": trained.settings.embedding_dim}]
    found = g.read("learn/similar_videos_for_user", user_id="u-new-1", k=10)
    assert len(found) >= 5
    vcat = world.latent["video_category"]
    cats = [t["category"] for t in world.tags]
    tag_cat = cats[0]
    same = [
        r
        for r in found
        if r["video_id"].startswith("v0")
        and list(dict.fromkeys(cats))[vcat[int(r["video_id"][1:])]] == tag_cat
    ]
    assert len(same) >= len(found) // 2
    similar = g.read("learn/similar_users", user_id="u-new-1", k=5)
    assert len(similar) == 5 and all(r["user_id"] != "u-new-1" for r in similar)
