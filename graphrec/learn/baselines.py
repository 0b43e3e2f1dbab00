"""Reference recommenders on a user x item matrix: popularity, item-kNN (cosine) and EASE.

They score the same way as the product's models (``users -> scores`` over every item), so
:func:`graphrec.learn.metrics.evaluate_ranking` measures them alike. EASE (Steck, WWW 2019) is
the closed form ``B = I - P / diag(P)`` with ``P = (X^T X + lambda I)^-1``, zero diagonal;
its ``lambda`` and item-kNN's neighbourhood are chosen on a validation split, never on test.
EASE inverts an items x items matrix: :data:`EASE_MAX_ITEMS` bounds it (item-kNN beyond).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.errors import InvalidInput
from graphrec.learn.metrics import RankingMetrics, evaluate_ranking

EASE_MAX_ITEMS = 20_000
Scorer = Callable[[np.ndarray], torch.Tensor]


def binary(matrix: sp.spmatrix) -> sp.csr_matrix:
    """1 where the matrix holds a positive weight."""
    m = sp.csr_matrix(matrix, dtype=np.float32)
    m.data = (m.data > 0).astype(np.float32)
    m.eliminate_zeros()
    return m


@dataclass
class Popularity:
    """Every user gets the items with the most positives (most interacted with)."""

    counts: np.ndarray

    @classmethod
    def fit(cls, train: sp.spmatrix) -> Popularity:
        return cls(np.asarray(binary(train).sum(axis=0), dtype=np.float32).ravel())

    def score(self, users: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.tile(self.counts, (len(users), 1)))


@dataclass
class ItemKNN:
    """Cosine item-item similarity, each item's ``k`` nearest kept; score = history x S."""

    train: sp.csr_matrix
    sim: sp.csr_matrix  # items x items, row i: i's neighbours

    @classmethod
    def fit(cls, train: sp.spmatrix, *, k: int | None = 100) -> ItemKNN:
        x = binary(train)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        inv = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
        xn = x @ sp.diags(inv)
        sim = (xn.T @ xn).tocsr()
        sim.setdiag(0)
        sim.eliminate_zeros()
        if k is not None:
            sim = top_k_rows(sim, k)
        return cls(train=x, sim=sim)

    def score(self, users: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((self.train[users] @ self.sim).toarray())


def top_k_rows(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries."""
    m = sp.csr_matrix(m)
    rows, cols, vals = [], [], []
    for i in range(m.shape[0]):
        lo, hi = m.indptr[i], m.indptr[i + 1]
        if hi == lo:
            continue
        d, c = m.data[lo:hi], m.indices[lo:hi]
        if hi - lo > k:
            pick = np.argpartition(-d, k - 1)[:k]
            d, c = d[pick], c[pick]
        rows.append(np.full(len(c), i))
        cols.append(c)
        vals.append(d)
    if not rows:
        return sp.csr_matrix(m.shape, dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=m.shape,
        dtype=np.float32,
    )


def ease_weights(x: sp.csr_matrix, lam: float) -> np.ndarray:
    """EASE's ``B`` (items x items, zero diagonal) for the binary matrix ``x``.

    Items nobody engaged with have all-zero rows and columns in ``B``: the inverse is taken
    over the engaged items only (a smaller matrix, the same result)."""
    active = np.flatnonzero(np.asarray(x.sum(axis=0)).ravel() > 0)
    xa = x[:, active]
    g = torch.from_numpy((xa.T @ xa).toarray().astype(np.float32))
    g.diagonal().add_(float(lam))
    p = torch.linalg.inv(g)
    b = p / (-torch.diagonal(p))
    b.fill_diagonal_(0.0)
    out = np.zeros((x.shape[1], x.shape[1]), dtype=np.float32)
    out[np.ix_(active, active)] = b.numpy()
    return out


@dataclass
class EASE:
    """Embarrassingly shallow autoencoder: dense item-item weights ``B`` (zero diagonal)."""

    train: sp.csr_matrix
    weights: np.ndarray  # items x items, float32
    lam: float

    @classmethod
    def fit(cls, train: sp.spmatrix, *, lam: float = 100.0) -> EASE:
        x = binary(train)
        n = x.shape[1]
        if n > EASE_MAX_ITEMS:
            raise InvalidInput(
                f"EASE inverts an items x items matrix: {n} items is more than {EASE_MAX_ITEMS}"
            )
        return cls(train=x, weights=ease_weights(x, lam), lam=lam)

    def score(self, users: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self.train[users] @ self.weights, dtype=np.float32))


def choose(
    fit: Callable[[float], Scorer],
    grid: Sequence[float],
    train: sp.csr_matrix,
    valid: Sequence[np.ndarray],
    *,
    k: int = 20,
) -> tuple[float, dict[float, RankingMetrics]]:
    """The grid value whose model ranks ``valid`` best (NDCG@k), and every value's figures."""
    if not grid:
        raise InvalidInput("choose: an empty grid")
    figures = {g: evaluate_ranking(fit(g), train, valid, k=k) for g in grid}
    best = max(grid, key=lambda g: (figures[g].ndcg, -grid.index(g)))
    return best, figures
