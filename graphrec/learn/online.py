"""Online training: the batch model's vectors keep learning from fresh interactions.

A batch run (``graphrec train``) fits LightGCN on the whole graph; its output vectors (the
propagated, L2-normalised user and video embeddings that Neo4j's vector indexes serve) are
where the :class:`OnlineLearner` starts. Each mini-batch of fresh interactions then moves
only the vectors it touches, by a few optimizer steps on the same sampled-softmax objective
the batch trainer uses (cosine scores over a temperature, one positive against a shared pool
of negatives), so the next retrieval reflects it without a retrain:

- **Rows touched, nothing else**: the vectors live in ``torch.nn.Embedding(sparse=True)``
  tables stepped by plain SGD (its gradient written out, :meth:`OnlineLearner._sgd_step`) or
  ``torch.optim.SparseAdam``; a mini-batch costs in proportion to its size, not to the
  catalogue. Tables grow (doubling) as new users and videos arrive.
- **Negatives** come from the videos recently shown (impressions: weight 0 events, and the
  engaged videos, which were shown too) and, for the rest, uniformly from the known
  catalogue, as the batch trainer samples them.
- **Replay**: a reservoir sample of past positives (seeded with the batch model's training
  pairs) is mixed into each mini-batch, so a burst of one taste does not erase the others.
- **New videos** get a vector before anyone engages (their tags' and creator's mean vectors,
  weighted 0.5 / 0.3 as ``cypher/learn/embed_new_video.cypher`` does); their first audience
  then outweighs that guess (``first_engaged``, 0.8 of the engaging users' mean), then the
  optimizer steps move them. New users start at
  the mean of what they engaged with.
- **Safety gate** (:func:`gate`): the online vectors and the last batch model's are both
  ranked against a held-out tail of the stream (events the learner has not trained on yet);
  a model worse than the batch one by more than a set NDCG margin is not published.

The learner is independent of the transport: the stream consumer (Redis) and the offline
benchmark (``graphrec bench online``) feed it the same :class:`Interactions`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from graphrec.errors import InvalidInput
from graphrec.learn.metrics import RankingMetrics, recall_ndcg

TAG_WEIGHT, CREATOR_WEIGHT, USERS_WEIGHT = 0.5, 0.3, 0.2  # as embed_new_video.cypher


@dataclass
class OnlineConfig:
    """How the online learner steps (defaults chosen on MovieLens, ``graphrec bench online``)."""

    lr: float = 0.01
    optimizer: str = "sgd"  # or "adam" (SparseAdam)
    steps: int = 2  # optimizer steps per mini-batch
    negatives: int = 256  # shared negative pool per step
    impression_share: float = 0.5  # of the negatives, taken from recent impressions when any
    recent_impressions: int = 4_096  # ring buffer of recently shown videos
    # An engaged video was shown: engagements enter that ring too, so the negatives' recent
    # share is drawn by what is popular now (in-batch-style negatives) even where no served
    # feeds are logged (MovieLens): the videos everyone engages with this hour stop outranking
    # the rest merely by being close to every active user.
    engaged_as_shown: bool = True
    popular_share: float = 0.0  # of the negatives, drawn from past positives (by popularity)
    temperature: float = 0.1
    replay_ratio: float = 1.0  # replayed past positives per fresh positive
    replay_capacity: int = 200_000
    # At most this many replayed pairs per update: a trainer that fell behind reads large
    # batches, and replaying as many pairs again would double its cost just when it can least
    # afford it (rehearsal passes make up for it once it has caught up).
    replay_max: int = 5_000
    history: int = 500  # positives kept per user (fold-in, masking in the gate)
    audience: int = 200  # recent engaging users kept per video (fold-in)
    fold_users: float = 1.0  # how far a touched user moves to the mean of its videos
    fold_items: float = 0.1  # how far a touched video moves to the mean of its audience
    move_negatives: bool = False  # step the sampled negatives' vectors too
    first_engaged: float = 0.8  # weight of a video's first audience over its tags/creator prior
    # Every this many events (0: never) a rehearsal pass becomes due: rehearse_epochs epochs
    # over the replay reservoir in steps of rehearse_batch positives, then every user folded
    # into its history (fold_all): the cheap stand-in for a retrain's passes over the whole
    # graph. It never runs inside update(): the caller advances it in slices (rehearse_some)
    # when it has time.
    rehearse_every: int = 10_000
    rehearse_batch: int = 2_000
    rehearse_fold_rows: int = 5_000  # users folded per slice of a pass's fold-in
    rehearse_epochs: int = 2  # epochs over the reservoir a pass (chosen on validation)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.steps < 0 or self.negatives < 1 or self.temperature <= 0:
            raise InvalidInput("online learning needs lr > 0, steps >= 1, negatives >= 1")
        if self.optimizer not in ("sgd", "adam"):
            raise InvalidInput(f"optimizer must be 'sgd' or 'adam', not {self.optimizer!r}")
        if not (0.0 <= self.fold_users <= 1.0 and 0.0 <= self.fold_items <= 1.0):
            raise InvalidInput("fold_users and fold_items must be in [0, 1]")
        if not 0.0 <= self.first_engaged <= 1.0:
            raise InvalidInput("first_engaged must be in [0, 1]")
        if (
            self.rehearse_every < 0
            or self.rehearse_batch < 1
            or self.rehearse_fold_rows < 1
            or self.rehearse_epochs < 1
        ):
            raise InvalidInput(
                "rehearse_every must be >= 0, rehearse_batch, rehearse_fold_rows and "
                "rehearse_epochs >= 1"
            )
        if not 0.0 <= self.popular_share <= 1.0 - self.impression_share:
            raise InvalidInput("popular_share must be in [0, 1 - impression_share]")
        if self.replay_max < 0:
            raise InvalidInput("replay_max must be >= 0")
        if not 0.0 <= self.impression_share <= 1.0 or self.replay_ratio < 0:
            raise InvalidInput("impression_share must be in [0, 1] and replay_ratio >= 0")


@dataclass
class Interactions:
    """A mini-batch of events as the learner reads them.

    ``weights``: > 0 an engagement (its strength), 0 an impression (a shown video: a negative
    candidate), < 0 a skip (also a negative candidate). Optional ``times`` (seconds) are only
    carried for freshness figures.
    """

    user_ids: Sequence[str]
    item_ids: Sequence[str]
    weights: np.ndarray
    times: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float32)
        if not len(self.user_ids) == len(self.item_ids) == len(self.weights):
            raise InvalidInput("user_ids, item_ids and weights must have one entry per event")

    def __len__(self) -> int:
        return len(self.user_ids)


@dataclass
class UpdateStats:
    """What one :meth:`OnlineLearner.update` did."""

    events: int = 0
    positives: int = 0
    replayed: int = 0
    new_users: int = 0
    new_items: int = 0
    loss: float = 0.0
    seconds: float = 0.0


@dataclass
class VectorSnapshot:
    """Unit-length vectors by id, as they would be published (and as the gate ranks them)."""

    user_ids: list[str]
    item_ids: list[str]
    users: np.ndarray
    items: np.ndarray
    item_ready: np.ndarray  # videos that have a vector (others are never recommended)

    def user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.user_ids)}

    def item_index(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.item_ids)}


def _unit(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=-1)


def _segments(lists: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(target, source)`` index arrays of lists of sources, target ``k`` for ``lists[k]``."""
    lengths = np.asarray([len(x) for x in lists], dtype=np.int64)
    sources = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    return np.repeat(np.arange(len(lists)), lengths), sources.astype(np.int64)


def _pairs(pairs: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """``(target, source)`` index arrays of a list of pairs."""
    arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


class _Table:
    """A growable sparse embedding table with its SparseAdam state and an id map."""

    def __init__(self, dim: int, lr: float, optimizer: str = "sgd", capacity: int = 1024) -> None:
        self.dim, self.lr, self.optimizer = dim, lr, optimizer
        self.ids: list[str] = []
        self.index: dict[str, int] = {}
        self.emb = torch.nn.Embedding(max(1, capacity), dim, sparse=True)
        with torch.no_grad():
            self.emb.weight.zero_()
        self.opt = self._optimizer(self.emb)
        self.ready = np.zeros(max(1, capacity), dtype=bool)

    def __len__(self) -> int:
        return len(self.ids)

    def _optimizer(self, emb: torch.nn.Embedding) -> torch.optim.Optimizer:
        if self.optimizer == "adam":
            return torch.optim.SparseAdam(emb.parameters(), lr=self.lr)
        return torch.optim.SGD(emb.parameters(), lr=self.lr)

    @property
    def weight(self) -> torch.Tensor:
        return self.emb.weight

    def _grow(self, needed: int) -> None:
        old = self.emb.weight.shape[0]
        if needed <= old:
            return
        cap = max(needed, 2 * old)
        emb = torch.nn.Embedding(cap, self.dim, sparse=True)
        with torch.no_grad():
            emb.weight.zero_()
            emb.weight[:old] = self.emb.weight
        opt = self._optimizer(emb)
        state = self.opt.state.get(self.emb.weight, {})
        if state:
            opt.state[emb.weight] = {
                k: (
                    torch.cat([v, v.new_zeros((cap - old, *v.shape[1:]))])
                    if torch.is_tensor(v) and v.dim() > 0 and v.shape[0] == old
                    else v
                )
                for k, v in state.items()
            }
        self.emb, self.opt = emb, opt
        ready = np.zeros(cap, dtype=bool)
        ready[:old] = self.ready[:old]
        self.ready = ready

    def add(self, ids: Iterable[str]) -> list[int]:
        """Indices of ``ids``, registering the unknown ones (no vector yet)."""
        ids = ids if isinstance(ids, list | tuple) else list(ids)
        known = list(map(self.index.get, ids))  # all known (the usual case): one C loop
        if None not in known:
            return known  # type: ignore[return-value]
        out = []
        fresh = []
        for i in ids:
            j = self.index.get(i)
            if j is None:
                j = len(self.ids)
                self.index[i] = j
                self.ids.append(i)
                fresh.append(j)
            out.append(j)
        if fresh:
            self._grow(len(self.ids))
        return out

    def set_rows(self, rows: np.ndarray, vectors: torch.Tensor) -> None:
        with torch.no_grad():
            self.emb.weight[torch.from_numpy(rows)] = _unit(vectors.float())
        self.ready[rows] = True

    def unit(self) -> np.ndarray:
        with torch.no_grad():
            return _unit(self.emb.weight[: len(self.ids)]).numpy().copy()


class OnlineLearner:
    """User and video vectors that keep learning from mini-batches of fresh interactions."""

    def __init__(self, dim: int, config: OnlineConfig | None = None) -> None:
        if dim < 1:
            raise InvalidInput("embedding dimension must be >= 1")
        self.config = config or OnlineConfig()
        self.dim = dim
        self.users = _Table(dim, self.config.lr, self.config.optimizer)
        self.items = _Table(dim, self.config.lr, self.config.optimizer)
        self.rng = np.random.default_rng(self.config.seed)
        self.gen = torch.Generator().manual_seed(self.config.seed)
        self.item_tags: dict[int, list[str]] = {}
        self.item_creator: dict[int, str] = {}
        self._members: dict[tuple[str, str], list[int]] = {}  # ("tag"|"creator", key) -> rows
        self._prior_only: set[int] = set()  # videos whose vector is a tags/creator guess
        self.history: dict[int, dict[int, None]] = {}
        self.audience: dict[int, dict[int, None]] = {}
        cap = self.config.replay_capacity
        self._replay_u = np.zeros(cap, dtype=np.int64)
        self._replay_i = np.zeros(cap, dtype=np.int64)
        self._replay_n = 0  # filled slots
        self._replay_seen = 0  # positives offered to the reservoir
        self._recent = np.full(self.config.recent_impressions, -1, dtype=np.int64)
        self._recent_at = 0
        self.dirty_users: set[int] = set()
        self.dirty_items: set[int] = set()
        self.events_seen = 0
        self.rehearsals = 0  # passes started (one is due each rehearse_every events)
        self.rehearsal_passes = 0  # passes finished
        self._pass: Iterator[int] | None = None  # the pass in progress, slice by slice

    # --- building -------------------------------------------------------------------------

    @classmethod
    def from_vectors(
        cls,
        *,
        user_ids: Sequence[str],
        user_vectors: np.ndarray,
        item_ids: Sequence[str],
        item_vectors: np.ndarray,
        history: sp.csr_matrix | None = None,
        item_tags: Mapping[str, Sequence[str]] | None = None,
        item_creator: Mapping[str, str | None] | None = None,
        config: OnlineConfig | None = None,
    ) -> OnlineLearner:
        """Start from a batch model's output vectors; ``history`` (users x items, the batch
        training positives) seeds the replay reservoir and each user's history."""
        uv = np.asarray(user_vectors, dtype=np.float32)
        iv = np.asarray(item_vectors, dtype=np.float32)
        if uv.shape != (len(user_ids), iv.shape[1]) or iv.shape[0] != len(item_ids):
            raise InvalidInput("vector shapes do not match the id lists")
        learner = cls(iv.shape[1], config)
        rows_u = np.asarray(learner.users.add(user_ids), dtype=np.int64)
        rows_i = np.asarray(learner.items.add(item_ids), dtype=np.int64)
        nonzero_u = np.linalg.norm(uv, axis=1) > 0
        nonzero_i = np.linalg.norm(iv, axis=1) > 0
        learner.users.set_rows(rows_u[nonzero_u], torch.from_numpy(uv[nonzero_u]))
        learner.items.set_rows(rows_i[nonzero_i], torch.from_numpy(iv[nonzero_i]))
        learner.describe_items(item_ids, tags=item_tags, creators=item_creator)
        if history is not None:
            coo = sp.coo_matrix(history)
            if coo.shape != (len(user_ids), len(item_ids)):
                raise InvalidInput("history must be users x items of the given id lists")
            keep = coo.data > 0
            u, i = rows_u[coo.row[keep]], rows_i[coo.col[keep]]
            order = np.argsort(u, kind="stable")
            learner._remember(u[order], i[order])
            learner._offer_replay(u, i)
        return learner

    def describe_items(
        self,
        item_ids: Sequence[str],
        *,
        tags: Mapping[str, Sequence[str]] | None = None,
        creators: Mapping[str, str | None] | None = None,
    ) -> None:
        """Register videos (e.g. at upload) with their tags and creator; a video with no vector
        yet gets one from its tags' and creator's vectors when they exist."""
        rows = self.items.add(item_ids)
        for vid, row in zip(item_ids, rows, strict=True):
            if tags and vid in tags:
                self._file(row, "tag", self.item_tags.get(row, []), [str(t) for t in tags[vid]])
                self.item_tags[row] = [str(t) for t in tags[vid]]
            if creators and creators.get(vid) is not None:
                was = [self.item_creator[row]] if row in self.item_creator else []
                self._file(row, "creator", was, [str(creators[vid])])
                self.item_creator[row] = str(creators[vid])
        cold = np.asarray([r for r in rows if not self.items.ready[r]], dtype=np.int64)
        if len(cold):
            self._cold_start(cold)

    def _file(self, row: int, kind: str, old: Sequence[str], new: Sequence[str]) -> None:
        """Keep the tag / creator -> videos index in step with a video's description."""
        for k in set(old) - set(new):
            self._members[(kind, k)].remove(row)
        for k in set(new) - set(old):
            self._members.setdefault((kind, k), []).append(row)

    # --- cold start -----------------------------------------------------------------------

    def _group_means(self, kind: str, keys: Sequence[str]) -> torch.Tensor:
        """Mean unit vector of the ready videos of each tag or creator (``kind``), one row per
        key (zeros where a key has no ready video)."""
        lists = [np.asarray(self._members.get((kind, k), ()), dtype=np.int64) for k in keys]
        lists = [x[self.items.ready[x]] if len(x) else x for x in lists]
        return self._mean_of(len(keys), *_segments(lists), self.items.weight.detach())[0]

    def _mean_of(
        self, n: int, targets: np.ndarray, sources: np.ndarray, vectors: torch.Tensor
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Per target ``0..n-1``, the mean of ``unit(vectors[source])`` over the
        ``(targets[k], sources[k])`` pairs; and which targets had any."""
        cnt = np.bincount(targets, minlength=n)
        if len(targets) == 0:
            return torch.zeros(n, self.dim), cnt > 0
        with torch.no_grad():
            if len(sources) > len(vectors) // 2:
                # More pairs than rows (a fold-in over long histories): each row normalised
                # once, the sums as one sparse (targets x rows) product.
                top = int(sources.max()) + 1
                unit = _unit(vectors[:top]).numpy()
                ones = np.ones(len(sources), dtype=np.float32)
                if len(targets) < 2 or bool((targets[1:] >= targets[:-1]).all()):
                    indptr = np.concatenate([[0], np.cumsum(cnt)])  # rows in order: as they are
                    m = sp.csr_matrix((ones, sources, indptr), shape=(n, top))
                else:
                    m = sp.csr_matrix((ones, (targets, sources)), shape=(n, top))
                out = torch.from_numpy(np.asarray(m @ unit, dtype=np.float32))
            else:
                out = torch.zeros(n, self.dim)
                vecs = _unit(vectors[torch.from_numpy(sources)])
                out.index_add_(0, torch.from_numpy(targets), vecs)
        out /= torch.from_numpy(np.maximum(cnt, 1)).float().unsqueeze(1)
        return out, cnt > 0

    def _cold_start(
        self, rows: np.ndarray, engaged: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        """Vectors for videos without one, or whose vector is still only a guess: before any
        engagement, a guess from its tags (0.5) and creator (0.3) means, as
        ``embed_new_video.cypher``; with its first audience (``engaged``: video rows and user
        rows, pair by pair), that audience's mean weighs ``first_engaged`` and the guess the rest.
        Returns the rows that got one."""
        rows = np.asarray(rows, dtype=np.int64)
        n = len(rows)
        pos = {int(r): k for k, r in enumerate(rows.tolist())}
        tags = sorted({t for r in pos for t in self.item_tags.get(r, [])})
        tag_at = {t: j for j, t in enumerate(tags)}
        tag_mean = self._group_means("tag", tags)
        tag_ok = tag_mean.abs().sum(1) > 0
        tag_pairs = [
            (k, tag_at[t])
            for r, k in pos.items()
            for t in self.item_tags.get(r, [])
            if tag_ok[tag_at[t]]
        ]
        by_tags, has_tags = self._mean_of(n, *_pairs(tag_pairs), tag_mean)
        creators = sorted({self.item_creator[r] for r in pos if r in self.item_creator})
        c_at = {c: j for j, c in enumerate(creators)}
        c_mean = self._group_means("creator", creators)
        c_ok = c_mean.abs().sum(1) > 0
        c_pairs = [
            (k, c_at[self.item_creator[r]])
            for r, k in pos.items()
            if r in self.item_creator and c_ok[c_at[self.item_creator[r]]]
        ]
        by_creator, has_creator = self._mean_of(n, *_pairs(c_pairs), c_mean)
        wt = torch.from_numpy(has_tags * TAG_WEIGHT + has_creator * CREATOR_WEIGHT).float()
        prior = _unit(TAG_WEIGHT * _unit(by_tags) + CREATOR_WEIGHT * _unit(by_creator))
        has_prior = (wt > 0).numpy()
        ei, eu = engaged if engaged is not None else (np.zeros(0, np.int64),) * 2
        order = np.argsort(rows, kind="stable")
        at = np.searchsorted(rows[order], ei)
        hit = (at < n) & (rows[order][np.minimum(at, n - 1)] == ei) if n else at < 0
        seen, has_seen = self._mean_of(
            n, order[at[hit]], eu[hit].astype(np.int64), self.users.weight.detach()
        )
        a = self.config.first_engaged
        vec = torch.where(
            torch.from_numpy(has_seen & has_prior).unsqueeze(1),
            a * _unit(seen) + (1 - a) * prior,
            torch.where(torch.from_numpy(has_seen).unsqueeze(1), seen, prior),
        )
        done = has_seen | has_prior
        self._prior_only.difference_update(rows[has_seen].tolist())
        self._prior_only.update(rows[has_prior & ~has_seen].tolist())
        if done.any():
            self.items.set_rows(rows[done], vec[torch.from_numpy(done)])
            self.dirty_items.update(rows[done].tolist())
        return rows[done]

    # --- bookkeeping ----------------------------------------------------------------------

    def _remember(self, users: np.ndarray, items: np.ndarray) -> None:
        """Each user's latest videos and each video's latest users (bounded, newest last):
        per key, its values in the order of their last occurrence, those already held moved
        to the newest end, the oldest dropped beyond the limit; what pair-by-pair
        insertion (pop, insert, drop the oldest past the limit) leaves, done a key at a time
        (the pairs grouped by key in numpy; the moves and drops as C-level dict and set
        operations; ``tests/test_learn_online.py`` checks it against pair by pair)."""
        for table, keys, vals, limit in (
            (self.history, users, items, self.config.history),
            (self.audience, items, users, self.config.audience),
        ):
            if len(keys) == 0:
                continue
            order = np.argsort(keys, kind="stable")
            ks, vs = keys[order], vals[order]
            cut = np.flatnonzero(ks[1:] != ks[:-1]) + 1
            starts = np.concatenate([[0], cut]).tolist()
            ends = np.concatenate([cut, [len(ks)]]).tolist()
            key_list, val_list = ks[starts].tolist(), vs.tolist()
            get = table.get
            for a, lo, hi in zip(key_list, starts, ends, strict=True):
                h = get(a)
                if h is None:
                    h = table[a] = {}
                if hi - lo == 1:
                    b = val_list[lo]
                    h.pop(b, None)
                    h[b] = None
                else:
                    seg = val_list[lo:hi]
                    new = dict.fromkeys(reversed(seg))  # last occurrence first
                    for b in h.keys() & new.keys():
                        del h[b]
                    h.update(dict.fromkeys(reversed(new)))  # by last occurrence, newest last
                over = len(h) - limit
                if over > 0:
                    for b in list(islice(h, over)):
                        del h[b]

    def fold_all(self, *, users: float = 1.0, items: float = 0.0) -> int:
        """One propagation over the whole graph kept (not only the rows a batch touched):
        every user with a history moves ``users`` of the way to the mean unit vector of its
        latest videos, then every video with an audience ``items`` of the way to its latest
        audience's mean. Returns the rows moved (marked for publishing)."""
        moved = 0
        for table, links, beta, is_users in (
            (self.users, self.history, users, True),
            (self.items, self.audience, items, False),
        ):
            rows = np.asarray(sorted(r for r in links if table.ready[r]), dtype=np.int64)
            if beta <= 0 or not len(rows):
                continue
            self._fold_in(rows, users=is_users, beta=beta)
            (self.dirty_users if is_users else self.dirty_items).update(rows.tolist())
            moved += len(rows)
        return moved

    def _fold_in(self, rows: np.ndarray, *, users: bool, beta: float | None = None) -> None:
        """Move ``rows`` (users or videos) towards the mean unit vector of what they engaged
        with (a user's videos, a video's audience): one LightGCN-style propagation step."""
        if beta is None:
            beta = self.config.fold_users if users else self.config.fold_items
        if beta <= 0 or len(rows) == 0:
            return
        own, other = (self.users, self.items) if users else (self.items, self.users)
        links = self.history if users else self.audience
        held = [links.get(r, ()) for r in rows.tolist()]
        lengths = np.fromiter(map(len, held), dtype=np.int64, count=len(held))
        sources = np.fromiter(chain.from_iterable(held), dtype=np.int64, count=int(lengths.sum()))
        targets = np.repeat(np.arange(len(rows)), lengths)
        ok = other.ready[sources]
        if not ok.all():
            targets, sources = targets[ok], sources[ok]
        mean, keep = self._mean_of(len(rows), targets, sources, other.weight.detach())
        if not keep.any():
            return
        with torch.no_grad():
            idx = torch.from_numpy(rows[keep])
            cur = _unit(own.weight[idx])
            own.weight[idx] = _unit((1 - beta) * cur + beta * _unit(mean[torch.from_numpy(keep)]))

    def _offer_replay(self, users: np.ndarray, items: np.ndarray) -> None:
        """Reservoir sampling (algorithm R, vectorised per batch) of positives."""
        cap = len(self._replay_u)
        if cap == 0 or len(users) == 0:
            return
        free = min(cap - self._replay_n, len(users))
        if free > 0:
            self._replay_u[self._replay_n : self._replay_n + free] = users[:free]
            self._replay_i[self._replay_n : self._replay_n + free] = items[:free]
            self._replay_n += free
        rest_u, rest_i = users[free:], items[free:]
        if len(rest_u):
            seen = self._replay_seen + free + np.arange(1, len(rest_u) + 1)
            slots = (self.rng.random(len(rest_u)) * seen).astype(np.int64)
            take = slots < cap
            self._replay_u[slots[take]] = rest_u[take]
            self._replay_i[slots[take]] = rest_i[take]
        self._replay_seen += len(users)

    def _note_impressions(self, items: np.ndarray) -> None:
        n = len(self._recent)
        if n == 0 or len(items) == 0:
            return
        items = items[-n:]
        at = (self._recent_at + np.arange(len(items))) % n
        self._recent[at] = items
        self._recent_at = int((self._recent_at + len(items)) % n)

    def _negatives(self) -> torch.Tensor:
        cfg = self.config
        ready = np.flatnonzero(self.items.ready[: len(self.items)])
        recent = self._recent[self._recent >= 0]
        n_imp = round(cfg.negatives * cfg.impression_share) if len(recent) else 0
        n_pop = round(cfg.negatives * cfg.popular_share) if self._replay_n else 0
        parts = []
        if n_imp:
            parts.append(recent[self.rng.integers(0, len(recent), n_imp)])
        if n_pop:
            parts.append(self._replay_i[self.rng.integers(0, self._replay_n, n_pop)])
        if cfg.negatives - n_imp - n_pop > 0 and len(ready):
            parts.append(ready[self.rng.integers(0, len(ready), cfg.negatives - n_imp - n_pop)])
        return torch.from_numpy(np.concatenate(parts) if parts else ready[:1])

    # --- learning -------------------------------------------------------------------------

    def update(self, batch: Interactions) -> UpdateStats:
        """Apply one mini-batch: register new ids, cold-start their vectors, then a few
        optimizer steps on the touched rows (fresh positives + replayed past ones)."""
        started = time.perf_counter()
        stats = UpdateStats(events=len(batch))
        if len(batch) == 0:
            return stats
        cfg = self.config
        n_users0, n_items0 = len(self.users), len(self.items)
        u_rows = np.asarray(self.users.add(batch.user_ids), dtype=np.int64)
        i_rows = np.asarray(self.items.add(batch.item_ids), dtype=np.int64)
        stats.new_users = len(self.users) - n_users0
        stats.new_items = len(self.items) - n_items0
        pos = batch.weights > 0
        self._note_impressions(i_rows if cfg.engaged_as_shown else i_rows[~pos])
        pu, pi, pw = u_rows[pos], i_rows[pos], batch.weights[pos]
        stats.positives = int(pos.sum())
        self.events_seen += len(batch)
        if stats.positives == 0:
            stats.seconds = time.perf_counter() - started
            return stats
        self._init_new(pu, pi)
        # Replay: past positives drawn from the reservoir, at weight 1.
        n_replay = min(self._replay_n, round(cfg.replay_ratio * len(pu)), cfg.replay_max)
        if n_replay:
            pick = self.rng.integers(0, self._replay_n, n_replay)
            ru, ri = self._replay_u[pick], self._replay_i[pick]
        else:
            ru = ri = np.zeros(0, dtype=np.int64)
        stats.replayed = n_replay
        users = torch.from_numpy(np.concatenate([pu, ru]))
        items = torch.from_numpy(np.concatenate([pi, ri]))
        w = torch.from_numpy(np.concatenate([pw / max(1e-9, float(pw.mean())), np.ones(len(ru))]))
        w = w.float()  # per pair, mean 1: a plain SGD step moves each row by its own gradient
        stats.loss = sum(self._step(users, items, w) for _ in range(cfg.steps)) / max(1, cfg.steps)
        touched_u, touched_i = np.unique(pu), np.unique(pi)
        self._remember(pu, pi)
        self._fold_in(touched_u, users=True)
        self._fold_in(touched_i, users=False)
        self.dirty_users.update(touched_u.tolist())
        self.dirty_items.update(touched_i.tolist())
        self._offer_replay(pu, pi)
        stats.seconds = time.perf_counter() - started
        return stats

    def _step(self, users: torch.Tensor, items: torch.Tensor, w: torch.Tensor) -> float:
        """One optimizer step of the sampled softmax on ``(users, items)`` pairs (weights
        ``w``) against a fresh pool of negatives; returns the loss. Plain SGD (the default)
        takes :meth:`_sgd_step`, the same step with its gradient written out; SparseAdam the
        autograd path, :meth:`_autograd_step`."""
        neg = self._negatives()
        if self.config.optimizer == "sgd":
            return self._sgd_step(users, items, w, neg)
        return self._autograd_step(users, items, w, neg)

    def _autograd_step(
        self, users: torch.Tensor, items: torch.Tensor, w: torch.Tensor, neg: torch.Tensor
    ) -> float:
        """The step by autograd and the tables' optimizers (the reference for
        :meth:`_sgd_step`; SparseAdam needs it)."""
        cfg = self.config
        u = _unit(self.users.emb(users))
        p = _unit(self.items.emb(items))
        n = _unit(self.items.emb(neg))
        if not cfg.move_negatives:
            n = n.detach()
        logits = torch.cat([(u * p).sum(-1, keepdim=True), u @ n.T], dim=1) / cfg.temperature
        loss = (
            F.cross_entropy(logits, torch.zeros(len(u), dtype=torch.long), reduction="none") * w
        ).sum()
        self.users.opt.zero_grad()
        self.items.opt.zero_grad()
        loss.backward()
        self.users.opt.step()
        self.items.opt.step()
        if cfg.move_negatives:
            self.dirty_items.update(neg.unique().tolist())
        return float(loss.detach())

    def _sgd_step(
        self, users: torch.Tensor, items: torch.Tensor, w: torch.Tensor, neg: torch.Tensor
    ) -> float:
        """:meth:`_autograd_step` for plain sparse SGD, its gradient written out (issue #16:
        the autograd graph, the sparse gradients' coalescing and the pairs-by-negatives
        logits were most of the trainer's CPU per event).

        The negatives are shared by every pair of the step, so a negative's logit depends
        only on the pair's user: the ``users x negatives`` scores, their exponentials and
        their gradient are computed once per distinct user of the step (a mini-batch has
        thousands of pairs and a few hundred users), never per pair. Per pair ``i`` (user
        ``u``, video ``p``, weight ``w_i``), with ``S_uj = u.n_j / T``, ``m_u = max_j S_uj``,
        ``E_u = sum_j exp(S_uj - m_u)``, ``pos_i = u.p / T``, ``c_i = max(m_u, pos_i)``:
        ``z_i = E_u exp(m_u - c_i) + exp(pos_i - c_i)``, loss ``w_i (log z_i + c_i - pos_i)``;
        ``dL/dpos_i = w_i (exp(pos_i - c_i) / z_i - 1)``, and ``dL/dS_uj = exp(S_uj - m_u)
        R_u`` with ``R_u = sum_(i of u) w_i exp(m_u - c_i) / z_i``. The unit vectors'
        gradients are summed per distinct row, taken through the normalisation (``(g - x
        (x.g)) / |X|``), and ``lr`` times them subtracted from the rows: what
        ``loss.backward()`` and ``SGD.step()`` do with the sparse gradients (duplicates
        summed). Same loss, same rows moved, to float rounding
        (``tests/test_learn_online.py``)."""
        cfg = self.config
        t = cfg.temperature
        ut, it = self.users.emb.weight, self.items.emb.weight
        with torch.no_grad():
            ur, u_inv = torch.unique(users, return_inverse=True)
            ir, i_inv = torch.unique(items, return_inverse=True)
            uw, iw = ut[ur], it[ir]
            u_norm = uw.norm(dim=1, keepdim=True).clamp_min_(1e-12)
            i_norm = iw.norm(dim=1, keepdim=True).clamp_min_(1e-12)
            uu, iu = uw / u_norm, iw / i_norm
            n = _unit(it[neg])
            scores = torch.mm(uu, n.T).div_(t)  # distinct users x negatives
            m = scores.amax(1)
            e = scores.sub_(m.unsqueeze(1)).exp_()  # exp(S - m), in place
            e_sum = e.sum(1)
            u, p = uu[u_inv], iu[i_inv]
            pos = (u * p).sum(1).div_(t)
            mu = m[u_inv]
            c = torch.maximum(mu, pos)
            e_pos = torch.exp(pos - c)
            z = e_sum[u_inv].mul_(torch.exp(mu - c)).add_(e_pos)
            loss = float(((z.log() + c - pos) * w).sum())
            g_pos = (e_pos / z - 1).mul_(w)  # dL/dpos
            r = torch.zeros_like(m).index_add_(0, u_inv, w * torch.exp(mu - c) / z)
            g_neg = e.mul_(r.unsqueeze(1))  # dL/dS, distinct users x negatives
            gu = torch.mm(g_neg, n).index_add_(0, u_inv, p * g_pos.unsqueeze(1)).div_(t)
            gi = torch.zeros_like(iu).index_add_(0, i_inv, u * g_pos.unsqueeze(1)).div_(t)
            gu.sub_(uu * (uu * gu).sum(1, keepdim=True)).div_(u_norm)
            gi.sub_(iu * (iu * gi).sum(1, keepdim=True)).div_(i_norm)
            if cfg.move_negatives:
                n_norm = it[neg].norm(dim=1, keepdim=True).clamp_min_(1e-12)
                dn = torch.mm(g_neg.T, uu).div_(t)
                dn.sub_(n * (n * dn).sum(1, keepdim=True)).div_(n_norm)
                it.index_add_(0, neg, dn, alpha=-cfg.lr)
                self.dirty_items.update(neg.unique().tolist())
            ut.index_add_(0, ur, gu, alpha=-cfg.lr)
            it.index_add_(0, ir, gi, alpha=-cfg.lr)
        return loss

    @property
    def rehearsal_due(self) -> bool:
        """A rehearsal pass is in progress, or one is due (``rehearse_every`` events since the
        last one started)."""
        every = self.config.rehearse_every
        return self._pass is not None or bool(every and self.events_seen // every > self.rehearsals)

    def rehearse_some(self, *, budget_s: float | None = None) -> int:
        """Advance the due rehearsal pass slice by slice (``rehearse_batch`` replayed pairs or
        ``rehearse_fold_rows`` users folded per slice) until it ends or ``budget_s`` is
        spent (at least one slice; ``None``: to its end). Fresh events are never held up by
        more than one slice. Returns the pairs stepped."""
        if self._pass is None:
            if not self.rehearsal_due:
                return 0
            every = self.config.rehearse_every
            self.rehearsals = self.events_seen // every if every else self.rehearsals + 1
            self._pass = self._rehearsal_pass()
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        stepped = 0
        for n in self._pass:
            stepped += n
            if deadline is not None and time.perf_counter() >= deadline:
                return stepped
        self._pass = None
        self.rehearsal_passes += 1
        return stepped

    def rehearse(self) -> int:
        """One whole rehearsal pass now (:meth:`_rehearsal_pass`); returns the pairs stepped."""
        return sum(self._rehearsal_pass())

    def _rehearsal_pass(self) -> Iterator[int]:
        """``rehearse_epochs`` epochs over the replay reservoir (each shuffled anew,
        ``rehearse_batch`` positives a step), then every user folded into its latest videos (as
        :meth:`fold_all`): what a retrain's epochs and propagation do for the whole graph, at
        the cost of ``rehearse_epochs`` epochs, warm-started. Yields after each slice the pairs
        it stepped (0 for a fold-in slice)."""
        n = self._replay_n
        if n == 0:
            return
        size = self.config.rehearse_batch
        for _ in range(self.config.rehearse_epochs):
            order = self.rng.permutation(n)
            for s in range(0, n, size):
                pick = order[s : s + size]
                u, i = self._replay_u[pick], self._replay_i[pick]
                self._step(torch.from_numpy(u), torch.from_numpy(i), torch.ones(len(pick)))
                self.dirty_users.update(np.unique(u).tolist())
                self.dirty_items.update(np.unique(i).tolist())
                yield len(pick)
        rows = np.asarray(sorted(r for r in self.history if self.users.ready[r]), dtype=np.int64)
        size = self.config.rehearse_fold_rows
        for s in range(0, len(rows), size):
            chunk = rows[s : s + size]
            self._fold_in(chunk, users=True, beta=1.0)
            self.dirty_users.update(chunk.tolist())
            yield 0

    def _init_new(self, pu: np.ndarray, pi: np.ndarray) -> None:
        """Vectors for the users and videos of this batch that have none yet, and a first
        audience for videos whose vector was only a guess from their tags and creator."""
        ready_u, ready_i = self.users.ready, self.items.ready
        new_items = np.unique(pi[~ready_i[pi]])
        if len(new_items):  # a guess from tags / creator first, so new users can use it
            self._cold_start(new_items)
        new_users = np.unique(pu[~ready_u[pu]])  # sorted
        if len(new_users):
            keep = np.isin(pu, new_users) & ready_i[pi]
            targets = np.searchsorted(new_users, pu[keep])
            mean, has = self._mean_of(len(new_users), targets, pi[keep], self.items.weight.detach())
            if has.any():
                self.users.set_rows(new_users[has], mean[torch.from_numpy(has)])
        items = np.unique(pi)
        prior = np.fromiter(self._prior_only, dtype=np.int64, count=len(self._prior_only))
        first = items[~ready_i[items] | np.isin(items, prior)]
        if len(first):  # first engagements: the engaging users' vectors
            keep = np.isin(pi, first) & ready_u[pu]
            self._cold_start(first, engaged=(pi[keep], pu[keep]))
        # Whatever is left (a new user engaging only new, untagged videos): a random start.
        for table, idx in ((self.items, pi), (self.users, pu)):
            left = np.unique(idx[~table.ready[idx]])
            if len(left):
                table.set_rows(left, torch.randn(len(left), self.dim, generator=self.gen))

    # --- reading --------------------------------------------------------------------------

    def snapshot(self) -> VectorSnapshot:
        """The current vectors (unit length) with their id maps."""
        return VectorSnapshot(
            user_ids=list(self.users.ids),
            item_ids=list(self.items.ids),
            users=self.users.unit(),
            items=self.items.unit(),
            item_ready=self.items.ready[: len(self.items)].copy(),
        )

    def take_dirty(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Vectors changed since the last call (users, videos), by id; clears the marks."""
        with torch.no_grad():
            ur = sorted(self.dirty_users)
            ir = sorted(r for r in self.dirty_items if self.items.ready[r])
            uv = _unit(self.users.weight[torch.tensor(ur, dtype=torch.long)]).numpy()
            iv = _unit(self.items.weight[torch.tensor(ir, dtype=torch.long)]).numpy()
        self.dirty_users.clear()
        self.dirty_items.clear()
        return (
            {self.users.ids[r]: uv[k] for k, r in enumerate(ur)},
            {self.items.ids[r]: iv[k] for k, r in enumerate(ir)},
        )

    def user_history(self, user_id: str) -> list[str]:
        row = self.users.index.get(user_id)
        if row is None:
            return []
        return [self.items.ids[i] for i in self.history.get(row, {})]


# --- evaluation and the safety gate -------------------------------------------------------


def rank_snapshot(
    snap: VectorSnapshot,
    users: Sequence[str],
    truth: Sequence[Sequence[str]],
    exclude: Sequence[Iterable[str]],
    *,
    k: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user Recall@k and NDCG@k of ``snap`` against ``truth`` (video ids), the ``exclude``
    videos masked; a user or video the snapshot lacks counts as a miss."""
    u_index, i_index = snap.user_index(), snap.item_index()
    recall = np.zeros(len(users))
    ndcg = np.zeros(len(users))
    known = [j for j, u in enumerate(users) if u in u_index]
    if not known:
        return recall, ndcg
    rows = np.asarray([u_index[users[j]] for j in known], dtype=np.int64)
    ex = [
        np.asarray([i_index[v] for v in exclude[j] if v in i_index], dtype=np.int64) for j in known
    ]
    # Truth outside the snapshot's catalogue: a miss (index -1 never matches).
    t = [np.asarray([i_index.get(v, -1) for v in truth[j]], dtype=np.int64) for j in known]
    r_, n_ = _rank_rows(snap.users[rows], snap.items, snap.item_ready, ex, t, k)
    recall[known], ndcg[known] = r_, n_
    return recall, ndcg


def _rank_rows(
    users: np.ndarray,
    items: np.ndarray,
    ready: np.ndarray,
    exclude: Sequence[np.ndarray],
    truth: Sequence[np.ndarray],
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Recall@k and NDCG@k of each row of ``users`` (unit vectors) ranking every ready row of
    ``items``, its ``exclude`` rows masked, against its ``truth`` rows (-1: a miss)."""
    # torch's matmul, not numpy's: OpenBLAS threads spin on a busy machine (a 64-user
    # ranking took 5 ms of CPU and 13 of wall through numpy, 1.1 and 2.0 through torch)
    scores = torch.mm(torch.from_numpy(users), torch.from_numpy(items).T)
    scores.masked_fill_(torch.from_numpy(~ready), -torch.inf)
    lengths = [len(x) for x in exclude]
    if sum(lengths):
        at = torch.from_numpy(np.repeat(np.arange(len(exclude)), lengths))
        scores[at, torch.from_numpy(np.concatenate(exclude).astype(np.int64))] = -torch.inf
    top = scores.topk(min(k, scores.shape[1]), dim=1).indices.numpy()
    return recall_ndcg(top, list(truth), k)


@dataclass
class GateReport:
    """The online model against the last batch model on a held-out tail of the stream."""

    online: RankingMetrics
    batch: RankingMetrics
    margin: float
    publish: bool
    events: int
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "publish": self.publish,
            "online_recall_at_20": round(self.online.recall, 5),
            "online_ndcg_at_20": round(self.online.ndcg, 5),
            "batch_recall_at_20": round(self.batch.recall, 5),
            "batch_ndcg_at_20": round(self.batch.ndcg, 5),
            "margin": self.margin,
            "users": self.online.users,
            "events": self.events,
            "reason": self.reason,
        }


class PrequentialGate:
    """The safety gate: each mini-batch is first held out (ranked by the online vectors and
    by the last batch model's, neither having trained on it), then learned from. Over a
    sliding window of the latest held-out users, the online model may publish only while
    its NDCG@k is at least the batch model's minus ``margin``. Until ``min_users`` users were
    held out there is no verdict, and publishing goes on (reported as such)."""

    def __init__(
        self,
        batch: VectorSnapshot,
        *,
        margin: float = 0.01,
        k: int = 20,
        users_per_batch: int = 64,
        window: int = 2_000,
        min_users: int = 50,
        seed: int = 0,
    ) -> None:
        self.batch = batch
        self.margin, self.k = margin, k
        self.users_per_batch, self.window, self.min_users = users_per_batch, window, min_users
        self.rng = np.random.default_rng(seed)
        self._batch_users = batch.user_index()
        self._batch_item_index = batch.item_index()
        self._rows_of: OnlineLearner | None = None  # the learner _to_batch maps
        self._to_batch = np.zeros(0, dtype=np.int64)
        self.scores: list[tuple[float, float, float, float]] = []  # online r, n, batch r, n
        self.events = 0

    def observe(self, learner: OnlineLearner, batch: Interactions) -> int:
        """Rank ``batch``'s users (a sample) before ``learner`` trains on it; returns how many
        users were scored. Works on the learner's rows (no snapshot of every vector, no id
        maps rebuilt per batch): the sampled users' unit vectors against every video's, their
        history masked; the batch model's id maps are made once."""
        self.events += len(batch)
        pos = np.flatnonzero(batch.weights > 0)
        if len(pos) == 0:
            return 0
        if len(pos) == len(batch):
            pu, pv = list(batch.user_ids), list(batch.item_ids)
        else:
            at = pos.tolist()
            pu = [batch.user_ids[j] for j in at]
            pv = [batch.item_ids[j] for j in at]
        lu, bu = learner.users.index, self._batch_users
        users = [u for u in dict.fromkeys(pu) if u in bu and u in lu]  # first-seen order
        if len(users) > self.users_per_batch:
            users = self.rng.choice(users, size=self.users_per_batch, replace=False).tolist()
        truth: dict[str, dict[str, None]] = {u: {} for u in users}
        for u, v in zip(pu, pv, strict=True):
            seen = truth.get(u)
            if seen is not None:
                seen[v] = None
        li = learner.items.index
        rows, truths, hist = [], [], []
        for u in users:
            r = lu[u]
            h = learner.history.get(r, {})
            t = [v for v in truth[u] if li.get(v, -1) not in h]  # unknown videos: misses
            if t:
                rows.append(r)
                truths.append(t)
                hist.append(np.fromiter(h, dtype=np.int64, count=len(h)))
        if not rows:
            return 0
        n_items = len(learner.items)
        with torch.no_grad():
            uo = _unit(learner.users.weight[torch.tensor(rows, dtype=torch.long)]).numpy()
            io = _unit(learner.items.weight[:n_items]).numpy()
        t_o = [np.asarray([li.get(v, -1) for v in t], dtype=np.int64) for t in truths]
        r_o, n_o = _rank_rows(uo, io, learner.items.ready[:n_items], hist, t_o, self.k)
        bi = self._batch_items_of(learner)
        ub = self.batch.users[[bu[u] for u in (learner.users.ids[r] for r in rows)]]
        ex_b = [x[x >= 0] for x in (bi[h] for h in hist)]
        b_index = self._batch_item_index
        t_b = [np.asarray([b_index.get(v, -1) for v in t], dtype=np.int64) for t in truths]
        r_b, n_b = _rank_rows(ub, self.batch.items, self.batch.item_ready, ex_b, t_b, self.k)
        self.scores.extend(zip(r_o.tolist(), n_o.tolist(), r_b.tolist(), n_b.tolist(), strict=True))
        del self.scores[: max(0, len(self.scores) - self.window)]
        return len(rows)

    def _batch_items_of(self, learner: OnlineLearner) -> np.ndarray:
        """Each of ``learner``'s video rows as the batch model's index (-1: not in it),
        extended as the learner's catalogue grows."""
        if self._rows_of is not learner:
            self._rows_of, self._to_batch = learner, np.zeros(0, dtype=np.int64)
        have, n = len(self._to_batch), len(learner.items)
        if n > have:
            get = self._batch_item_index.get
            more = np.fromiter(
                (get(v, -1) for v in learner.items.ids[have:n]), dtype=np.int64, count=n - have
            )
            self._to_batch = np.concatenate([self._to_batch, more])
        return self._to_batch

    def report(self) -> GateReport:
        """The verdict over the window: publish, or not and why (with the figures)."""
        a = np.asarray(self.scores, dtype=np.float64).reshape(-1, 4)
        n = len(a)

        def m(col: int) -> RankingMetrics:
            v = float(a[:, col].mean()) if n else 0.0
            return RankingMetrics(k=self.k, recall=v, ndcg=v, coverage=0.0, users=n)

        online = RankingMetrics(k=self.k, recall=m(0).recall, ndcg=m(1).ndcg, coverage=0.0, users=n)
        batch = RankingMetrics(k=self.k, recall=m(2).recall, ndcg=m(3).ndcg, coverage=0.0, users=n)
        if n < self.min_users:  # no evidence either way: nothing shows the model worse
            return GateReport(
                online, batch, self.margin, True, self.events,
                f"only {n} held-out users so far (the verdict needs {self.min_users})",
            )  # fmt: skip
        ok = online.ndcg >= batch.ndcg - self.margin
        reason = (
            "online within the margin of the batch model"
            if ok
            else f"online NDCG@{self.k} {online.ndcg:.4f} is below the batch model's "
            f"{batch.ndcg:.4f} by more than {self.margin}"
        )
        return GateReport(online, batch, self.margin, ok, self.events, reason)
