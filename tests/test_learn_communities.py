"""Interest communities on a planted-community world, and checkpoints that do not match."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.errors import CheckpointError
from graphrec.learn.communities import adjusted_mutual_info, purity
from graphrec.learn.model import GraphRecModel
from graphrec.learn.pipeline import recompute_communities, write_back_checkpoint
from graphrec.learn.train import save_checkpoint
from graphrec.world.generate import WorldSize, generate
from graphrec.world.load import load_world

# Three planted interest groups with distinct favourite categories (seed 4), ~20 positives a user.
PLANTED = WorldSize(
    "P",
    users=300,
    creators=40,
    videos=600,
    tags_per_category=3,
    interactions=80_000,
    communities=3,
)


def test_communities_recover_planted_groups(graph: Graph, tmp_path: Path) -> None:
    world = generate(PLANTED, seed=4)
    load_world(graph, world)
    s = Settings(environment="test", learn_checkpoint=tmp_path / "none.pt")
    export, comm, written = recompute_communities(graph, settings=s, source="auto")
    assert comm.source == "co-engagement"  # no checkpoint: co-engagement neighbours
    truth = world.latent["user_community"][[int(u[1:]) for u in export.user_ids]]
    members = comm.labels >= 0
    assert members.mean() > 0.95
    assert adjusted_mutual_info(truth[members], comm.labels[members]) > 0.8
    assert purity(truth[members], comm.labels[members]) > 0.9
    rows = graph.read("learn/community_summary", limit=50)
    assert len(rows) == written["communities"] == comm.count
    assert sum(r["members"] for r in rows) == written["memberships"] == int(members.sum())
    assert all(r["size"] == r["members"] and r["label"] and r["top_tags"] for r in rows)
    # Deterministic per seed, and a recompute replaces rather than adds.
    _, again, _ = recompute_communities(graph, settings=s, source="co-engagement")
    assert np.array_equal(again.labels, comm.labels)
    assert len(graph.read("learn/community_summary", limit=50)) == comm.count


def test_mismatched_checkpoint_is_a_clear_error(loaded_graph: Graph, tmp_path: Path) -> None:
    model = GraphRecModel(3, 2, embedding_dim=8)
    path = save_checkpoint(
        tmp_path / "other.pt", model, user_ids=["a", "b", "c"], item_ids=["x", "y"]
    )
    s = Settings(environment="test", learn_checkpoint=path)
    with pytest.raises(CheckpointError, match="trained on another graph"):
        write_back_checkpoint(loaded_graph, path, settings=s)
    with pytest.raises(CheckpointError, match="does not match the graph"):
        recompute_communities(loaded_graph, settings=s, source="embedding")
    path.write_bytes(path.read_bytes()[:100])  # truncated on disk
    with pytest.raises(CheckpointError):
        write_back_checkpoint(loaded_graph, path, settings=s)
