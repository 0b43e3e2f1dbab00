"""Item-to-item from co-engagement: EASE (or cosine item-kNN for large catalogues), computed
from the graph at training time and stored as ``(:Video)-[:SIMILAR {score, rank}]->(:Video)``.

Why: "people who engaged with this also engaged with that" is the strongest single signal on
real interaction data (EASE is within a few per cent of the best published models on
MovieLens and Gowalla), it needs no embedding training, and stored as relationships the feed
reads it with one short graph walk from the user's recent history: every new event changes the
history, so the next feed reflects it at once.

EASE's ``lambda`` is chosen on a validation split carved from the training matrix (a random
20 % of each user's positives), never on any test data. Beyond ``max_items`` items EASE's
dense inverse is too large and item-kNN (cosine, top ``neighbours``) is used instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.db import Graph
from graphrec.learn.baselines import EASE_MAX_ITEMS, ItemKNN, binary, ease_weights, top_k_rows
from graphrec.learn.export import GraphExport, split_holdout
from graphrec.learn.metrics import evaluate_ranking

if TYPE_CHECKING:
    from graphrec.learn.filters import GraphFilter

Progress = Callable[[str, int, int], None]
LAMBDAS = (50.0, 200.0, 800.0)


@dataclass
class ItemItem:
    """Each item's nearest items with a score (sparse, row = from-item)."""

    neighbours: sp.csr_matrix
    method: str  # "ease" or "item_knn"
    lam: float | None = None
    tau: float | None = None  # recency scale of the user's history, chosen on validation
    validation: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0
    # The validation split's view (with ``last_at``): neighbours fitted on the inner part
    # only, each user's inner history positions (1 = latest) and held-out items. The learned
    # ranker (graphrec.learn.ranker) builds its training lists from them.
    inner: sp.csr_matrix | None = None
    inner_ranks: sp.csr_matrix | None = None
    held: list[np.ndarray] | None = None

    def score(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """Scores of every item for users with these (weighted) history rows."""
        return history @ self.neighbours


TAUS = (5.0, 10.0, 20.0, 50.0, 1e9)  # 1e9: every engagement counts alike


def recency_ranks(matrix: sp.csr_matrix, last_at: sp.csr_matrix) -> sp.csr_matrix:
    """Per user, each engaged item's position from the most recent (1 = latest; ties by
    item index); ``last_at`` holds the time of the latest engagement per (user, item)."""
    m = sp.csr_matrix(last_at, dtype=np.float64)
    m.sort_indices()
    ranks = np.zeros(m.nnz, dtype=np.float32)
    for u in range(m.shape[0]):
        lo, hi = m.indptr[u], m.indptr[u + 1]
        order = np.lexsort((m.indices[lo:hi], -m.data[lo:hi]))
        ranks[lo + order] = np.arange(1, hi - lo + 1, dtype=np.float32)
    return sp.csr_matrix((ranks, m.indices.copy(), m.indptr.copy()), shape=m.shape)


def _latest_split(ranks: sp.csr_matrix, share: float) -> tuple[sp.csr_matrix, list[np.ndarray]]:
    """Each user's latest ``ceil(share * n)`` items (n >= 2) held out; the rest re-ranked."""
    r = sp.csr_matrix(ranks)
    keep = np.ones(r.nnz, dtype=bool)
    held: list[np.ndarray] = []
    data = r.data.copy()
    for u in range(r.shape[0]):
        lo, hi = r.indptr[u], r.indptr[u + 1]
        n = hi - lo
        k = int(np.ceil(share * n)) if n >= 2 else 0
        out = r.data[lo:hi] <= k
        keep[lo:hi] = ~out
        data[lo:hi] -= k  # the inner history's positions start at 1 again
        held.append(np.sort(r.indices[lo:hi][out]).astype(np.int64))
    coo = sp.coo_matrix((data, (np.repeat(np.arange(r.shape[0]), np.diff(r.indptr)), r.indices)),
                        shape=r.shape)  # fmt: skip
    inner = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=r.shape, dtype=np.float32
    )
    return inner, held


def recency_weights(ranks: sp.csr_matrix, tau: float) -> sp.csr_matrix:
    """History weights ``exp(-(rank - 1) / tau)`` (the latest engagement counts 1)."""
    w = sp.csr_matrix(ranks, dtype=np.float32, copy=True)
    w.data = np.exp(-(w.data - 1.0) / tau).astype(np.float32)
    return w


def _dense(m: sp.spmatrix | np.ndarray) -> np.ndarray:
    return np.asarray(m.toarray()) if isinstance(m, (sp.spmatrix, sp.sparray)) else np.asarray(m)


def _positive_top(b: sp.spmatrix | np.ndarray, k: int) -> sp.csr_matrix:
    """Each row's ``k`` largest positive weights (a negative weight never proposes)."""
    if isinstance(b, (sp.spmatrix, sp.sparray)):
        m = sp.csr_matrix(b, copy=True)
        m.data = np.maximum(m.data, 0.0)
    else:
        m = sp.csr_matrix(np.maximum(b, 0.0))
    m.eliminate_zeros()
    return top_k_rows(m, k)


def _candidates(
    n_items: int,
    *,
    neighbours: int,
    lambdas: Sequence[float],
    max_items: int,
    filter_rank: int,
    seed: int,
    highpass: bool = False,
) -> dict[str, Callable[[sp.csr_matrix], sp.csr_matrix | np.ndarray]]:
    """The item-to-item fits to choose from on validation: EASE per ``lambda`` when its dense
    inverse fits; beyond ``max_items``, item-kNN (cosine) and the graph filter's lists
    (:meth:`~graphrec.learn.filters.GraphFilter.item_rows`, BSPM-style low-rank filter), or,
    with ``highpass`` (the filter's low-rank part is served as spectral vectors beside the
    lists), the filter's high-pass lists only (:meth:`~GraphFilter.highpass_rows`)."""
    if n_items <= max_items:

        def ease(lam: float) -> Callable[[sp.csr_matrix], np.ndarray]:
            return lambda m: ease_weights(m, lam)

        return {f"lambda={lam:g}": ease(lam) for lam in lambdas}
    from graphrec.learn.filters import GraphFilter

    if highpass:
        return {
            "highpass": lambda m: GraphFilter.fit(
                m, kind="bspm", rank=min(filter_rank, min(m.shape) - 1), seed=seed
            ).highpass_rows(neighbours)
        }

    return {
        "item_knn": lambda m: ItemKNN.fit(m, k=neighbours).sim,
        "filter": lambda m: GraphFilter.fit(
            m, kind="bspm", rank=min(filter_rank, min(m.shape) - 1), seed=seed
        ).item_rows(neighbours),
    }  # fmt: skip


def fit_item_item(
    matrix: sp.spmatrix,
    *,
    last_at: sp.spmatrix | None = None,
    neighbours: int = 50,
    lambdas: Sequence[float] = LAMBDAS,
    taus: Sequence[float] = TAUS,
    max_items: int = EASE_MAX_ITEMS,
    filter_rank: int = 256,
    seed: int = 0,
    full_filter: GraphFilter | None = None,
) -> ItemItem:
    """Fit item-to-item lists, everything chosen on validation: EASE (``lambda``) where the
    catalogue allows it, else item-kNN or the graph filter's lists; then the recency scale
    ``tau``.

    With ``last_at`` (the latest engagement time per user and item) validation is each
    user's latest 20 % (the future, as the feed meets it) and ``tau`` is chosen there;
    without, a random 20 % and no recency scale.

    With ``full_filter`` (the filter fitted on ``matrix`` whose low-rank part the spectral
    vectors serve), a catalogue beyond ``max_items`` gets that filter's high-pass lists
    (``method = "highpass"``): the lists and the vectors are the two parts of one filter.
    """
    started = time.perf_counter()
    x = binary(matrix)
    if x.nnz == 0:
        knn = ItemKNN.fit(x, k=neighbours)
        return ItemItem(knn.sim, "item_knn", seconds=time.perf_counter() - started)
    ranks: sp.csr_matrix | None = None
    if last_at is not None:
        ranks = recency_ranks(x, sp.csr_matrix(last_at).multiply(x > 0).tocsr())
        inner_ranks, valid = _latest_split(ranks, 0.2)
        inner = binary(inner_ranks)
    else:
        inner_raw, valid = split_holdout(x, fraction=0.2, seed=seed)
        inner = binary(inner_raw)
    figures: dict[str, dict[str, float]] = {}

    def measure(history: sp.csr_matrix, b: sp.csr_matrix | np.ndarray) -> tuple[float, float]:
        def score(u: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(_dense(history[u] @ b).astype(np.float32))

        m = evaluate_ranking(score, inner, valid)
        return m.recall, m.ndcg

    fits = _candidates(
        x.shape[1], neighbours=neighbours, lambdas=lambdas, max_items=max_items,
        filter_rank=full_filter.v.shape[1] if full_filter is not None and full_filter.v is not None
        else filter_rank, seed=seed, highpass=full_filter is not None,
    )  # fmt: skip
    best, best_ndcg, best_b = next(iter(fits)), -1.0, None
    for name, fit in fits.items():
        b = fit(inner)
        recall, ndcg = measure(inner, b) if len(fits) > 1 or ranks is not None else (0.0, 0.0)
        figures[name] = {"recall": round(recall, 5), "ndcg": round(ndcg, 5)}
        if ndcg > best_ndcg:
            best, best_ndcg, best_b = name, ndcg, b
    tau: float | None = None
    inner_kept: sp.csr_matrix | None = None
    if ranks is not None and best_b is not None:
        # As served: negative weights are not stored, each item keeps ``neighbours``.
        b_pos = _positive_top(best_b, neighbours)
        tau_ndcg = -1.0
        for t in taus:
            recall, ndcg = measure(recency_weights(inner_ranks, t), b_pos)
            figures[f"tau={t:g}"] = {"recall": round(recall, 5), "ndcg": round(ndcg, 5)}
            if ndcg > tau_ndcg:
                tau, tau_ndcg = float(t), ndcg
        inner_kept = b_pos
    del best_b
    if best == "highpass" and full_filter is not None:
        kept = _positive_top(full_filter.highpass_rows(neighbours), neighbours)
    else:
        kept = _positive_top(fits[best](x), neighbours)
    method = "ease" if best.startswith("lambda=") else best
    lam = float(best.split("=", 1)[1]) if method == "ease" else None
    return ItemItem(
        kept, method, lam=lam, tau=tau, validation=figures,
        seconds=time.perf_counter() - started, inner=inner_kept,
        inner_ranks=inner_ranks if ranks is not None else None,
        held=valid if ranks is not None else None,
    )  # fmt: skip


def export_last_at(
    graph: Graph, export: GraphExport, *, types: Sequence[str], batch: int = 2_000
) -> sp.csr_matrix:
    """Users x videos: when each user last engaged with each video (``types`` of relationship)."""
    u_index, v_index = export.user_index, export.video_index
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for start in range(0, len(export.user_ids), batch):
        chunk = export.user_ids[start : start + batch]
        for rec in graph.read("learn/export_last_engaged", user_ids=chunk, types=list(types)):
            u = u_index[rec["user_id"]]
            for vid, at in zip(rec["video_ids"], rec["ats"], strict=True):
                if vid in v_index:
                    rows.append(u)
                    cols.append(v_index[vid])
                    vals.append(float(at))
    shape = (len(export.user_ids), len(export.video_ids))
    return sp.csr_matrix((np.asarray(vals), (rows, cols)), shape=shape, dtype=np.float64)


def save_lists(path: Path, video_ids: Sequence[str], model: ItemItem) -> Path:
    """The fitted lists and their video ids in one ``.npz`` (to write them again on a graph
    reloaded with the same videos: the simulation's policies each start from a fresh load)."""
    m = model.neighbours.tocsr()
    np.savez(
        path, ids=np.asarray(video_ids, dtype=str), data=m.data, indices=m.indices,
        indptr=m.indptr, method=np.asarray(model.method),
        lam=np.asarray(np.nan if model.lam is None else model.lam),
        tau=np.asarray(np.nan if model.tau is None else model.tau),
    )  # fmt: skip
    return path


def load_lists(path: Path) -> tuple[list[str], ItemItem]:
    """What :func:`save_lists` wrote."""
    with np.load(path) as z:
        ids = [str(i) for i in z["ids"]]
        n = len(ids)
        m = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(n, n))
        lam, tau = float(z["lam"]), float(z["tau"])
        model = ItemItem(
            m, str(z["method"]), lam=None if np.isnan(lam) else lam,
            tau=None if np.isnan(tau) else tau,
        )  # fmt: skip
    return ids, model


def write_similar(
    graph: Graph,
    export: GraphExport | Sequence[str],
    model: ItemItem,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> int:
    """Replace every SIMILAR relationship with the model's (rows in the order of ``export``'s
    videos, or of the given video ids); returns how many were written."""
    graph.write_autocommit("learn/clear_similar")
    m = model.neighbours.tocsr()
    ids = export.video_ids if isinstance(export, GraphExport) else list(export)
    rows = []
    for i in range(m.shape[0]):
        lo, hi = m.indptr[i], m.indptr[i + 1]
        if hi == lo:
            continue
        order = np.argsort(-m.data[lo:hi], kind="stable")
        cols, vals = m.indices[lo:hi][order], m.data[lo:hi][order]
        rows.append(
            {"id": ids[i], "to": [ids[j] for j in cols], "scores": [float(v) for v in vals]}
        )
    graph.write(
        "learn/write_model_info",
        id="similar",
        props={"method": model.method, "lambda": model.lam, "tau": model.tau,
               "neighbours": int(m.getnnz(axis=1).max()) if m.nnz else 0},
    )  # fmt: skip
    written = 0
    for s in range(0, len(rows), batch_size):
        out = graph.write("learn/write_similar", rows=rows[s : s + batch_size], method=model.method)
        written += int(out[0]["written"]) if out else 0
        if progress:
            progress("similar", min(s + batch_size, len(rows)), len(rows))
    return written
