"""Pure learning logic: LightGCN-paper metrics, AMI/purity, hold-out split, loaders, checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphrec.errors import CheckpointError, InvalidInput, NotFound
from graphrec.learn.communities import adjusted_mutual_info, louvain, purity
from graphrec.learn.export import split_holdout
from graphrec.learn.filters import GraphFilter, rk4_polynomial
from graphrec.learn.gowalla import load_split
from graphrec.learn.metrics import evaluate_ranking, recall_ndcg
from graphrec.learn.model import GraphRecModel, normalized_adjacency
from graphrec.learn.train import TrainConfig, load_checkpoint, save_checkpoint, train_model


def _dcg(hits: list[int]) -> float:
    return sum(h / math.log2(i + 2) for i, h in enumerate(hits))


@pytest.mark.parametrize(
    ("ranked", "truth", "k", "recall", "ndcg"),
    [
        ([1, 2, 3], [1], 3, 1.0, 1.0),
        ([1, 2, 3], [3], 3, 1.0, _dcg([0, 0, 1]) / _dcg([1])),
        ([1, 2, 3], [2, 9], 3, 0.5, _dcg([0, 1, 0]) / _dcg([1, 1])),
        ([1, 2, 3], [7, 8], 3, 0.0, 0.0),
        # more test items than K: IDCG holds K hits, recall divides by |test|
        ([1, 2], [1, 2, 3, 4], 2, 0.5, 1.0),
        ([5, 1], [1, 2, 3], 2, 1 / 3, _dcg([0, 1]) / _dcg([1, 1])),
    ],
)
def test_recall_ndcg_match_hand_computed(ranked, truth, k, recall, ndcg) -> None:
    r, n = recall_ndcg(np.array([ranked]), [np.array(truth)], k)
    assert r[0] == pytest.approx(recall)
    assert n[0] == pytest.approx(ndcg)


def test_evaluation_masks_training_items_and_skips_users_without_test() -> None:
    train = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    test = [np.array([1]), np.array([], dtype=np.int64), np.array([3])]
    # Every user prefers item 0 most, then 1, 2, 3: user 0's item 0 is masked, so 1 ranks first.
    scores = torch.tensor([[4.0, 3.0, 2.0, 1.0]])
    m = evaluate_ranking(lambda users: scores.repeat(len(users), 1), train, test, k=1)
    assert m.users == 2
    assert m.recall == pytest.approx(0.5)  # user 0 hits item 1; user 2 gets item 0, not 3
    assert m.coverage == pytest.approx(2 / 4)


def test_ami_and_purity() -> None:
    a = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert adjusted_mutual_info(a, [5, 5, 5, 7, 7, 7, 9, 9, 9]) == pytest.approx(1.0)
    assert purity(a, [5, 5, 5, 7, 7, 7, 9, 9, 9]) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 2000)
    assert abs(adjusted_mutual_info(truth, rng.integers(0, 4, 2000))) < 0.02
    assert purity(a, [0] * 9) == pytest.approx(1 / 3)


def test_louvain_is_deterministic_and_finds_two_cliques() -> None:
    block = np.ones((6, 6)) - np.eye(6)
    g = sp.block_diag([block, block]).tolil()
    g[0, 6] = g[6, 0] = 0.1
    g = g.tocsr()
    a, b = louvain(g, seed=3), louvain(g, seed=3)
    assert (a == b).all()
    assert adjusted_mutual_info([0] * 6 + [1] * 6, a) == pytest.approx(1.0)


def test_holdout_split_partitions_each_users_positives() -> None:
    m = sp.random(50, 80, density=0.2, format="csr", random_state=1, dtype=np.float32)
    train, test = split_holdout(m, fraction=0.25, seed=0)
    assert train.nnz + sum(len(t) for t in test) == m.nnz
    for u in range(50):
        assert not set(test[u]) & set(train[u].indices)
    with pytest.raises(InvalidInput):
        split_holdout(m, fraction=1.0)


def test_gowalla_loader_reads_lightgcn_format(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("0 1 2\n1 0\n2 3 1\n")
    (tmp_path / "test.txt").write_text("0 3\n1 2 3\n2 0\n")
    split = load_split(tmp_path)
    assert split.summary()["users"] == 3 and split.num_items == 4
    assert split.train[0].indices.tolist() == [1, 2]
    assert split.test[1].tolist() == [2, 3]
    with pytest.raises(NotFound):
        load_split(tmp_path / "missing")
    (tmp_path / "test.txt").write_text("0 x\n")
    with pytest.raises(InvalidInput):
        load_split(tmp_path)


def test_normalized_adjacency_is_symmetric_and_normalised() -> None:
    r = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0]], dtype=np.float32))
    a = normalized_adjacency(r).to_dense()
    assert torch.allclose(a, a.T)
    assert a[0, 2 + 1].item() == pytest.approx(1 / math.sqrt(2 * 2))  # user 0 - item 1


def test_graph_filters_rank_co_consumed_items_first() -> None:
    # Users 0-5 consume items 0 and 1 together; user 6 has item 0 only: item 1 should lead.
    r = np.zeros((9, 6), dtype=np.float32)
    r[:6, [0, 1]] = 1
    r[6, 0] = 1
    r[0, 4] = 1
    r[7:, [2, 3, 5]] = 1
    for kind in ("linear", "gfcf", "bspm"):
        f = GraphFilter.fit(sp.csr_matrix(r), kind=kind, rank=2)
        s = f.score(np.array([6]))[0]
        s[0] = -np.inf
        assert int(s.argmax()) == 1, kind
    assert float(rk4_polynomial(torch.tensor(0.0), 2.5)) == pytest.approx(1.0)


@pytest.mark.parametrize("init", ["normal", "spectral"])
def test_model_trains_and_recommends_on_two_blocks(init: str) -> None:
    r = np.zeros((20, 10), dtype=np.float32)
    r[:10, :5] = 1
    r[10:, 5:] = 1
    m = sp.csr_matrix(r)
    train, test = split_holdout(m, fraction=0.2, seed=0)
    res = train_model(
        train,
        test,
        TrainConfig(epochs=15, batch_size=64, negatives=5, eval_every=5, lr=0.05, init=init),
    )
    assert res.best is not None and res.best.recall > 0.9
    # Each user's held-out item is the one unseen item of their block: it must come first.
    top = res.model.recommend(res.adj, torch.tensor([0, 15]), 1, exclude=train)
    assert top[0, 0].item() in test[0] and top[1, 0].item() in test[15]
    assert "GraphRecModel(users=20, items=10" in repr(res.model)


@pytest.mark.parametrize("objective", ["softmax", "bpr"])
def test_two_fits_with_one_seed_give_the_same_weights_to_the_bit(objective: str) -> None:
    """A seeded fit repeats itself exactly on one machine: batches that pick a user or an
    item several times (every batch here) must sum their gradients in a fixed order. With
    ``x[idx]`` the rows' gradients were added by threads racing on CPU: three fits gave
    three different weights (last bits), and the demo's seeded day could part at a tie."""
    rng = np.random.default_rng(0)
    n = 12_000
    m = sp.csr_matrix(
        (np.ones(n, np.float32), (rng.integers(0, 400, n), rng.integers(0, 320, n))),
        shape=(400, 320),
    )
    m.data[:] = 1
    none = [np.array([], dtype=np.int64)] * 400
    cfg = TrainConfig(epochs=3, batch_size=2048, objective=objective, eval_every=100)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # a race needs two threads, whatever the machine has
    try:
        weights = [train_model(m, none, cfg).model.gnn.embedding.weight.detach() for _ in range(3)]
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(weights[0], w) for w in weights[1:])


def test_checkpoint_round_trip_and_clear_errors(tmp_path: Path) -> None:
    model = GraphRecModel(3, 2, embedding_dim=8)
    path = save_checkpoint(tmp_path / "m.pt", model, user_ids=["a", "b", "c"], item_ids=["x", "y"])
    back = load_checkpoint(path)
    assert back.user_ids == ["a", "b", "c"] and back.item_ids == ["x", "y"]
    assert torch.equal(back.model.gnn.embedding.weight, model.gnn.embedding.weight)
    assert path.with_suffix(".ids.json").is_file()

    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    blob = torch.load(path, weights_only=True)
    blob["user_ids"] = ["a", "b"]
    torch.save(blob, tmp_path / "short.pt")
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(tmp_path / "short.pt")
    blob = torch.load(path, weights_only=True)
    blob["state_dict"]["gnn.embedding.weight"] = torch.zeros(4, 8)
    torch.save(blob, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="consistent model"):
        load_checkpoint(tmp_path / "shape.pt")
