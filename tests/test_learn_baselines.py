"""Baselines, item-to-item and the replay's split and scoring: pure logic, parametrised cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.bench.replay import last_share, score_lists
from graphrec.errors import InvalidInput
from graphrec.learn.baselines import EASE, ItemKNN, Popularity, choose, top_k_rows
from graphrec.learn.filters import GraphFilter
from graphrec.learn.similar import fit_item_item, load_lists, save_lists


def planted(n_users: int = 60, seed: int = 0) -> sp.csr_matrix:
    """Two tastes: users 0..29 engage with items 0..9, the rest with items 10..19; item 20
    is liked by everyone (popular); each user misses some of their block."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(n_users):
        block = range(10) if u < n_users // 2 else range(10, 20)
        for i in block:
            if rng.random() < 0.6:
                rows.append(u)
                cols.append(i)
        rows.append(u)
        cols.append(20)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, 21))


@pytest.mark.parametrize(
    "model", [lambda x: EASE.fit(x, lam=5.0), lambda x: ItemKNN.fit(x, k=5)], ids=["ease", "knn"]
)
def test_item_item_models_recommend_within_the_taste(model: object) -> None:
    x = planted()
    m = model(x)  # type: ignore[operator]
    scores = m.score(np.array([0, 59])).numpy()
    scores[x[[0, 59]].nonzero()] = -np.inf
    assert scores[0].argmax() < 10  # a block-A user gets a block-A item
    assert 10 <= scores[1].argmax() < 20


def test_popularity_ranks_by_count() -> None:
    x = planted()
    top = Popularity.fit(x).score(np.array([0])).numpy()[0].argmax()
    assert top == 20


def test_ease_refuses_a_catalogue_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    import graphrec.learn.baselines as b

    monkeypatch.setattr(b, "EASE_MAX_ITEMS", 10)
    with pytest.raises(InvalidInput, match="more than 10"):
        EASE.fit(planted())


def test_choose_takes_the_best_on_validation() -> None:
    x = planted()
    train = x.copy().tolil()
    valid = []
    for u in range(x.shape[0]):
        items = x[u].indices[x[u].indices < 20]
        train[u, items[-1]] = 0
        valid.append(np.array([items[-1]]))
    train = sp.csr_matrix(train)
    train.eliminate_zeros()
    # k=1 neighbour per item cannot reach the held-out item as well as 8 can.
    best, figures = choose(lambda k: ItemKNN.fit(train, k=int(k)).score, [1, 8], train, valid)
    assert best == 8 and figures[8].ndcg > figures[1].ndcg


def test_top_k_rows_keeps_the_largest() -> None:
    m = sp.csr_matrix(np.array([[0.1, 0.5, 0.3, 0.0], [0.0, 0.0, 0.0, 0.0]], np.float32))
    kept = top_k_rows(m, 2).toarray()
    assert kept[0].tolist() == pytest.approx([0.0, 0.5, 0.3, 0.0])
    assert kept[1].sum() == 0


def test_fit_item_item_chooses_lambda_and_keeps_positive_neighbours() -> None:
    model = fit_item_item(planted(), neighbours=4, lambdas=(1.0, 1000.0))
    assert model.method == "ease" and model.lam in (1.0, 1000.0)
    assert set(model.validation) == {"lambda=1", "lambda=1000"}
    n = model.neighbours.toarray()
    assert (n >= 0).all() and ((n > 0).sum(axis=1) <= 4).all()
    assert n[0, :10].sum() > n[0, 10:20].sum()  # item 0's neighbours are block A's


def test_fit_item_item_chooses_knn_or_filter_for_large_catalogues() -> None:
    model = fit_item_item(planted(), neighbours=3, max_items=5, filter_rank=4)
    assert model.method in ("item_knn", "filter") and model.lam is None
    assert set(model.validation) == {"item_knn", "filter"}
    best = max(("item_knn", "filter"), key=lambda m: model.validation[m]["ndcg"])
    assert model.method == best
    n = model.neighbours.toarray()
    assert (n >= 0).all() and ((n > 0).sum(axis=1) <= 3).all()
    assert n[0, 1:10].sum() > n[0, 10:20].sum()  # item 0's neighbours are block A's


def test_filter_item_rows_are_the_filters_own_rows() -> None:
    x = planted()
    filt = GraphFilter.fit(x, kind="bspm", rank=4)
    lists = filt.item_rows(x.shape[1] - 1).toarray()
    eye = sp.identity(x.shape[1], dtype=np.float32, format="csr")
    for i in (0, 12, 20):
        row = filt.score_rows(eye[[i]]).numpy()[0]
        row[i] = 0.0
        assert lists[i] == pytest.approx(np.maximum(row, 0.0), rel=1e-4, abs=1e-6)
    # A user's filter score is its history's rows summed: what the feed's lists give.
    users = np.array([0, 45])
    full = filt.score(users).numpy()
    from_lists = (x[users] @ filt.item_rows(x.shape[1] - 1)).toarray()
    for r in range(2):
        keep = (x[users[r]].toarray()[0] == 0) & (full[r] > 0.05)
        assert (
            np.argsort(-full[r][keep])[:3].tolist() == np.argsort(-from_lists[r][keep])[:3].tolist()
        )


def test_last_share_holds_out_each_users_latest() -> None:
    user = np.array([0, 0, 0, 0, 0, 1, 1])
    at = np.array([5, 1, 3, 4, 2, 7, 7])
    tie = np.array([0, 1, 2, 3, 4, 9, 8])
    out = last_share(user, at, tie, np.ones(7, bool), 0.2)
    assert out.tolist() == [True, False, False, False, False, True, False]  # ceil(0.2 * 2) = 1


def test_score_lists_figures() -> None:
    truth = [np.array([1, 2]), np.array([], dtype=np.int64), np.array([3])]
    genres = np.eye(4, dtype=np.float32)
    lists = {0: [2, 0], 2: [0, 1]}
    s = score_lists(lists, truth, genres, n_items=4)
    assert s["users"] == 2
    assert s["hr_at_20"] == 0.5 and s["recall_at_20"] == 0.25
    assert s["ndcg_at_20"] == pytest.approx((1.0 / (1 + 1 / np.log2(3))) / 2, abs=1e-5)
    assert s["coverage"] == 0.75 and s["diversity"] == 1.0


def test_saved_lists_load_back_the_same(tmp_path: Path) -> None:
    model = fit_item_item(planted(), neighbours=4, lambdas=(5.0,))
    ids = [f"v{i}" for i in range(model.neighbours.shape[0])]
    got_ids, got = load_lists(save_lists(tmp_path / "similar.npz", ids, model))
    assert got_ids == ids and got.method == "ease" and got.lam == 5.0 and got.tau is None
    assert (got.neighbours != model.neighbours).nnz == 0
