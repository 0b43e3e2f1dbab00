"""The served score: the graph filter split in two plus the learned embedding, one function.

What the feed's ``blend`` source serves and what ``graphrec bench quality`` measures is
:meth:`FilterBlend.score`, for a user and a set of videos:

    score = lists + g * M * spectral + w * (g * M * sd_spectral / sd_embedding) * embedding

- ``lists``: the sum, over the user's history, of each history video's item-to-item list
  entry for the video (the ``similar`` lists: the filter's high-pass part
  ``GraphFilter.highpass_rows`` wherever the filter is fitted for them; EASE's lists on a
  catalogue small enough for EASE);
- ``spectral``: the dot product of the user's summed query vector with the video's stored
  key vector (:mod:`graphrec.learn.spectral`: stored keys are divided by ``M``, so ``M``
  times the dot is the filter's low-rank score, in the lists' units);
- ``embedding``: the dot product of the user's embedding with the video's unit embedding
  (what write-back stores and the vector index serves);
- ``sd_*``: the user's spread of that part over the whole catalogue, from the covariance of
  the videos' key (embedding) vectors stored with the model: ``sqrt(q C q)``. It puts the
  embedding's score in the filter's units for that user (a per-user standardisation, as a
  blend of two scorers needs, without scoring every video); a constant shift per user does
  not change the order, so no mean is needed.

``g`` and ``w`` are chosen on a validation split (:func:`choose`), at training time
(:func:`graphrec.learn.pipeline.learn`, stored on ``(:Model {id: 'blend'})``) and in the
quality bench.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

GS = (1.0, 1.5, 2.0, 3.0)
WS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def covariance(vectors: np.ndarray) -> np.ndarray:
    """The covariance (over rows) of ``vectors``, float64: ``q C q`` is the variance over
    those rows of their dot product with ``q``."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.shape[0] < 2:
        return np.zeros((x.shape[1], x.shape[1]))
    x = x - x.mean(axis=0, keepdims=True)
    return (x.T @ x) / x.shape[0]


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row divided by its length (zero rows stay zero), float32."""
    x = np.asarray(vectors, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


def _spread(cov: np.ndarray | None, users: np.ndarray) -> np.ndarray:
    """Per user row of ``users``: ``sqrt(u C u)`` (0 without a covariance)."""
    u = np.atleast_2d(np.asarray(users, dtype=np.float64))
    if cov is None or cov.size == 0 or u.shape[1] != cov.shape[0]:
        return np.zeros(u.shape[0])
    return np.sqrt(np.clip(((u @ cov) * u).sum(axis=1), 0.0, None))


@dataclass
class FilterBlend:
    """The served score's weights and the statistics it needs (see the module's text)."""

    g: float = 1.0  # the spectral (low-rank) part's weight
    w: float = 0.0  # the embedding's weight, in units of the user's filter spread
    scale: float = 1.0  # M: stored spectral keys -> the lists' units
    key_cov: np.ndarray | None = None  # covariance of the stored keys over the videos
    emb_cov: np.ndarray | None = None  # covariance of the unit video embeddings
    validation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        keys: np.ndarray,
        scale: float,
        video_embeddings: np.ndarray | None = None,
        *,
        g: float = 1.0,
        w: float = 0.0,
    ) -> FilterBlend:
        """The statistics from the stored keys (``videos x d``, divided by ``scale``) and the
        videos' embeddings (made unit here, as stored)."""
        emb = None if video_embeddings is None else covariance(unit_rows(video_embeddings))
        return cls(g=g, w=w, scale=float(scale), key_cov=covariance(keys), emb_cov=emb)

    def weighted(self, g: float, w: float) -> FilterBlend:
        return replace(self, g=float(g), w=float(w))

    def spread_ratio(self, query: np.ndarray, user: np.ndarray | None) -> np.ndarray:
        """Per user: ``M * sd_spec / sd_emb`` (0 where the user has no embedding or no
        spread); it does not depend on ``g`` or ``w``."""
        q = np.atleast_2d(np.asarray(query, dtype=np.float64))
        if user is None or self.emb_cov is None:
            return np.zeros(q.shape[0])
        sd_e = _spread(self.emb_cov, user)
        sd_s = _spread(self.key_cov, q) * self.scale
        return np.divide(sd_s, sd_e, out=np.zeros_like(sd_s), where=sd_e > 0)

    def embedding_factor(
        self, query: np.ndarray, user: np.ndarray | None, ratio: np.ndarray | None = None
    ) -> np.ndarray:
        """Per user: what multiplies the embedding dot, ``w * g * M * sd_spec / sd_emb``
        (``ratio``: :meth:`spread_ratio`'s value when already known)."""
        if user is None or self.w == 0 or self.emb_cov is None:
            return np.zeros(np.atleast_2d(query).shape[0])
        r = self.spread_ratio(query, user) if ratio is None else ratio
        return self.w * self.g * r

    def score(
        self,
        lists: np.ndarray,
        spectral: np.ndarray,
        embedding: np.ndarray | None = None,
        *,
        query: np.ndarray,
        user: np.ndarray | None = None,
        ratio: np.ndarray | None = None,
    ) -> np.ndarray:
        """The served score of users (rows) x videos (columns): ``lists`` (the history's list
        sums), ``spectral`` (summed query . stored key), ``embedding`` (user embedding . unit
        video embedding, or None), ``query`` (users x d, the summed query vectors), ``user``
        (users x k, their embeddings), ``ratio`` (:meth:`spread_ratio`, when already
        computed for these users). One user: 1-d rows work too (one row)."""
        one = np.ndim(lists) == 1
        a = np.atleast_2d(np.asarray(lists, dtype=np.float32))
        sp_ = np.atleast_2d(np.asarray(spectral, dtype=np.float32))
        f = None
        if embedding is not None and user is not None:
            f = self.embedding_factor(query, user, ratio).astype(np.float32)[:, None]
        c = float(self.g * self.scale)
        if a.size >= 1 << 20:  # a batch of users: one pass each, in place (torch threads)
            import torch

            t = torch.add(torch.from_numpy(a), torch.from_numpy(sp_), alpha=c)
            if f is not None and embedding is not None and np.any(f):
                e = torch.from_numpy(np.atleast_2d(np.asarray(embedding, dtype=np.float32)))
                t.addcmul_(torch.from_numpy(f), e)
            out = t.numpy()
        else:
            out = a + np.float32(c) * sp_
            if f is not None and embedding is not None:
                out = out + f * np.atleast_2d(np.asarray(embedding, dtype=np.float32))
        return out[0] if one else out

    # --- stored with the model -------------------------------------------------------------
    def props(self) -> dict[str, Any]:
        """As ``(:Model {id: 'blend'})`` properties (covariances as flat lists)."""

        def flat(c: np.ndarray | None) -> list[float]:
            return [] if c is None else [float(x) for x in np.asarray(c).ravel()]

        return {
            "g": self.g, "w": self.w, "scale": self.scale,
            "key_dim": 0 if self.key_cov is None else int(self.key_cov.shape[0]),
            "emb_dim": 0 if self.emb_cov is None else int(self.emb_cov.shape[0]),
            "key_cov": flat(self.key_cov), "emb_cov": flat(self.emb_cov),
            "validation": json.dumps(self.validation),
        }  # fmt: skip

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> FilterBlend:
        def square(values: Sequence[float] | None, d: int) -> np.ndarray | None:
            if not values or d <= 0:
                return None
            return np.asarray(values, dtype=np.float64).reshape(d, d)

        return cls(
            g=float(p.get("g", 1.0)), w=float(p.get("w", 0.0)), scale=float(p.get("scale", 1.0)),
            key_cov=square(p.get("key_cov"), int(p.get("key_dim") or 0)),
            emb_cov=square(p.get("emb_cov"), int(p.get("emb_dim") or 0)),
            validation=json.loads(p["validation"]) if p.get("validation") else {},
        )  # fmt: skip


@dataclass
class BlendParts:
    """One batch of users' parts of the served score, users x videos (see :meth:`score`)."""

    lists: np.ndarray
    spectral: np.ndarray
    query: np.ndarray
    embedding: np.ndarray | None = None
    user: np.ndarray | None = None

    # The users' spread ratio, computed once: every blend scored on these parts must be a
    # weighting (FilterBlend.weighted) of one blend (same covariances and scale).
    ratio: np.ndarray | None = None

    def score(self, blend: FilterBlend) -> np.ndarray:
        if self.ratio is None and self.user is not None:
            self.ratio = blend.spread_ratio(self.query, self.user)
        return blend.score(self.lists, self.spectral, self.embedding, query=self.query,
                           user=self.user, ratio=self.ratio)  # fmt: skip


def evaluate_blends(
    parts: Callable[[np.ndarray], BlendParts],
    train: Any,
    held: Sequence[np.ndarray],
    blends: dict[str, FilterBlend],
    *,
    k: int = 20,
    batch: int = 1024,
) -> dict[str, Any]:
    """Recall@k / NDCG@k (:class:`~graphrec.learn.metrics.RankingMetrics`) of each blend on
    the ``held`` items of every user with some, ``train``'s items masked: each batch's parts
    computed once (``parts(users)``) for every blend."""
    import torch

    from graphrec.learn.metrics import RankingMetrics, recall_ndcg

    users = np.array([u for u, t in enumerate(held) if len(t) > 0], dtype=np.int64)
    acc: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {n: [] for n in blends}
    seen = {n: np.zeros(train.shape[1], dtype=bool) for n in blends}
    for s in range(0, len(users), batch):
        b = users[s : s + batch]
        p = parts(b)
        sub = train[b].tocoo()
        truth = [held[u] for u in b]
        for name, blend in blends.items():
            x = torch.from_numpy(np.ascontiguousarray(p.score(blend), dtype=np.float32))
            x[torch.from_numpy(sub.row).long(), torch.from_numpy(sub.col).long()] = -torch.inf
            top = x.topk(min(k, x.shape[1]), dim=1).indices.numpy()
            seen[name][top.ravel()] = True
            acc[name].append(recall_ndcg(top, truth, k))
    return {
        name: RankingMetrics(
            k=k,
            recall=float(np.concatenate([a[0] for a in got]).mean()) if got else 0.0,
            ndcg=float(np.concatenate([a[1] for a in got]).mean()) if got else 0.0,
            coverage=float(seen[name].mean()),
            users=len(users),
        )
        for name, got in acc.items()
    }


def grid_name(g: float, w: float) -> str:
    return f"g={g:g},w={w:g}"


def choose(
    blend: FilterBlend,
    parts: Callable[[np.ndarray], BlendParts],
    train: Any,
    held: Sequence[np.ndarray],
    *,
    gs: Iterable[float] = GS,
    ws: Iterable[float] = WS,
) -> FilterBlend:
    """``blend`` with the ``g`` and ``w`` whose served score ranks the ``held`` (validation)
    items best by NDCG@20; every pair's figures kept in ``validation``."""
    grid = {grid_name(g, w): blend.weighted(g, w) for g in gs for w in ws}
    if blend.emb_cov is None:  # no embedding: its weight cannot matter
        grid = {n: b for n, b in grid.items() if b.w == 0} or grid
    measured = evaluate_blends(parts, train, held, grid)
    best = max(grid, key=lambda n: (measured[n].ndcg, -grid[n].w, -grid[n].g))
    return replace(
        grid[best],
        validation={n: {"recall": round(m.recall, 5), "ndcg": round(m.ndcg, 5)}
                    for n, m in measured.items()},
    )  # fmt: skip


@dataclass
class HistoryBlend:
    """The served score of one user from a history of videos, exactly as the feed's ``blend``
    source computes it on the spine (``BlendSource.store_rows``): the history's list rows
    summed, the history's query vectors summed (. every key), the user's embedding (. every
    unit video embedding), :meth:`FilterBlend.score` of every video. The learned ranker's
    offline training lists (:func:`graphrec.learn.ranker.training_lists`) score their users
    with one built from the validation split's training part only."""

    blend: FilterBlend  # the served g, w; the statistics of these keys and embeddings
    lists: Any  # videos x videos (sparse): the item-to-item lists (row = from-video)
    query: np.ndarray  # videos x d: the spectral query vectors
    key: np.ndarray  # videos x d: the stored (scaled) spectral keys
    users: np.ndarray | None = None  # users x k: the users' embeddings
    videos: np.ndarray | None = None  # videos x k: the unit video embeddings

    def score(self, user: int, history: Sequence[int]) -> np.ndarray:
        """The served score of every video for ``user`` (a row of ``users``) with these
        history videos (each counting alike)."""
        h = np.asarray(history, dtype=np.int64)
        lists = np.asarray(self.lists[h].sum(axis=0), dtype=np.float32).ravel()
        q = self.query[h].sum(axis=0).astype(np.float32)
        emb = u = None
        if self.users is not None and self.videos is not None and self.blend.w > 0:
            u = self.users[user].astype(np.float32)
            emb = self.videos @ u
        return np.asarray(self.blend.score(lists, self.key @ q, emb, query=q, user=u))


__all__ = [
    "GS", "WS", "BlendParts", "FilterBlend", "HistoryBlend", "choose", "covariance",
    "evaluate_blends", "fit_blend", "grid_name", "unit_rows",
]  # fmt: skip


def fit_blend(
    train: Any,
    held: Sequence[np.ndarray],
    *,
    lists_on: Callable[[Any, Any], Any],
    rank: int,
    seed: int,
    embeddings: Callable[[Any], tuple[np.ndarray, np.ndarray]] | None,
    keys: np.ndarray,
    scale: float,
    video_embeddings: np.ndarray | None,
    neighbours: int = 50,
    gs: Iterable[float] = GS,
    ws: Iterable[float] = WS,
) -> FilterBlend:
    """The served blend for the graph, ``g`` and ``w`` chosen on validation.

    Validation: ``train`` (users x videos, the split the embeddings were trained on) and its
    ``held`` items per user: the lists (``lists_on(train)``, as the ``similar`` source would
    store them, from ``train`` and the filter fitted on it: the high-pass lists or EASE's), the filter's vectors and the embeddings
    (``embeddings(train)``: users x k and videos x k) are all computed on ``train``, the
    grid scored on ``held``. The returned blend carries the statistics of what is served:
    the stored ``keys`` (with ``scale``) and ``video_embeddings`` of the whole graph.
    """
    from graphrec.learn.baselines import binary
    from graphrec.learn.spectral import fit_filter

    x = binary(train)
    filt, vec = fit_filter(x, rank=rank, seed=seed)
    lists = lists_on(x, filt)
    key_t = np.ascontiguousarray(vec.key.T)
    users_e = items_e = unit = None
    if embeddings is not None:
        users_e, items_e = embeddings(x)
        unit = unit_rows(items_e)
    inner = FilterBlend.fit(vec.key, vec.scale, items_e)

    def parts(u: np.ndarray) -> BlendParts:
        h = x[u]
        q = np.asarray(h @ vec.query, dtype=np.float32)
        lst = h @ lists
        return BlendParts(
            lists=lst.toarray() if hasattr(lst, "toarray") else np.asarray(lst),
            spectral=q @ key_t, query=q,
            embedding=None if unit is None or users_e is None else users_e[u] @ unit.T,
            user=None if users_e is None else users_e[u],
        )  # fmt: skip

    chosen = choose(inner, parts, x, held, gs=gs, ws=ws)
    served = FilterBlend.fit(keys, scale, video_embeddings, g=chosen.g, w=chosen.w)
    served.validation = chosen.validation
    return served
