"""The learned feed ranker: LightGBM learning to rank (lambdarank) over the candidates the
sources propose, instead of hand-set source weights.

**Features** (:data:`FEATURES`, one function for training and serving: :func:`feature_matrix`):
the item-to-item source's rank and raw score (and the score over the user's best), the tag
affinity from the user's online state (summed and the best tag relative to the user's
strongest), the creator's net skips and whether the user follows the creator, the video's
counters (log engaged users, like rate) and recency (days since its first and its latest
engagement). The counters come from a per-video table stored with the model (a snapshot at
training); affinity, skips, follows and the item-to-item walk come from the user's online
state, so the next feed still reflects each event.

**Training lists** (:func:`training_lists`): an imported history has few served impressions,
so lists are built the standard way from a validation split carved from the graph: each
user's latest 20 % of engagements (by time) are held out; at that point the item-to-item
source (neighbours fitted on the inner part only, the recency scale chosen on validation)
proposes its top candidates and the most engaged videos fill the rest; each candidate is
labelled by the held-out engagement with it, graded by the product's event weights
(:data:`graphrec.domain.KIND_WEIGHTS`: a like counts 1, a view 0.1). The feed's strongest
source, ``blend`` (the served score, :class:`graphrec.learn.blend.HistoryBlend`: the same
:meth:`FilterBlend.score` with the served ``g`` and ``w``, its lists, vectors and embeddings
from the inner part), proposes its top candidates first, as in the feed: ``rank_blend`` is a
feature of the validation model (:data:`VALIDATION_FEATURES`) and each candidate's blend
score is kept. Nothing of the test data is seen; the features use only the inner part.

**Choice**: the hyper-parameters are chosen on 30 % of the validation users (the rest
train), against the hand-weighted score and the blend's own order (what the feed serves with
no ranker) on the same lists; the model is published only when it beats the better of
them, then refitted on every validation user. It is stored as one file
(``settings.learn_ranker``, an ``.npz``: the LightGBM model text, the feature names, the
per-video table) written atomically, and recorded on ``(:Model {id: 'ranker'})``.
:func:`feed_ranker` gives the rank step both feed paths call (``Recommender`` on Neo4j,
``StreamRecommender`` on the spine): the model when the file exists, else the hand weights.

**The served impressions' log** (:func:`log_vectors`): every ranked feed keeps, per served
video, its :data:`FEATURES` row (which adds every source's rank and the live counters to the
validation features) and :data:`LOG_EXTRAS` (the hand score, the cold-start and exploration
slot flags) on its ``SAW`` (``x``, with ``pos``), on both feed paths. :func:`train_from_logs`
reads them back (``learn/impression_lists``: one list per served feed, labelled by
:func:`log_grade` from what the user did after the serve), fits :data:`LOG_GRID` on the
earlier feeds and publishes the best (all :data:`FEATURES`) only when it beats the hand
weights and the current model on the latest ones (:func:`fit_log_ranker`). ``graphrec train``
runs it after the validation ranker; the simulated day at every pool cycle.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
import logging
import math
import os
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphrec.domain import INTERACTIONS, KIND_WEIGHTS, EventKind
from graphrec.feed.policy import FeedPolicy, Mix
from graphrec.feed.sources import Candidate, UserContext, _rank_relevance
from graphrec.learn.blend import HistoryBlend

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
# The item-to-item source, the user's online state and the video's counters: what the
# validation lists (an imported history) can hold at a past time.
BASE_FEATURES: tuple[str, ...] = (
    "similar_rank",  # 1 (the source's best) .. 0.5; 0: not proposed by it
    "similar_score",  # the source's raw score (recency-weighted co-engagement)
    "similar_norm",  # raw score / the user's best raw score among the candidates
    "affinity",  # squashed sum of the user's weights on the video's tags
    "affinity_top",  # the video's best tag weight / the user's strongest tag weight
    "creator_skips",  # the user's net skips of the creator's videos
    "follows_creator",  # 1 when the user follows the creator
    "popularity",  # log(1 + users who engaged with the video)
    "like_rate",  # likes / users who engaged
    "age_days",  # days from the video's first engagement to now (log1p, signed)
    "idle_days",  # days from its latest engagement to now (log1p, signed)
)
# Every source that can propose a candidate (graphrec.feed.sources.default_sources).
SOURCES: tuple[str, ...] = (
    "similar", "blend", "spectral", "embedding", "following", "interest", "community", "pools",
    "spillover", "lookback", "cold_start", "catalogue",
)  # fmt: skip
# What only a served feed knows (every source's rank, the live counters): the features of a
# ranker trained on the graph's served impressions (:func:`impression_lists`).
FEATURES: tuple[str, ...] = (
    *BASE_FEATURES,
    "relevance",  # the best rank relevance over the sources that proposed it (1 .. 0.5)
    "n_sources",  # how many sources proposed it
    "quality",  # live engagement per impression (the row's quality column)
    "duration_s",  # log1p of its duration in seconds (NaN unknown)
    *(f"rank_{s}" for s in SOURCES if s != "similar"),  # each source's rank; 0 not proposed
)
# What the validation lists hold: the base features and the served score's rank (the blend
# source's candidates scored offline by the same function, graphrec.learn.blend.HistoryBlend).
VALIDATION_FEATURES: tuple[str, ...] = (*BASE_FEATURES, "rank_blend")
# Logged with each served impression after FEATURES: the hand-weighted score (the baseline a
# log-trained model must beat) and the slot that placed it (cold start, exploration).
LOG_EXTRAS: tuple[str, ...] = ("hand_score", "cold_start_slot", "exploration_slot")
LOGGED: tuple[str, ...] = (*FEATURES, *LOG_EXTRAS)
MIN_KNOWN = 0.5  # under this share of candidates in the model's table: the hand weights
HISTORY = 200  # the item-to-item walk's history (SimilarSource.history, spine RECENT)
PER_SOURCE = 40  # candidates per source offline, as the feed asks (candidates_per_source)
GRID: tuple[dict[str, Any], ...] = (
    {"n_estimators": 150, "num_leaves": 15, "learning_rate": 0.05, "min_child_samples": 20},
    {"n_estimators": 300, "num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 20},
    {"n_estimators": 400, "num_leaves": 7, "learning_rate": 0.05, "min_child_samples": 50},
)
Ranker = Callable[[Sequence[Candidate], UserContext, FeedPolicy, Mix], None]


def columns(names: Sequence[str]) -> list[int]:
    """The positions of ``names`` in :data:`LOGGED` (FEATURES first)."""
    return [LOGGED.index(n) for n in names]


def _slog(x: float) -> float:
    return math.copysign(math.log1p(abs(x)), x)


@dataclass
class VideoTable:
    """Per-video counters the ranker reads: engaged users, like rate, first/latest engagement
    time (ms; NaN unknown)."""

    index: dict[str, int]
    engaged: np.ndarray
    like_rate: np.ndarray
    first_at: np.ndarray
    last_at: np.ndarray

    @classmethod
    def build(
        cls,
        video_ids: Sequence[str],
        engaged: sp.csr_matrix,
        liked: sp.csr_matrix,
        at: sp.csr_matrix,
    ) -> VideoTable:
        """From binary users x videos matrices (engaged, liked) and engagement times."""
        n = np.asarray((engaged > 0).sum(axis=0), dtype=np.float64).ravel()
        likes = np.asarray((liked > 0).sum(axis=0), dtype=np.float64).ravel()
        t = sp.csc_matrix(at)
        first = np.full(t.shape[1], np.nan)
        last = np.full(t.shape[1], np.nan)
        for j in range(t.shape[1]):
            d = t.data[t.indptr[j] : t.indptr[j + 1]]
            d = d[d > 0]
            if len(d):
                first[j], last[j] = d.min(), d.max()
        return cls(
            {v: i for i, v in enumerate(video_ids)},
            n,
            np.where(n > 0, likes / np.maximum(n, 1.0), 0.0),
            first,
            last,
        )

    @classmethod
    def empty(cls) -> VideoTable:
        """No counters (a feed ranked by the hand weights): those features are NaN."""
        z = np.zeros(0)
        return cls({}, z, z, z, z)


EMPTY_TABLE = VideoTable.empty()
# The rank columns after the base features and the four served ones, by source (the
# "similar" rank is a base feature).
_RANK_AT = {s: k for k, s in enumerate(x for x in SOURCES if x != "similar")}
_NO_RANKS = [0.0] * len(_RANK_AT)


def feature_matrix(
    candidates: Sequence[Candidate],
    ctx: UserContext,
    table: VideoTable,
    among: Sequence[Candidate] | None = None,
) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate (the same code trains and serves);
    ``among``: the whole candidate list the user's best similar score is taken over (the
    candidates themselves when None: a served page's rows are logged with the list's).

    The rows are made as Python numbers and cast to float32 in one array at the end (the
    cast an element-wise store makes, so the same bits); the table's counters are gathered
    once, and each candidate's ranks are placed by the sources it has, not looked up for
    every source: 40 % less CPU than filling the array cell by cell, which a fill or a miss
    spent logging its 120 queued rows (``tests/test_feed_ranker.py`` checks it against that
    cell-by-cell definition)."""
    n = len(candidates)
    if not n:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    weights = ctx.tag_weights
    strongest = max((w for w in weights.values() if w > 0), default=0.0)
    pool = candidates if among is None else among
    best_sim = max((c.scores.get("similar", 0.0) for c in pool), default=0.0)
    follows = set(ctx.follows)
    skips = ctx.skipped_creators
    js = [table.index.get(c.video_id) for c in candidates]
    known = [j for j in js if j is not None]
    engaged = table.engaged[known].tolist()
    like_rate = table.like_rate[known].tolist()
    first_at = table.first_at[known].tolist()
    last_at = table.last_at[known].tolist()
    now, nan = ctx.now, math.nan
    flat: list[float] = []
    add = flat.extend
    k = 0
    for c, j in zip(candidates, js, strict=True):
        ranks = c.ranks
        sim = c.scores.get("similar", 0.0)
        tw = [weights.get(t, 0.0) for t in c.tags]
        aff = sum(tw)
        if j is None:  # a video newer than the model: unknown counters
            pop = likes = age = idle = nan
        else:
            first, last = first_at[k], last_at[k]
            pop, likes = math.log1p(engaged[k]), like_rate[k]
            age = _slog((now - first) / DAY_MS) if not math.isnan(first) else nan
            idle = _slog((now - last) / DAY_MS) if not math.isnan(last) else nan
            k += 1
        add((
            ranks.get("similar", 0.0), sim, sim / best_sim if best_sim > 0 else 0.0,
            aff / (1.0 + abs(aff)), max(tw, default=0.0) / strongest if strongest > 0 else 0.0,
            skips.get(c.creator_id, 0), 1.0 if c.creator_id in follows else 0.0,
            pop, likes, age, idle,
            c.relevance, len(c.sources) if c.sources else 1, c.quality,
            math.log1p(c.duration_ms / 1000) if c.duration_ms else nan,
        ))  # fmt: skip
        by_source = _NO_RANKS.copy()
        for name, r in ranks.items():
            at = _RANK_AT.get(name)
            if at is not None:
                by_source[at] = r
        add(by_source)
    return np.array(flat, dtype=np.float32).reshape(n, len(FEATURES))


# --- the model file ------------------------------------------------------------------------


@dataclass
class RankerModel:
    """A trained ranker: the LightGBM booster, its features and the video table."""

    booster: Any  # lightgbm.Booster
    table: VideoTable
    meta: dict[str, Any] = field(default_factory=dict)
    features: tuple[str, ...] = BASE_FEATURES  # the columns of FEATURES it was trained on

    @property
    def residual(self) -> bool:
        """Trained from the hand weights (LightGBM ``init_score``): its score is the hand
        score plus the booster's correction."""
        return bool(self.meta.get("residual"))

    def predict(self, x: np.ndarray, hand: np.ndarray | None = None) -> np.ndarray:
        """Scores of rows of :data:`FEATURES` (or of :data:`LOGGED`: the extras are left);
        a residual model adds ``hand`` (else the rows' logged hand score)."""
        out = np.asarray(
            self.booster.predict(x[:, columns(self.features)], num_threads=1), dtype=np.float64
        )
        if self.residual:
            out += hand if hand is not None else x[:, LOGGED.index("hand_score")]
        return out

    def save(self, path: Path) -> Path:
        """Write the model as one ``.npz`` file, atomically (a reader never sees half)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        ids = sorted(self.table.index, key=self.table.index.__getitem__)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            np.savez(
                f,
                model=np.array(self.booster.model_to_string()),
                features=np.array(self.features),
                meta=np.array(json.dumps(self.meta)),
                video_ids=np.array(ids),
                engaged=self.table.engaged,
                like_rate=self.table.like_rate,
                first_at=self.table.first_at,
                last_at=self.table.last_at,
            )
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: Path) -> RankerModel:
        import lightgbm as lgb

        with np.load(path, allow_pickle=False) as z:
            features = tuple(str(f) for f in z["features"])
            if not set(features) <= set(FEATURES):
                raise ValueError(f"{path}: trained on other features; retrain (graphrec train)")
            booster = lgb.Booster(model_str=str(z["model"]))
            ids = [str(v) for v in z["video_ids"]]
            table = VideoTable(
                {v: i for i, v in enumerate(ids)},
                z["engaged"], z["like_rate"], z["first_at"], z["last_at"],
            )  # fmt: skip
            meta = json.loads(str(z["meta"]))
        return cls(booster, table, meta, features)

    def rank(self, candidates: Sequence[Candidate], ctx: UserContext, policy: FeedPolicy,
             m: Mix) -> None:  # fmt: skip
        """Set ``score`` on every candidate (in place): the model's score, plus the
        scenario's duration preference, minus the policy's penalty per creator skip."""
        from graphrec.feed.rank import score

        if not candidates:
            return
        known = sum(c.video_id in self.table.index for c in candidates)
        if self.table.index and known < MIN_KNOWN * len(candidates):  # another graph's
            score(candidates, ctx, policy, m)
            return
        x = feature_matrix(candidates, ctx, self.table)
        for c, row in zip(candidates, x, strict=True):
            c.features = row  # what log_vectors logs for it, over this same list
        if self.residual:  # the hand score holds the duration preference and skip penalty
            from graphrec.feed.rank import hand_score

            hand = np.array([hand_score(c, ctx, policy, m) for c in candidates])
            for c, h in zip(candidates, hand.tolist(), strict=True):
                c.hand = h  # what log_vectors logs for it
            for c, p in zip(candidates, self.predict(x, hand).tolist(), strict=True):
                c.score = float(p)
            return
        pred = self.predict(x)
        for c, p in zip(candidates, pred.tolist(), strict=True):
            penalty = policy.skip_penalty * ctx.skipped_creators.get(c.creator_id, 0)
            c.score = float(p) + m.scenario.prefers(c.duration_ms) - penalty


class FeedRanker:
    """The rank step both feed paths call: the published model (``path``), re-read when
    the file changes (checked every ``check_s`` seconds), else the hand-weighted score."""

    def __init__(self, path: Path, *, check_s: float = 5.0) -> None:
        self.path = path
        self.check_s = check_s
        self._model: RankerModel | None = None
        self._stamp: tuple[float, int] | None = None
        self._checked = -math.inf
        self._lock = threading.Lock()

    @property
    def model(self) -> RankerModel | None:
        now = time.monotonic()
        if now - self._checked >= self.check_s:
            with self._lock:
                self._checked = now
                try:
                    st = self.path.stat()
                    stamp: tuple[float, int] | None = (st.st_mtime, st.st_size)
                except OSError:
                    stamp = None
                if stamp != self._stamp:
                    self._stamp = stamp
                    self._model = RankerModel.load(self.path) if stamp else None
        return self._model

    def reload(self) -> None:
        """Re-read the file at the next call (a refit just wrote it)."""
        with self._lock:
            self._checked, self._stamp, self._model = -math.inf, None, None

    def __call__(self, candidates: Sequence[Candidate], ctx: UserContext, policy: FeedPolicy,
                 m: Mix) -> None:  # fmt: skip
        from graphrec.feed.rank import score

        model = self.model
        if model is None:
            score(candidates, ctx, policy, m)
        else:
            model.rank(candidates, ctx, policy, m)


_RANKERS: dict[Path, FeedRanker] = {}


def feed_ranker(path: Path) -> FeedRanker:
    """One shared :class:`FeedRanker` per model path in this process."""
    key = path.resolve()
    if key not in _RANKERS:
        _RANKERS[key] = FeedRanker(key)
    return _RANKERS[key]


# --- the served impressions' log ----------------------------------------------------------


def ranker_table(ranker: object) -> VideoTable:
    """The video table the rank step reads (its model's; none for the hand weights): the
    counters logged with a served feed are the ones its ranker saw."""
    model = ranker if isinstance(ranker, RankerModel) else getattr(ranker, "model", None)
    return model.table if isinstance(model, RankerModel) else EMPTY_TABLE


# A logged vector's text: this tag, then base64 of the row as little-endian float32 (the
# ranker's own feature type). Logs written before it are numbers to 5 significant digits
# joined by "," (NaN empty): decode_log reads both.
LOG_TAG = "@"
_HAND, _COLD, _EXPLORE = (LOGGED.index(n) for n in LOG_EXTRAS)


def encode_logs(rows: np.ndarray) -> list[str]:
    """Logged vectors (the rows of ``rows``) as compact strings: :data:`LOG_TAG` and base64
    of the row's float32 bytes, no tab, no ";" and no "," (they travel in queue entries and
    stream fields). Exactly the float32 numbers the ranker saw, at about a seventh of the CPU of
    formatting each number as text (which a fill or a miss spent on its 120 queued rows)."""
    x = np.ascontiguousarray(rows, dtype="<f4")
    if x.ndim != 2:
        raise ValueError(f"logged rows must be a matrix, not shape {x.shape}")
    width, buf = x.shape[1] * 4, x.tobytes()
    return [LOG_TAG + base64.b64encode(buf[i : i + width]).decode("ascii")
            for i in range(0, len(buf), width)]  # fmt: skip


def encode_log(row: Sequence[float]) -> str:
    """One logged vector as :func:`encode_logs` writes it."""
    return encode_logs(np.asarray([row], dtype=np.float32))[0]


@functools.lru_cache(maxsize=64)
def _f32s(n: int) -> struct.Struct:
    return struct.Struct(f"<{n}f")


def decode_log(text: str | None) -> list[float] | None:
    """A logged vector's string as floats: :func:`encode_log`'s (float32 numbers), or the
    earlier text (numbers joined by ",", NaN where empty); None for no string."""
    if not text:
        return None
    if text[0] == LOG_TAG:  # binascii and a kept Struct: 1.5 us against numpy's 2.5
        raw = binascii.a2b_base64(text[1:])
        if len(raw) % 4:
            raise ValueError(f"a logged vector holds whole float32s, not {len(raw)} bytes")
        return list(_f32s(len(raw) // 4).unpack(raw))
    return [float(t) if t else math.nan for t in text.split(",")]


def log_vectors(chosen: Sequence[Candidate], among: Sequence[Candidate], ctx: UserContext,
                table: VideoTable, policy: FeedPolicy, m: Mix) -> list[str]:  # fmt: skip
    """Per served candidate, what the ranker saw and the hand weights knew: its
    :data:`FEATURES` row (over the whole candidate list ``among``) then :data:`LOG_EXTRAS`,
    as :func:`encode_log` strings (kept with the impression, never in the item JSON)."""
    from graphrec.feed.rank import hand_score

    if not chosen:
        return []
    if all(c.features is not None for c in chosen):
        # Scored by the learned ranker over ``among``: the rows it saw (the same numbers as
        # recomputing them, at none of the cost: a queue logs 120 rows a fill).
        x = np.stack([c.features for c in chosen])
    else:
        x = feature_matrix(chosen, ctx, table, among=among)
    rows = np.empty((len(chosen), len(LOGGED)), dtype=np.float32)
    rows[:, : len(FEATURES)] = x
    rows[:, _HAND] = [c.hand if c.hand is not None else hand_score(c, ctx, policy, m)
                      for c in chosen]  # fmt: skip
    rows[:, _COLD] = [c.source == "cold_start" for c in chosen]
    rows[:, _EXPLORE] = [c.exploration for c in chosen]
    return encode_logs(rows)


# --- training ------------------------------------------------------------------------------

# Relevance grades of a held-out engagement: the product's event weights (a follow goes to the
# creator, a skip is a "no": neither grades a video).
GRADED: tuple[tuple[str, float], ...] = tuple(
    sorted(
        ((INTERACTIONS[k.value][0], w) for k, w in KIND_WEIGHTS.items()
         if w > 0 and k is not EventKind.follow),
        key=lambda x: x[1],
    )
)  # fmt: skip
GAINS: tuple[float, ...] = (0.0, *sorted({w for _, w in GRADED}))


@dataclass
class TrainingLists:
    """Candidate lists of the validation users: features, grades, group sizes, and the
    candidates and contexts (to score the hand weights on the same lists)."""

    x: np.ndarray
    grade: np.ndarray  # int index into GAINS
    groups: list[int]
    users: list[int]
    candidates: list[list[Candidate]]
    contexts: list[UserContext]
    ideal: list[float]  # each user's ideal DCG@20 over every held-out engagement
    # Per list, the served blend score of each candidate (None: no blend): its own order is
    # what the feed serves with no ranker, the baseline a ranker must beat.
    blend: list[np.ndarray] | None = None


def _liked_tags(
    video_tags: Sequence[Sequence[str]], liked_order: Sequence[int]
) -> dict[str, float]:
    """Tag weights as the online state reads imported history: 0.25 per like of the tag,
    over the latest 50 likes."""
    out: dict[str, float] = {}
    for j in liked_order[:50]:
        for t in video_tags[j]:
            out[t] = out.get(t, 0.0) + 0.25
    return out


def training_lists(
    *,
    video_ids: Sequence[str],
    video_creator: Sequence[str | None],
    video_tags: Sequence[Sequence[str]],
    inner_ranks: sp.csr_matrix,
    held: Sequence[np.ndarray],
    neighbours: sp.csr_matrix,
    tau: float,
    at: sp.csr_matrix,
    by_type: dict[str, sp.csr_matrix],
    k: int = 20,
    blend: HistoryBlend | None = None,
) -> tuple[TrainingLists, VideoTable]:
    """The validation users' candidate lists at their split time (see the module docstring).

    ``inner_ranks``: each user's inner engagements by position (1 latest); ``held``: their
    held-out items; ``neighbours``: item-to-item fitted on the inner part; ``at``: the latest
    engagement time per (user, video); ``by_type``: the same per relationship type;
    ``blend``: the served score with parts fitted on the inner part only (the feed's
    ``blend`` source offline: its top :data:`PER_SOURCE` unseen videos by the score of the
    latest :data:`HISTORY` inner engagements, ``rank_blend`` their rank as the feed gives it,
    and every candidate's score kept for the blend's own order)."""
    from graphrec.learn.similar import recency_weights

    inner = sp.csr_matrix(inner_ranks)
    inner_bin = (inner > 0).astype(np.float32).tocsr()
    at_inner = sp.csr_matrix(sp.csr_matrix(at).multiply(inner_bin))
    liked = by_type.get("LIKED")
    liked_inner = (
        sp.csr_matrix(liked.multiply(inner_bin))
        if liked is not None
        else sp.csr_matrix(inner.shape)
    )
    table = VideoTable.build(video_ids, inner_bin, liked_inner, at_inner)
    hist = sp.csr_matrix(inner, copy=True)
    hist.data[hist.data > HISTORY] = 0.0
    hist.eliminate_zeros()
    sim = (recency_weights(hist, tau) @ neighbours).tocsr()
    popular = np.argsort(-table.engaged, kind="stable")
    grades = {t: GAINS.index(w) for t, w in GRADED}
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    xs, gs, groups, users, cands, ctxs, ideals = [], [], [], [], [], [], []
    blends: list[np.ndarray] = []
    for u, items in enumerate(held):
        lo, hi = inner.indptr[u], inner.indptr[u + 1]
        if not len(items) or hi == lo:
            continue
        seen = set(inner.indices[lo:hi].tolist())
        grade: dict[int, int] = {}
        for t, m in by_type.items():
            g = grades.get(t)
            if g is None:
                continue
            row = m[u]
            for j in np.intersect1d(row.indices[row.data > 0], items).tolist():
                grade[j] = max(grade.get(j, 0), g)
        if not any(grade.values()):
            continue
        at_row = at.getrow(u)
        held_set = set(items.tolist())
        held_at = [float(t) for j, t in zip(at_row.indices, at_row.data, strict=True)
                   if j in held_set and t > 0]  # fmt: skip
        now = min(held_at) if held_at else float(at_row.data.max(initial=0.0))
        order = inner.indices[lo:hi][np.argsort(inner.data[lo:hi])]
        liked_set = set(liked.getrow(u).indices.tolist()) if liked is not None else set()
        liked_order = [j for j in order.tolist() if j in liked_set]
        ctx = UserContext(
            user_id=str(u), tag_weights=_liked_tags(video_tags, liked_order), tag_origin={},
            follows=[], skipped_creators={}, communities=[], has_embedding=False,
            seen=set(), realtime=True, now=int(now),
        )  # fmt: skip
        row = sim.getrow(u)
        value = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        top = [j for j in sorted(value, key=lambda j: (-value[j], j))
               if j not in seen and value[j] > 0][:PER_SOURCE]  # fmt: skip
        found: dict[int, Candidate] = {}
        served: np.ndarray | None = None
        if blend is not None:  # first, as in default_sources (the feed's merge order)
            lo_h, hi_h = hist.indptr[u], hist.indptr[u + 1]
            served = blend.score(u, hist.indices[lo_h:hi_h])
            masked = served.astype(np.float64)
            masked[list(seen)] = -np.inf
            want = min(PER_SOURCE, len(masked))
            part = np.argpartition(-masked, want - 1)[:want]
            best_b = [int(j) for j in part[np.lexsort((part, -masked[part]))]
                      if np.isfinite(masked[j])]  # fmt: skip
            for j, rel in zip(best_b, _rank_relevance(len(best_b)), strict=True):
                c = _candidate(j, video_ids, video_creator, video_tags, "blend")
                c.ranks["blend"], c.scores["blend"], c.relevance = rel, float(served[j]), rel
                found[j] = c
        for j, rel in zip(top, _rank_relevance(len(top)), strict=True):
            c = found.get(j) or _candidate(j, video_ids, video_creator, video_tags, "similar")
            if j in found:  # proposed by both: merged as the feed merges (rank.merge)
                c.sources.append("similar")
                if rel > c.relevance:
                    c.source, c.relevance = "similar", rel
            else:
                c.relevance = rel
            c.ranks["similar"] = rel
            c.scores["similar"] = float(value[j])
            found[j] = c
        filled = 0
        for j in popular.tolist():
            if filled >= PER_SOURCE:
                break
            if j in seen:
                continue
            filled += 1
            if j not in found:
                c = _candidate(j, video_ids, video_creator, video_tags, "catalogue")
                c.relevance = 1.0 - 0.5 * (filled - 1) / (PER_SOURCE - 1)
                c.ranks["catalogue"] = c.relevance
                found[j] = c
        listed = list(found.values())
        js = list(found)
        xs.append(feature_matrix(listed, ctx, table))
        gs.append(np.array([grade.get(j, 0) for j in js], dtype=np.int32))
        groups.append(len(listed))
        users.append(u)
        cands.append(listed)
        ctxs.append(ctx)
        if served is not None:
            blends.append(served[js].astype(np.float64))
        best = sorted((GAINS[g] for g in grade.values()), reverse=True)[:k]
        ideals.append(float(np.dot(best, disc[: len(best)])))
    x = np.concatenate(xs) if xs else np.zeros((0, len(FEATURES)), np.float32)
    labels = np.concatenate(gs) if gs else np.zeros(0, np.int32)
    lists = TrainingLists(x, labels, groups, users, cands, ctxs, ideals,
                          blends if blend is not None else None)  # fmt: skip
    return lists, table


def _candidate(j: int, ids: Sequence[str], creator: Sequence[str | None],
               tags: Sequence[Sequence[str]], source: str) -> Candidate:  # fmt: skip
    return Candidate(
        video_id=ids[j], creator_id=creator[j] or "", tags=list(tags[j]), source=source,
        relevance=0.0, reason="", sources=[source],
    )  # fmt: skip


def list_ndcg(scores: Sequence[np.ndarray], grades: Sequence[np.ndarray],
              ideal: Sequence[float], k: int = 20,
              gain_of: Sequence[float] = GAINS) -> float:  # fmt: skip
    """Mean graded NDCG@k of lists ordered by ``scores`` (ideal over every held-out item)."""
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.array(gain_of)
    out = []
    for s, g, i in zip(scores, grades, ideal, strict=True):
        top = np.lexsort((np.arange(len(s)), -s))[:k]
        out.append(float(np.dot(gains[g[top]], disc[: len(top)])) / i if i > 0 else 0.0)
    return float(np.mean(out)) if out else 0.0


def _split(arr: np.ndarray, groups: Sequence[int], pick: Sequence[int]) -> np.ndarray:
    bounds = np.r_[0, np.cumsum(groups)]
    return np.concatenate([arr[bounds[i] : bounds[i + 1]] for i in pick]) if pick else arr[:0]


def _fit(lists: TrainingLists, pick: Sequence[int], params: dict[str, Any], threads: int) -> Any:
    cols = columns(VALIDATION_FEATURES)
    return _train(
        _split(lists.x, lists.groups, pick)[:, cols], _split(lists.grade, lists.groups, pick),
        [lists.groups[i] for i in pick], params, threads, VALIDATION_FEATURES, GAINS,
    )  # fmt: skip


def _train(x: np.ndarray, label: np.ndarray, groups: Sequence[int], params: dict[str, Any],
           threads: int, names: Sequence[str], gains: Sequence[float],
           init: np.ndarray | None = None) -> Any:  # fmt: skip
    """One LightGBM fit: lambdarank over the lists (``objective`` in ``params``: or a
    pointwise regression on the graded label, the weighted objective), boosted from
    ``init`` (a score per row) when given."""
    import lightgbm as lgb

    objective = params.get("objective", "lambdarank")
    data = lgb.Dataset(
        x,
        label=np.asarray(gains)[label] if objective == "regression" else label,
        group=list(groups) if objective == "lambdarank" else None,
        feature_name=list(names),
        init_score=init,
        free_raw_data=True,
    )
    cfg = {
        "objective": objective,
        "learning_rate": params["learning_rate"],
        "num_leaves": params["num_leaves"],
        "min_data_in_leaf": params["min_child_samples"],
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": 0,
        # Deterministic only with the histogram layout fixed: left to itself, LightGBM times
        # the row-wise and the column-wise build on the first iteration and keeps the faster,
        # whose sums run in another order (its docs ask for one of the force_* flags here).
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": threads,
        "verbosity": -1,
    }
    if objective == "lambdarank":
        cfg.update({"label_gain": list(gains), "lambdarank_truncation_level": 40,
                    "eval_at": [20]})  # fmt: skip
    return lgb.train(cfg, data, num_boost_round=params["n_estimators"])


@dataclass
class RankerFit:
    """What training the ranker chose and measured (on validation users only)."""

    model: RankerModel | None
    published: bool
    params: dict[str, Any]
    validation: dict[str, float]
    lists: int
    rows: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published, "params": self.params,
            "validation_ndcg_at_20": self.validation, "lists": self.lists, "rows": self.rows,
            "seconds": round(self.seconds, 1),
        }  # fmt: skip


def fit_ranker(lists: TrainingLists, table: VideoTable, *, threads: int = 1,
               seed: int = 0) -> RankerFit:  # fmt: skip
    """Choose the hyper-parameters on 30 % of the validation users, compare with the hand
    weights and (``lists.blend``) the served blend's own order on the same users, publish
    only over the better of them and refit on all of them (see the module docstring)."""
    from graphrec.feed.policy import FeedPolicy, mix, scenario
    from graphrec.feed.rank import score

    started = time.perf_counter()
    n = len(lists.groups)
    if n < 10 or not (lists.grade > 0).any():
        return RankerFit(None, False, {}, {}, n, len(lists.grade), time.perf_counter() - started)
    order = np.random.default_rng(seed).permutation(n)
    cut = max(1, int(0.3 * n))
    check, fit_on = sorted(order[:cut].tolist()), sorted(order[cut:].tolist())
    bounds = np.r_[0, np.cumsum(lists.groups)]

    def parts(arr: np.ndarray, pick: Sequence[int]) -> list[np.ndarray]:
        return [arr[bounds[i] : bounds[i + 1]] for i in pick]

    grades = parts(lists.grade, check)
    ideal = [lists.ideal[i] for i in check]
    policy = FeedPolicy()
    m = mix(policy, defaults=Mix({}, 0.0, 0.0, 10**6, 1.0, scenario(None)), sc=scenario(None))
    hand = []
    for i in check:
        score(lists.candidates[i], lists.contexts[i], policy, m)
        hand.append(np.array([c.score for c in lists.candidates[i]]))
    figures = {"hand_weights": round(list_ndcg(hand, grades, ideal), 5)}
    if lists.blend is not None:  # the served score's own order: the feed with no ranker
        figures["blend_order"] = round(list_ndcg([lists.blend[i] for i in check], grades, ideal), 5)
    baseline = max(figures["hand_weights"], figures.get("blend_order", -math.inf))
    best, best_ndcg = GRID[0], -1.0
    for k, params in enumerate(GRID):
        booster = _fit(lists, fit_on, params, threads)
        pred = booster.predict(
            _split(lists.x, lists.groups, check)[:, columns(VALIDATION_FEATURES)],
            num_threads=threads,
        )
        nd = list_ndcg(_groups(np.asarray(pred), [lists.groups[i] for i in check]), grades, ideal)
        figures[f"grid_{k}"] = round(nd, 5)
        if nd > best_ndcg:
            best, best_ndcg = params, nd
    # Published only when it beats the best of the orders the feed serves without it.
    published = round(best_ndcg, 5) > baseline
    model = None
    if published:
        booster = _fit(lists, list(range(n)), best, threads)
        model = RankerModel(booster, table, features=VALIDATION_FEATURES)
    return RankerFit(model, published, dict(best), figures, n, len(lists.grade),
                     time.perf_counter() - started)  # fmt: skip


def _groups(arr: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    bounds = np.r_[0, np.cumsum(sizes)]
    return [arr[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]


# --- training on the served impressions' log -------------------------------------------------

LOG_WINDOW_MS = 30 * 60_000  # what a user did within this long after a serve labels it
MIN_LOG_LISTS = 100  # served feeds with a reaction the log needs before it trains a ranker
LOG_K = 10  # NDCG@k of a served page (pages are 8-20 items)
LOG_TAIL = 0.25  # the latest share of the served feeds: the time-held-out check
MIN_LOG_TAIL = 20  # served feeds with a reaction the check needs (else: wait for more logs)
# A log grade is the sum of the product's event weights over what the user did with the
# video after the serve (graphrec.domain.KIND_WEIGHTS: view 0.1, complete 0.4, comment 0.6,
# follow 0.8, like 1.0, share 1.0; a skip -0.3), at least 0, in tenths: label i gains i / 10.
LOG_GAINS: tuple[float, ...] = tuple(i / 10 for i in range(41))
LOG_GRID: tuple[dict[str, Any], ...] = (
    {"objective": "lambdarank", "n_estimators": 100, "num_leaves": 7, "learning_rate": 0.05,
     "min_child_samples": 20},
    {"objective": "lambdarank", "n_estimators": 200, "num_leaves": 15, "learning_rate": 0.05,
     "min_child_samples": 20},
    {"objective": "regression", "n_estimators": 150, "num_leaves": 15, "learning_rate": 0.05,
     "min_child_samples": 20},
    # boosted from the hand weights (init_score): corrections to a score that already ranks
    {"objective": "lambdarank", "n_estimators": 100, "num_leaves": 7, "learning_rate": 0.05,
     "min_child_samples": 20, "residual": True},
    {"objective": "lambdarank", "n_estimators": 200, "num_leaves": 15, "learning_rate": 0.05,
     "min_child_samples": 20, "residual": True},
)  # fmt: skip
_KIND_OF_TYPE = {INTERACTIONS[k.value][0]: k for k in EventKind}


def log_grade(kinds: Sequence[str], followed: bool) -> int:
    """The label of one served impression from the relationship types of what followed it."""
    g = sum(KIND_WEIGHTS[_KIND_OF_TYPE[t]] for t in set(kinds) if t in _KIND_OF_TYPE)
    if followed:
        g += KIND_WEIGHTS[EventKind.follow]
    return min(len(LOG_GAINS) - 1, round(10 * max(g, 0.0)))


@dataclass
class ImpressionLists:
    """Served feeds read from the graph: each impression's logged vector (:data:`LOGGED`),
    its grade (an index into :data:`LOG_GAINS`), the feeds' sizes, users and serve times."""

    x: np.ndarray
    grade: np.ndarray
    groups: list[int]
    users: list[str]
    at: list[int]
    liked: np.ndarray | None = None  # per impression: liked within the window

    def slots(self) -> dict[str, dict[str, float]]:
        """Per slot kind (relevance, cold start, exploration): impressions, like rate and
        mean graded value: what the cold-start and exploration slots cost per impression."""
        cold = self.x[:, LOGGED.index("cold_start_slot")] > 0
        explore = self.x[:, LOGGED.index("exploration_slot")] > 0
        out = {}
        gains = np.asarray(LOG_GAINS)[self.grade]
        liked = self.liked if self.liked is not None else np.zeros(len(self.grade), bool)
        for name, mask in (("relevance", ~cold & ~explore), ("cold_start", cold),
                           ("exploration", explore & ~cold)):  # fmt: skip
            n = int(mask.sum())
            out[name] = {
                "impressions": n,
                "like_rate": round(float(liked[mask].mean()), 4) if n else 0.0,
                "mean_grade": round(float(gains[mask].mean()), 4) if n else 0.0,
            }
        return out

    def parts(self, arr: np.ndarray, pick: Sequence[int]) -> list[np.ndarray]:
        bounds = np.r_[0, np.cumsum(self.groups)]
        return [arr[bounds[i] : bounds[i + 1]] for i in pick]

    @property
    def useful(self) -> list[int]:
        """The lists whose grades differ (a reaction to some items and not to others)."""
        return [i for i, g in enumerate(self.parts(self.grade, range(len(self.groups))))
                if len(g) > 1 and g.max() > g.min()]  # fmt: skip


def impression_lists(graph: Any, *, since: int = 0, until: int | None = None,
                     window: int = LOG_WINDOW_MS) -> ImpressionLists:  # fmt: skip
    """The served impressions with logged features, one list per served feed, labelled by
    :func:`log_grade` (``learn/impression_lists``). Rows logged with another version's
    vector (a different length) are left out."""
    until = until if until is not None else int(time.time() * 1000) - window
    rows = graph.read("learn/impression_lists", since=since, until=until, window=window)
    # Feed ids are random: lists served at one moment (a simulation serves several) come by
    # user, so a seeded refit sees the same lists in the same order in every run (stable:
    # a feed's rows stay in position order). Sorted here, not in the query: an ORDER BY on
    # the user's id there made the planner scan the SAW.at index instead of seeking it.
    rows.sort(key=lambda r: (r["at"], r["user_id"]))
    xs: list[list[float]] = []
    grades: list[int] = []
    liked: list[bool] = []
    groups: list[int] = []
    users: list[str] = []
    ats: list[int] = []
    last: tuple[str, str] | None = None
    for r in rows:
        x = r["x"]
        if x is None or len(x) != len(LOGGED):
            continue
        key = (r["user_id"], r["feed"])
        if key != last:
            groups.append(0)
            users.append(r["user_id"])
            ats.append(int(r["at"]))
            last = key
        groups[-1] += 1
        xs.append([math.nan if v is None else float(v) for v in x])
        grades.append(log_grade(r["kinds"], bool(r["followed"])))
        liked.append("LIKED" in r["kinds"])
    return ImpressionLists(
        np.asarray(xs, dtype=np.float32).reshape(-1, len(LOGGED)),
        np.asarray(grades, dtype=np.int32), groups, users, ats, np.asarray(liked, dtype=bool),
    )  # fmt: skip


def _ideal(g: np.ndarray, k: int) -> float:
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    best = np.sort(np.asarray(LOG_GAINS)[g])[::-1][:k]
    return float(np.dot(best, disc[: len(best)]))


def _by_keys(first: np.ndarray, then: np.ndarray, groups: Sequence[int]) -> np.ndarray:
    """Per list, a score that orders by ``first``, ties by ``then`` (both higher first)."""
    out = np.zeros(len(first))
    bounds = np.r_[0, np.cumsum(groups)]
    for lo, hi in itertools.pairwise(bounds):
        order = np.lexsort((-then[lo:hi], -first[lo:hi]))
        out[lo + order] = -np.arange(hi - lo, dtype=np.float64)
    return out


def fit_log_ranker(lists: ImpressionLists, current: RankerModel | None, *,
                   threads: int = 1, min_lists: int = MIN_LOG_LISTS) -> RankerFit:  # fmt: skip
    """A ranker from the served impressions: the grid (:data:`LOG_GRID`) is fitted on the
    earlier served feeds and compared on the latest :data:`LOG_TAIL` of them (by serve
    time; after the feeds a log-trained ``current`` model was trained on, at least
    :data:`MIN_LOG_TAIL` of them) with the hand weights (the logged hand score) and the
    ``current`` model (its scores of the logged features; the hand weights when None) and,
    when the pages hold the blend source, the blend's own order (its logged rank, the rest
    by the hand score), NDCG@:data:`LOG_K`; the best is refitted on every feed and returned
    published only when it beats every one of them."""
    started = time.perf_counter()
    useful = lists.useful
    n = len(lists.groups)
    if len(useful) < min_lists:
        return RankerFit(None, False, {}, {}, n, len(lists.grade),
                         time.perf_counter() - started)  # fmt: skip
    order = sorted(range(n), key=lambda i: (lists.at[i], i))
    cut = int((1 - LOG_TAIL) * n)
    # A current model trained on these logs saw feeds up to its ``logs_until``: the tail
    # starts after it, so the comparison never scores a model on feeds it was trained on.
    seen_until = (current.meta.get("logs_until") if current else None) or -math.inf
    while cut < n and lists.at[order[cut]] <= seen_until:
        cut += 1
    head, tail = sorted(order[:cut]), sorted(set(order[cut:]) & set(useful))
    if len(tail) < MIN_LOG_TAIL or not head:
        return RankerFit(None, False, {}, {}, n, len(lists.grade),
                         time.perf_counter() - started)  # fmt: skip
    cols = columns(FEATURES)
    grades = lists.parts(lists.grade, tail)
    ideal = [_ideal(g, LOG_K) for g in grades]

    def ndcg(scores: np.ndarray) -> float:
        return round(list_ndcg(lists.parts(scores, tail), grades, ideal, LOG_K, LOG_GAINS), 5)

    hand = lists.x[:, LOGGED.index("hand_score")].astype(np.float64)
    figures = {"hand_weights": ndcg(hand)}
    figures["current"] = ndcg(current.predict(lists.x)) if current else figures["hand_weights"]
    blend_rank = np.nan_to_num(lists.x[:, LOGGED.index("rank_blend")].astype(np.float64))
    if np.concatenate(lists.parts(blend_rank, tail)).max(initial=0.0) > 0:
        # The served score's own order on each page (its rank; the videos it did not
        # propose after them, by the hand weights): what the feed serves with no ranker.
        figures["blend_order"] = ndcg(_by_keys(blend_rank, hand, lists.groups))
    best, best_ndcg = LOG_GRID[0], -1.0
    head_hand = np.concatenate(lists.parts(hand, head))
    for k, params in enumerate(LOG_GRID):
        booster = _train(
            np.concatenate(lists.parts(lists.x, head))[:, cols],
            np.concatenate(lists.parts(lists.grade, head)),
            [lists.groups[i] for i in head], params, threads, FEATURES, LOG_GAINS,
            head_hand if params.get("residual") else None,
        )  # fmt: skip
        pred = np.asarray(booster.predict(lists.x[:, cols], num_threads=threads))
        nd = ndcg(pred + hand if params.get("residual") else pred)
        figures[f"grid_{k}"] = nd
        if nd > best_ndcg:
            best, best_ndcg = params, nd
    published = best_ndcg > max(figures["hand_weights"], figures["current"],
                                figures.get("blend_order", -math.inf))  # fmt: skip
    model = None
    if published:
        booster = _train(lists.x[:, cols], lists.grade, lists.groups, best, threads, FEATURES,
                         LOG_GAINS, hand if best.get("residual") else None)  # fmt: skip
        model = RankerModel(booster, current.table if current else EMPTY_TABLE,
                            {"residual": bool(best.get("residual"))}, FEATURES)  # fmt: skip
    return RankerFit(model, published, dict(best), figures, n, len(lists.grade),
                     time.perf_counter() - started)  # fmt: skip


def train_from_logs(graph: Any, path: Path, *, now: int | None = None,
                    current: RankerModel | None = None, publish: bool = True,
                    window: int = LOG_WINDOW_MS, min_lists: int = MIN_LOG_LISTS,
                    since: int = 0) -> dict[str, Any]:  # fmt: skip
    """Train on the graph's served impressions (:func:`impression_lists` from ``since`` up
    to ``now`` less the label window) and publish at ``path`` when the model beats the hand
    weights and ``current`` on the latest served feeds (:func:`fit_log_ranker`); returns
    the figures. Cheap (seconds): the simulated day calls it at every pool cycle, the online
    trainer on a sliding window (:class:`LogRankerRefresh`)."""
    now = now if now is not None else int(time.time() * 1000)
    lists = impression_lists(graph, since=since, until=now - window, window=window)
    fit = fit_log_ranker(lists, current, min_lists=min_lists)
    info = {**fit.as_dict(), "useful_lists": len(lists.useful), "source": "impressions"}
    info["tail_ndcg_at_10"] = info.pop("validation_ndcg_at_20")
    if info["useful_lists"] < min_lists:
        info["why"] = f"{info['useful_lists']} served feeds with a reaction (< {min_lists})"
    elif fit.model is None and not fit.params:
        info["why"] = (f"fewer than {MIN_LOG_TAIL} feeds with a reaction among the latest "
                       "(after the current model's logs): waiting for more")  # fmt: skip
    elif fit.model is None:
        info["why"] = "no model beat the hand weights and the current one on the latest feeds"
    if publish and fit.model is not None:
        fit.model.meta = {**fit.model.meta, "trained_at": now, "logs_until": now - window,
                          **info}  # fmt: skip
        fit.model.save(path)
        info["path"] = str(path)
        graph.write(
            "learn/write_model_info", id="ranker",
            props={"published": True, "path": str(path), "source": "impressions",
                   "params": json.dumps(fit.params),
                   "validation": json.dumps(info["tail_ndcg_at_10"]), "trained_at": now},
        )  # fmt: skip
    return info


class LogRankerRefresh:
    """The ranker's online learning: every ``every_s`` seconds, a refit on the served
    impressions of the last ``window_s`` seconds (a sliding window of the logs), published
    at ``path`` only when it beats the hand weights and the model published there now on the
    latest feeds (:func:`train_from_logs`); every API worker's :class:`FeedRanker` picks the
    file up within seconds. Runs in a thread of its own (:meth:`maybe_start`), at most one
    at a time, so the online trainer's fresh events never wait for it."""

    def __init__(self, graph: Any, path: Path, *, every_s: float, window_s: float,
                 min_lists: int = MIN_LOG_LISTS,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.graph, self.path = graph, path
        self.every_s, self.window_s, self.min_lists = every_s, window_s, min_lists
        self.clock = clock
        self.refits = self.published = self.failed = 0
        self.last: dict[str, Any] | None = None
        self._next = clock() + every_s
        self._thread: threading.Thread | None = None

    def due(self) -> bool:
        return self.every_s > 0 and self.clock() >= self._next and not self.running

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> dict[str, Any]:
        """One refit now (in the caller's thread); its figures."""
        self._next = self.clock() + self.every_s
        now = int(self.clock() * 1000)
        current = RankerModel.load(self.path) if self.path.exists() else None
        try:
            info = train_from_logs(
                self.graph, self.path, now=now, current=current, min_lists=self.min_lists,
                since=now - int(self.window_s * 1000),
            )  # fmt: skip
        except Exception as e:  # Neo4j down, a bad file: the next round tries again
            self.failed += 1
            self.last = {"error": f"{type(e).__name__}: {e}", "at": now}
            log.warning("ranker refresh failed: %s", e)
            return self.last
        self.refits += 1
        self.published += "path" in info
        self.last = {"at": now, "published": "path" in info, **info}
        return self.last

    def maybe_start(self) -> bool:
        """Start a refit in its own thread when one is due; True when it started."""
        if not self.due():
            return False
        self._thread = threading.Thread(target=self.run_once, name="ranker-refresh", daemon=True)
        self._thread.start()
        return True

    def join(self, timeout_s: float = 120.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def summary(self) -> dict[str, Any]:
        last = self.last or {}
        return {
            "refits": self.refits,
            "published": self.published,
            "failed": self.failed,
            "last_useful_lists": last.get("useful_lists"),
            "last_tail_ndcg_at_10": last.get("tail_ndcg_at_10"),
            "last_why": last.get("why") or last.get("error"),
        }
