"""The graph filter's low-rank part served as vectors (the feed's ``spectral`` source).

The BSPM-style filter of :mod:`graphrec.learn.filters` scores a user's history ``x`` as
``x @ H + (x @ Q) @ K^T``: a sparse high-pass part ``H`` and a low-rank part given by two
vectors per video, a query ``Q[i]`` and a key ``K[i]``
(:meth:`~graphrec.learn.filters.GraphFilter.spectral_vectors`). On Gowalla the low-rank part
is what item-to-item lists lose when they are cut to a few neighbours per video; served
exactly it keeps the filter's quality (figures in ``docs/benchmarks.md``).

Served inside Neo4j: each video stores ``spectral_query`` and ``spectral_key``; the feed sums
the query vectors of the user's latest engagements (so every event moves the next feed, no
state to update) and asks the ``video_spectral`` vector index for the nearest keys. A vector
index ranks by cosine, not by dot product, so the keys are made unit-length the standard way
for maximum inner product search: scaled by the largest key norm ``M`` and given one more
coordinate ``sqrt(1 - |k / M|^2)``; the query gets a 0 there. Then the cosine of the two is
``q . k / (M |q|)``, which orders videos exactly as the filter's low-rank score does.

The vector size is fixed by the index: ``2 * spectral_rank + 1`` (zero-padded when the graph
is too small for the full rank).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from graphrec.db import Graph

if TYPE_CHECKING:
    from graphrec.learn.filters import GraphFilter

Progress = Callable[[str, int, int], None]


def spectral_dim(rank: int) -> int:
    """The stored vector size for a filter of ``rank`` (the vector index's dimension)."""
    return 2 * rank + 1


@dataclass
class SpectralVectors:
    """Each video's query and (unit, augmented) key vector, rows in the export's order."""

    query: np.ndarray  # videos x (2 rank + 1), last coordinate 0
    key: np.ndarray  # videos x (2 rank + 1), unit rows
    scale: float  # M: the largest raw key norm
    rank: int  # the rank actually fitted (<= the configured one on a small graph)
    seconds: float = 0.0

    def scores(self, history: sp.csr_matrix) -> np.ndarray:
        """The filter's low-rank score (up to the positive factor ``1 / M``) of every video
        for users with these history rows."""
        return np.asarray(history @ self.query) @ self.key.T


def fit_spectral(matrix: sp.spmatrix, *, rank: int, seed: int = 0) -> SpectralVectors:
    """Fit the BSPM-style filter on the binary engagement matrix (users x videos) and
    return its low-rank part as vectors of size ``spectral_dim(rank)``."""
    return fit_filter(matrix, rank=rank, seed=seed)[1]


def fit_filter(
    matrix: sp.spmatrix, *, rank: int, seed: int = 0
) -> tuple[GraphFilter | None, SpectralVectors]:
    """The fitted filter (None on an empty or one-row matrix) and its low-rank part as
    vectors: the filter is kept so its high-pass lists pair with exactly these vectors."""
    from graphrec.learn.baselines import binary
    from graphrec.learn.filters import GraphFilter

    started = time.perf_counter()
    x = binary(matrix)
    fitted = min(rank, min(x.shape) - 1)
    filt = None
    if fitted > 0 and x.nnz > 0:
        filt = GraphFilter.fit(x, kind="bspm", rank=fitted, seed=seed)
    vectors = spectral_vectors(filt, x.shape[1], rank=rank)
    vectors.seconds = time.perf_counter() - started
    return filt, vectors


def spectral_vectors(filt: GraphFilter | None, n: int, *, rank: int) -> SpectralVectors:
    """A fitted filter's low-rank part as stored vectors of size ``spectral_dim(rank)``
    (``n`` videos; zero-padded when the filter's rank is lower; all zero without a filter):
    keys divided by the largest key norm and given the unit-length coordinate."""
    dim = spectral_dim(rank)
    query = np.zeros((n, dim), np.float32)
    key = np.zeros((n, dim), np.float32)
    scale = 1.0
    fitted = 0
    if filt is not None and filt.v is not None:
        fitted = int(filt.v.shape[1])
        q, k = filt.spectral_vectors()
        half = q.shape[1] // 2  # blur half, sharpen half: each padded to ``rank``
        query[:, :half], query[:, rank : rank + half] = q[:, :half], q[:, half:]
        key[:, :half], key[:, rank : rank + half] = k[:, :half], k[:, half:]
        norms = np.linalg.norm(key, axis=1)
        scale = float(norms.max()) or 1.0
        key /= scale
    key[:, -1] = np.sqrt(np.clip(1.0 - (key[:, :-1] ** 2).sum(axis=1), 0.0, None))
    return SpectralVectors(query, key, scale, fitted)


def write_spectral(
    graph: Graph,
    video_ids: Sequence[str],
    vectors: SpectralVectors,
    *,
    batch_size: int = 1_000,
    progress: Progress | None = None,
) -> int:
    """Store each video's vectors (``video_ids`` in the rows' order) and the fit's facts on
    ``(:Model {id: 'spectral'})``; returns how many videos were written."""
    written = 0
    n = len(video_ids)
    for s in range(0, n, batch_size):
        rows = [
            {"id": video_ids[i], "query": vectors.query[i].tolist(), "key": vectors.key[i].tolist()}
            for i in range(s, min(n, s + batch_size))
        ]
        out = graph.write("learn/write_spectral", rows=rows)
        written += int(out[0]["written"]) if out else 0
        if progress:
            progress("spectral", min(s + batch_size, n), n)
    graph.write(
        "learn/write_model_info",
        id="spectral",
        props={"rank": vectors.rank, "scale": vectors.scale, "videos": written,
               "trained_at": int(time.time() * 1000)},
    )  # fmt: skip
    return written
