"""Evaluation exactly as the LightGCN paper: all-item ranking, training items masked, top K.

Recall@K = |top-K ∩ test| / |test|; NDCG@K = DCG@K / IDCG@K with binary relevance, DCG using
``1/log2(rank+2)`` and the ideal list holding ``min(|test|, K)`` hits. Both are averaged over
users with at least one test item. Coverage is the share of the catalogue that appears in
anyone's top K.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch


@dataclass(frozen=True)
class RankingMetrics:
    """Recall@K, NDCG@K and catalogue coverage of one ranking."""

    k: int
    recall: float
    ndcg: float
    coverage: float
    users: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            f"recall@{self.k}": round(self.recall, 5),
            f"ndcg@{self.k}": round(self.ndcg, 5),
            "coverage": round(self.coverage, 5),
            "users": self.users,
        }


def recall_ndcg(
    top_k: np.ndarray, test_items: Sequence[np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user Recall@k and NDCG@k of ranked lists ``top_k`` (rows) against ``test_items``."""
    n = len(test_items)
    recall = np.zeros(n)
    ndcg = np.zeros(n)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for row in range(n):
        truth = test_items[row]
        if len(truth) == 0:
            continue
        hits = np.isin(top_k[row, :k], truth).astype(np.float64)
        recall[row] = hits.sum() / len(truth)
        idcg = discounts[: min(len(truth), k)].sum()
        ndcg[row] = (hits * discounts[: len(hits)]).sum() / idcg
    return recall, ndcg


def evaluate_ranking(
    score_users: Callable[[np.ndarray], torch.Tensor],
    train: sp.csr_matrix,
    test_items: Sequence[np.ndarray],
    *,
    k: int = 20,
    batch_size: int = 2048,
) -> RankingMetrics:
    """Rank every item for every test user with ``score_users`` (rows of scores), masking the
    user's training items, and measure Recall@k, NDCG@k and coverage."""
    users = np.array([u for u, t in enumerate(test_items) if len(t) > 0], dtype=np.int64)
    n_items = train.shape[1]
    recalls, ndcgs = [], []
    seen = np.zeros(n_items, dtype=bool)
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = score_users(batch).float()
        sub = train[batch].tocoo()
        scores[torch.from_numpy(sub.row).long(), torch.from_numpy(sub.col).long()] = -torch.inf
        top = scores.topk(min(k, n_items), dim=1).indices.numpy()
        seen[top.ravel()] = True
        r, nd = recall_ndcg(top, [test_items[u] for u in batch], k)
        recalls.append(r)
        ndcgs.append(nd)
    recall = float(np.concatenate(recalls).mean()) if recalls else 0.0
    ndcg = float(np.concatenate(ndcgs).mean()) if ndcgs else 0.0
    return RankingMetrics(
        k=k, recall=recall, ndcg=ndcg, coverage=float(seen.mean()), users=len(users)
    )
