"""Interest communities: Louvain (networkx, seeded) on a user-user graph, written to Neo4j.

The user-user graph links each user to their ``k`` nearest users, either by learned embedding
(cosine) or by co-engagement (cosine of their weighted interaction rows), so it is sparse and
symmetric. Each community is labelled by its members' top tags and category; each member's
score is the share of their neighbourhood weight that stays inside the community.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.special import gammaln

from graphrec.db import Graph
from graphrec.errors import InvalidInput
from graphrec.learn.export import GraphExport


@dataclass
class Communities:
    """A partition of users with what is written to the graph."""

    labels: np.ndarray  # community index per exported user, -1 = none (no neighbours)
    scores: np.ndarray  # membership score per user
    rows: list[dict[str, Any]] = field(default_factory=list)  # Community nodes
    seconds: float = 0.0
    source: str = ""

    @property
    def count(self) -> int:
        return len(self.rows)


def knn_graph(vectors: np.ndarray, k: int, *, batch: int = 2048) -> sp.csr_matrix:
    """Symmetric k-nearest-neighbour graph by cosine similarity (positive weights only)."""
    x = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.where(norms > 0, x / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
    n = len(x)
    k = max(1, min(k, n - 1))
    rows, cols, vals = [], [], []
    for start in range(0, n, batch):
        sims = x[start : start + batch] @ x.T
        idx = np.arange(start, min(start + batch, n))
        sims[idx - start, idx] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        w = np.take_along_axis(sims, top, axis=1)
        keep = w > 0
        rows.append(np.repeat(idx, k)[keep.ravel()])
        cols.append(top.ravel()[keep.ravel()])
        vals.append(w.ravel()[keep.ravel()])
    g = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    return g.maximum(g.T).tocsr()


def coengagement_vectors(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Users' interaction rows, idf-weighted so blockbuster videos say less about taste."""
    m = sp.csr_matrix(matrix, dtype=np.float32)
    df = np.asarray((m > 0).sum(axis=0)).ravel()
    idf = np.log((1 + m.shape[0]) / (1 + df)).astype(np.float32)
    return (m @ sp.diags(idf)).tocsr()


def knn_graph_sparse(rows: sp.csr_matrix, k: int, *, batch: int = 2048) -> sp.csr_matrix:
    """k-NN graph by cosine of sparse rows (co-engagement), via sparse products."""
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    inv = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0)
    x = (sp.diags(inv) @ rows).tocsr().astype(np.float32)
    n = x.shape[0]
    k = max(1, min(k, n - 1))
    out_r, out_c, out_v = [], [], []
    xt = x.T.tocsc()
    for start in range(0, n, batch):
        sims = (x[start : start + batch] @ xt).toarray()
        idx = np.arange(start, min(start + batch, n))
        sims[idx - start, idx] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        w = np.take_along_axis(sims, top, axis=1)
        keep = (w > 0).ravel()
        out_r.append(np.repeat(idx, k)[keep])
        out_c.append(top.ravel()[keep])
        out_v.append(w.ravel()[keep])
    g = sp.csr_matrix(
        (np.concatenate(out_v), (np.concatenate(out_r), np.concatenate(out_c))), shape=(n, n)
    )
    return g.maximum(g.T).tocsr()


def louvain(graph: sp.csr_matrix, *, resolution: float = 1.0, seed: int = 0) -> np.ndarray:
    """Louvain communities of a weighted symmetric graph (networkx; deterministic per seed).

    Communities are numbered by size, largest first; isolated nodes get -1.
    """
    n = graph.shape[0]
    g = nx.Graph()
    g.add_nodes_from(range(n))
    coo = sp.triu(graph, k=1).tocoo()
    g.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    parts = nx.community.louvain_communities(g, weight="weight", resolution=resolution, seed=seed)
    parts = sorted((sorted(p) for p in parts), key=lambda p: (-len(p), p[0]))
    labels = np.full(n, -1, dtype=np.int64)
    c = 0
    degree = np.diff(graph.indptr)
    for p in parts:
        if len(p) == 1 and degree[p[0]] == 0:
            continue
        labels[p] = c
        c += 1
    return labels


def membership_scores(graph: sp.csr_matrix, labels: np.ndarray) -> np.ndarray:
    """Share of each node's edge weight that stays inside its community."""
    coo = graph.tocoo()
    inside = labels[coo.row] == labels[coo.col]
    total = np.bincount(coo.row, weights=coo.data, minlength=graph.shape[0])
    within = np.bincount(coo.row[inside], weights=coo.data[inside], minlength=graph.shape[0])
    return np.where(total > 0, within / np.maximum(total, 1e-12), 0.0)


def find_communities(
    export: GraphExport,
    *,
    user_vectors: np.ndarray | None = None,
    neighbours: int = 10,
    resolution: float = 1.0,
    seed: int = 0,
) -> Communities:
    """Communities of the exported users, from embeddings when given, else co-engagement."""
    started = time.perf_counter()
    if len(export.user_ids) < 2:
        raise InvalidInput("communities need at least two users")
    if user_vectors is not None:
        g = knn_graph(user_vectors, neighbours)
        source = "embedding"
    else:
        g = knn_graph_sparse(coengagement_vectors(export.matrix), neighbours)
        source = "co-engagement"
    labels = louvain(g, resolution=resolution, seed=seed)
    scores = membership_scores(g, labels)
    rows = describe(export, labels)
    return Communities(
        labels=labels,
        scores=scores,
        rows=rows,
        seconds=time.perf_counter() - started,
        source=source,
    )


def describe(export: GraphExport, labels: np.ndarray, *, top: int = 5) -> list[dict[str, Any]]:
    """Community rows: id, size, members' top tags (weighted by engagement) and a label."""
    m = export.matrix.tocsr()
    rows = []
    for c in range(int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0):
        members = np.flatnonzero(labels == c)
        engaged = np.asarray(m[members].sum(axis=0)).ravel()
        tags: dict[str, float] = {}  # weighted by engagement
        for v in np.flatnonzero(engaged):
            for t in export.video_tags[v]:
                tags[t] = tags.get(t, 0.0) + float(engaged[v])
        top_tags = sorted(tags, key=lambda t: -tags[t])[:top]
        cats: dict[str, float] = {}
        for t, w in tags.items():
            cat = export.tag_category.get(t)
            if cat:
                cats[cat] = cats.get(cat, 0.0) + w
        top_cats = sorted(cats, key=lambda c: -cats[c])[:2]
        label = " & ".join(top_cats) if top_cats else "mixed"
        if top_tags:
            label += " · " + " ".join(f"#{t}" for t in top_tags[:3])
        rows.append(
            {"id": f"community-{c}", "size": len(members), "top_tags": top_tags, "label": label}
        )
    return rows


def write_communities(graph: Graph, export: GraphExport, comm: Communities) -> dict[str, int]:
    """Replace the graph's communities with ``comm``; returns what was written."""
    at = int(time.time() * 1000)
    graph.write("learn/clear_communities")
    graph.write_rows("learn/write_communities", comm.rows, extra={"at": at})
    members = [
        {
            "user_id": uid,
            "community_id": f"community-{int(comm.labels[i])}",
            "score": round(float(comm.scores[i]), 4),
        }
        for i, uid in enumerate(export.user_ids)
        if comm.labels[i] >= 0
    ]
    graph.write_rows("learn/write_memberships", members, batch_size=5_000)
    return {"communities": len(comm.rows), "memberships": len(members)}


# --- agreement with a known partition -----------------------------------------------------
def _contingency(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> np.ndarray:
    _, ai = np.unique(np.asarray(a), return_inverse=True)
    _, bi = np.unique(np.asarray(b), return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)
    return table


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def adjusted_mutual_info(
    truth: Sequence[int] | np.ndarray, pred: Sequence[int] | np.ndarray
) -> float:
    """AMI (Vinh et al. 2010; arithmetic-mean normalisation, as scikit-learn's default)."""
    table = _contingency(truth, pred)
    n = int(table.sum())
    a, b = table.sum(axis=1), table.sum(axis=0)
    if (len(a) == 1 and len(b) == 1) or n == 0:
        return 1.0
    nz = table > 0
    outer = np.outer(a, b).astype(np.float64)
    mi = float((table[nz] / n * np.log(table[nz] * n / outer[nz])).sum())
    emi = 0.0
    for ai in a:
        for bj in b:
            lo, hi = max(1, ai + bj - n), min(ai, bj)
            if lo > hi:
                continue
            nij = np.arange(lo, hi + 1, dtype=np.float64)
            log_p = (
                gammaln(ai + 1)
                + gammaln(bj + 1)
                + gammaln(n - ai + 1)
                + gammaln(n - bj + 1)
                - gammaln(n + 1)
                - gammaln(nij + 1)
                - gammaln(ai - nij + 1)
                - gammaln(bj - nij + 1)
                - gammaln(n - ai - bj + nij + 1)
            )
            emi += float((nij / n * np.log(n * nij / (ai * bj)) * np.exp(log_p)).sum())
    h = (_entropy(a) + _entropy(b)) / 2
    denom = h - emi
    return float((mi - emi) / denom) if abs(denom) > 1e-12 else 0.0


def purity(truth: Sequence[int] | np.ndarray, pred: Sequence[int] | np.ndarray) -> float:
    """Share of users whose community's majority true group is their own."""
    table = _contingency(truth, pred)
    return float(table.max(axis=0).sum() / table.sum())
