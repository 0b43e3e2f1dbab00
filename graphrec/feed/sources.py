"""Candidate sources: each one named query that proposes videos, and why.

A source is pluggable: it names its query, the parameters it needs, and how a row becomes a
:class:`Candidate` with a short graph-path reason. A source whose query is not in the library
yet, or whose data is absent (no embedding, no communities, no pool cycle run), returns
nothing; the feed works with whatever exists.

Two kinds:

- **per-user** sources (embedding neighbours, followed creators) run for each request, in the
  request's read transaction, and drop seen videos in their query;
- **shared** sources (tag interest, pools, spillover, look-back, community winners, cold
  start) propose the same list to every user (or every member of a community). That list is
  read from Neo4j and kept for ``ttl_s`` seconds by :class:`SharedLists` in each worker;
  each user's seen videos (read fresh from the graph with every request) are dropped from it.
  Nothing about a user is kept in memory: every worker and restart agree on the user's state.
"""

from __future__ import annotations

import functools
import heapq
import math
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import orjson

from graphrec import cypher
from graphrec.db import Graph

DAY_MS = 86_400_000
QUALITY_ROW = ("video_id", "creator_id", "tags", "quality", "duration_ms")


@dataclass
class Candidate:
    """A video some source proposes, with what the ranker needs and why it came."""

    video_id: str
    creator_id: str
    tags: list[str]
    source: str
    relevance: float  # 0..1 within its source (1: the source's best)
    reason: str
    quality: float = 0.0
    duration_ms: int | None = None
    sources: list[str] = field(default_factory=list)
    score: float = 0.0
    exploration: bool = False
    # Per proposing source: its rank relevance (1 best .. 0.5) and raw score (the row's
    # ``score`` column, 0 where none): the learned ranker's features (graphrec.learn.ranker).
    ranks: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    # The row of the learned ranker's FEATURES it was scored with, over its whole candidate
    # list (set by ``RankerModel.rank``): the served impression's log reuses it.
    features: Any = field(default=None, repr=False, compare=False)
    # Its hand-weighted score (``graphrec.feed.rank.hand_score``) when the rank step computed
    # it (the hand weights, a residual model): the log reuses it too.
    hand: float | None = field(default=None, repr=False, compare=False)


@dataclass
class UserContext:
    """What the feed knows about the user (``serving/feed_context``), ready for the sources."""

    user_id: str
    tag_weights: dict[str, float]  # positive and negative, interests + liked tags
    tag_origin: dict[str, str]  # tag -> "liked" | "interested in" | "engaged with"
    follows: list[str]
    skipped_creators: dict[str, int]
    communities: list[dict[str, Any]]
    has_embedding: bool
    seen: set[str]
    realtime: bool
    now: int
    # What the spine's first pipelined read fetched for a source (``graphrec.spine.feed``),
    # by source name: saves that source a round trip of its own.
    prefetched: dict[str, Any] = field(default_factory=dict)

    @property
    def top_tags(self) -> list[tuple[str, float]]:
        """Positive tag weights, strongest first."""
        return sorted(
            ((t, w) for t, w in self.tag_weights.items() if w > 0), key=lambda x: (-x[1], x[0])
        )

    def affinity(self, tags: Sequence[str]) -> float:
        w = self.tag_weights
        return tag_sum(w, tags) if w else 0.0

    @classmethod
    def from_row(cls, row: dict[str, Any], *, realtime: bool, now: int) -> UserContext:
        weights: dict[str, float] = {}
        origin: dict[str, str] = {}
        for it in row["liked_tags"]:
            weights[it["tag"]] = 0.25 * int(it["n"])
            origin[it["tag"]] = "liked"
        for it in row["interests"]:
            weights[it["tag"]] = weights.get(it["tag"], 0.0) + float(it["weight"])
            origin.setdefault(it["tag"], "interested in" if it["declared"] else "engaged with")
        return cls(
            user_id=row["user_id"],
            tag_weights=weights,
            tag_origin=origin,
            follows=list(row["follows"]),
            skipped_creators={r["creator"]: int(r["n"]) for r in row["skipped_creators"]},
            communities=list(row["communities"]),
            has_embedding=bool(row["has_embedding"]),
            seen=set(row["seen"]),
            realtime=realtime,
            now=now,
        )


class SharedLists:
    """Candidate lists every user shares, read from Neo4j and kept ``ttl_s`` seconds.

    Once a list exists, an expired one is refreshed by one background thread while requests
    keep getting the previous list: no request waits on a refresh. ``ttl_s <= 0`` reads the
    list again for every feed (no sharing). At most ``max_entries`` lists are kept (keys that
    name a time window change every minute): the least recently used go first.
    """

    def __init__(
        self,
        ttl_s: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 1_024,
        background: bool = True,
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock  # seconds, monotonic; a test passes its own to expire lists at will
        self.max_entries = max_entries
        # True: an expired list is served while one thread reloads it (a request never waits
        # once the list exists); False: it is reloaded before it is served, so what a feed
        # reads depends only on the clock (a simulation's seeded day repeats itself exactly).
        self.background = background
        self._values: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _store(self, key: str, entry: tuple[float, Any]) -> None:
        with self._guard:
            self._values[key] = entry
            self._values.move_to_end(key)
            while len(self._values) > self.max_entries:
                self._values.popitem(last=False)
            if len(self._locks) > 2 * self.max_entries:  # locks of evicted keys, unless held
                for k in [k for k in self._locks if k not in self._values]:
                    if not self._locks[k].locked():
                        del self._locks[k]

    def get(self, key: str, load: Callable[[], Any], *, ttl_s: float | None = None) -> Any:
        ttl = self.ttl_s if ttl_s is None else ttl_s
        if ttl <= 0:
            return load()
        hit = self._values.get(key)
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        lock = self._lock(key)
        if hit is not None and self.background:
            if lock.acquire(blocking=False):  # one refresher; everyone keeps the old list
                threading.Thread(
                    target=self._refresh, args=(key, load, ttl, lock), daemon=True
                ).start()
            return hit[1]
        with lock:  # the first time (or a reload in the foreground): wait for it
            hit = self._values.get(key)
            if hit is None or hit[0] <= self.clock():
                value = load()
                self._store(key, (self.clock() + ttl, value))
                return value
            return hit[1]

    def _refresh(self, key: str, load: Callable[[], Any], ttl: float, lock: threading.Lock) -> None:
        try:
            self._store(key, (self.clock() + ttl, load()))
        except Exception:  # the old list stays; the next request tries again
            old = self._values.get(key)
            if old is not None:
                self._store(key, (self.clock() + min(ttl, 1.0), old[1]))
        finally:
            lock.release()

    def settle(self, key: str) -> None:
        """Wait until no refresh of ``key`` is running (shutdown, tests)."""
        with self._lock(key):
            pass

    def clear(self) -> None:
        with self._guard:
            self._values.clear()


class CandidateSource(Protocol):
    """One pluggable source of candidates."""

    name: str
    query: str
    shared: bool

    def available(self) -> bool: ...

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None: ...

    def candidates(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[Candidate]: ...


@functools.lru_cache(maxsize=4_096)
def _user_crc(user_id: str) -> int:
    return zlib.crc32(f"{user_id}:".encode())


@functools.lru_cache(maxsize=262_144)
def _video_bytes(video_id: str) -> bytes:
    return video_id.encode()


def jitter(user_id: str, video_id: str) -> float:
    """A number in [0, 1) fixed for one user and one video (spreads shared lists):
    CRC32 of ``"<user>:<video>"``, continued from the user's prefix (the same value)."""
    return zlib.crc32(_video_bytes(video_id), _user_crc(user_id)) / 2**32


class ListIndex:
    """A list's video ids as arrays, kept while the list is (a shared list, parsed once per
    version): each id's CRC32 from a zero start and, per seen-filter size, its Bloom probes.
    Ordering a shared list of hundreds for one user is then a few array operations
    (:meth:`jitter`, :meth:`unseen`) instead of a Python loop hashing each row: a feed
    ranked in the request and each queue fill order several such lists."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.rows = rows
        self.ids = [r["video_id"] for r in rows]
        raw = [_video_bytes(v) for v in self.ids]
        n = len(raw)
        self.crc = np.fromiter((zlib.crc32(b) for b in raw), dtype=np.uint32, count=n)
        lengths = np.fromiter(map(len, raw), dtype=np.int64, count=n)
        self.by_length = [(int(x), np.flatnonzero(lengths == x)) for x in np.unique(lengths)]
        # Filled by the seen filter on first use: {m: (byte offsets, masks)}.
        self.probes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._tags: tuple[list[str], np.ndarray] | None = None
        self._id_array: np.ndarray | None = None
        self._columns: dict[str, np.ndarray] = {}

    def column(self, name: str) -> np.ndarray:
        """The rows' ``name`` as float64 (a number in every row), kept."""
        got = self._columns.get(name)
        if got is None:
            got = self._columns[name] = np.fromiter(
                (r[name] for r in self.rows), dtype=np.float64, count=len(self.rows)
            )
        return got

    @property
    def id_array(self) -> np.ndarray:
        """The ids as a NumPy string array (sorted by code point, as ``str`` compares)."""
        if self._id_array is None:
            self._id_array = np.array(self.ids, dtype=str)
        return self._id_array

    def affinity(self, weights: dict[str, float]) -> np.ndarray:
        """Each row's sum of ``weights`` over its tags, added in the row's tag order from
        0.0 (:func:`tag_sum`'s arithmetic, so equal to the last bit)."""
        if self._tags is None:
            vocab: dict[str, int] = {}
            per_row = [[vocab.setdefault(t, len(vocab)) for t in r["tags"]] for r in self.rows]
            width = max(map(len, per_row), default=0)
            at = np.full((len(per_row), width), len(vocab), dtype=np.int64)  # pad: weight 0
            for i, js in enumerate(per_row):
                at[i, : len(js)] = js
            self._tags = (list(vocab), at)
        vocab_list, at = self._tags
        w = np.array([*(weights.get(t, 0.0) for t in vocab_list), 0.0], dtype=np.float64)
        out = np.zeros(len(self.rows), dtype=np.float64)
        for j in range(at.shape[1]):
            out += w[at[:, j]]
        return out

    def jitter(self, user_id: str) -> np.ndarray:
        """:func:`jitter` of every row for ``user_id``, equal to the last bit. CRC32 is
        affine over GF(2) in its start and its data, so for data ``v`` of L bytes
        ``crc(v, s) = crc(v, 0) ^ crc(0^L, s) ^ crc(0^L, 0)``: one term per id length."""
        start = _user_crc(user_id)
        x = self.crc.copy()
        for length, at in self.by_length:
            zeros = bytes(length)
            x[at] ^= np.uint32(zlib.crc32(zeros, start) ^ zlib.crc32(zeros))
        return x / 2**32

    def unseen(self, seen: Any) -> np.ndarray:
        """``[v not in seen for v in ids]`` as booleans; a seen filter with ``seen_mask``
        (the spine's Bloom filter) answers for the whole list at once."""
        mask = getattr(seen, "seen_mask", None)
        if mask is not None:
            return ~mask(self)
        return np.fromiter((v not in seen for v in self.ids), dtype=bool, count=len(self.ids))


# The indexes of the lists last used, least recently used first. Bounded by count, well
# above a worker's working set (the shared lists, one per tag in ``tag_tops``: 304 at world
# M, the communities' lists): a list replaced by a newer version ages out.
_INDEXES: OrderedDict[int, ListIndex] = OrderedDict()
_INDEXES_LOCK = threading.Lock()
INDEXES_MAX = 2_048
INDEX_MIN = 32  # shorter lists are ordered row by row (the arrays cost more than they save)


def list_index(rows: Sequence[dict[str, Any]]) -> ListIndex:
    """The :class:`ListIndex` of ``rows`` (the same list object: a shared list from a cache),
    built on first use; the index holds the list, so its id is not reused meanwhile. Lists
    must not change once indexed (shared lists are replaced, never edited)."""
    key = id(rows)
    with _INDEXES_LOCK:
        ix = _INDEXES.get(key)
        if ix is not None and ix.rows is rows:
            _INDEXES.move_to_end(key)
            return ix
    ix = ListIndex(rows)  # outside the lock: two threads may both build it, one is kept
    with _INDEXES_LOCK:
        _INDEXES[key] = ix
        _INDEXES.move_to_end(key)
        while len(_INDEXES) > INDEXES_MAX:
            _INDEXES.popitem(last=False)
    return ix


def tag_sum(weights: dict[str, float], tags: Sequence[str]) -> float:
    """The sum of ``weights`` over ``tags`` (0 for a tag without one), added in order from
    0.0: the same number on every Python (``sum`` compensates from 3.12 on)."""
    total = 0.0
    for t in tags:
        total += weights.get(t, 0.0)
    return total


def _rank_relevance(n: int) -> list[float]:
    """1.0 for the first row down to 0.5 for the last: rows come best first."""
    return [1.0 - 0.5 * i / max(n - 1, 1) for i in range(n)]


@dataclass
class QuerySource:
    """A per-user source: one named query returning the common candidate columns."""

    name: str
    query: str
    shared = False

    def available(self) -> bool:
        return self.query in cypher.library()

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        return {"user_id": ctx.user_id, "limit": limit}

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"{self.name} -> video"

    def candidate(self, row: dict[str, Any], ctx: UserContext) -> Candidate:
        return Candidate(
            video_id=row["video_id"],
            creator_id=row["creator_id"],
            tags=list(row.get("tags") or []),
            source=self.name,
            relevance=0.0,
            reason=self.reason(row, ctx),
            quality=float(row.get("quality") or 0.0),
            duration_ms=row.get("duration_ms"),
        )

    def order(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[dict[str, Any]]:
        """Rows this user may get, best first (shared sources re-order and filter here)."""
        return list(rows)

    def candidates(
        self, rows: Sequence[dict[str, Any]], ctx: UserContext, *, ordered: bool = False
    ) -> list[Candidate]:
        """Candidates of ``rows`` in :meth:`order` (``ordered``: the rows are in it already)."""
        kept = list(rows) if ordered else self.order(rows, ctx)
        out = []
        for rel, row in zip(_rank_relevance(len(kept)), kept, strict=True):
            c = self.candidate(row, ctx)
            c.relevance = rel
            c.ranks[self.name] = rel
            c.scores[self.name] = float(row.get("score") or 0.0)
            out.append(c)
        return out


class SharedSource(QuerySource):
    """A source whose query does not depend on the user: its rows are shared for a while."""

    shared = True
    limit = 200

    def keys(self, ctx: UserContext) -> list[tuple[str, dict[str, Any]]]:
        """(cache key, query parameters) of each list this user draws from."""
        return [(self.name, {"limit": self.limit})]

    def rows(self, graph: Graph, lists: SharedLists, ctx: UserContext) -> list[dict[str, Any]]:
        got = [
            lists.get(key, functools.partial(graph.read, self.query, **params))
            for key, params in self.keys(ctx)
        ]
        # One list: the cached object itself (its ListIndex is kept with it).
        return got[0] if len(got) == 1 else [r for x in got for r in x]

    take = 40
    spread = 0.5  # how far a user's own jitter may move a row up a shared list (0..1 of it)

    def order(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[dict[str, Any]]:
        # Every user sees the shared list in a slightly different order (a fixed jitter per
        # user and video): feeds overlap less, so concurrent feeds do not all queue on the
        # same few videos' counters and budgets, and popular lists reach more videos.
        if len(rows) < INDEX_MIN:
            return self.order_rows(rows, ctx)
        # The same order on the list's arrays: unseen rows by (position - spread x jitter),
        # ties by position (``tests/test_feed_rank.py`` checks it against order_rows).
        ix = list_index(rows)
        keep = np.flatnonzero(ix.unseen(ctx.seen))
        key = keep / max(len(rows), 1) - self.spread * ix.jitter(ctx.user_id)[keep]
        return [rows[i] for i in keep[np.lexsort((keep, key))][: self.take].tolist()]

    def order_rows(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[dict[str, Any]]:
        """:meth:`order` row by row (short lists; the definition the arrays follow)."""
        seen, uid, spread = ctx.seen, ctx.user_id, self.spread
        n = max(len(rows), 1)
        keyed = [
            (i / n - spread * jitter(uid, r["video_id"]), i, r)
            for i, r in enumerate(rows)
            if r["video_id"] not in seen
        ]
        return [k[2] for k in heapq.nsmallest(self.take, keyed, key=lambda k: k[:2])]


class EmbeddingSource(QuerySource):
    """Nearest videos to the user's (online) embedding through the vector index."""

    def __init__(self) -> None:
        super().__init__("embedding", "serving/source_embedding")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        if not ctx.has_embedding:
            return None
        return {"user_id": ctx.user_id, "realtime": ctx.realtime, "k": limit * 3, "limit": limit}

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"{row['via']} ~ video (embedding similarity {float(row['score']):.2f})"


class SimilarSource(QuerySource):
    """Item-to-item: videos similar (by co-engagement, ``SIMILAR`` written at training) to
    what the user engaged with lately, recent engagements counting more."""

    history = 200  # most recent engaged videos walked from
    tau = 50.0  # recency scale: the i-th most recent counts exp(-i / tau)

    def __init__(self) -> None:
        super().__init__("similar", "serving/source_similar")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        return {
            "user_id": ctx.user_id,
            "realtime": ctx.realtime,
            "history": self.history,
            "tau": self.tau,
            "limit": limit,
        }

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"you watched {row['via']} -> similar (co-engagement) -> video"

    def prefetch(self, pipe: Any, spine: Any, user_id: str) -> int:
        """Queue the reads :meth:`store_rows` needs on a Redis pipeline; how many."""
        pipe.lrange(spine.keys.user(user_id, "recent"), 0, self.history - 1)
        pipe.hget(spine.keys.meta, "similar_tau")
        return 2

    def store_rows(self, rec: Any, ctx: UserContext, limit: int) -> list[dict[str, Any]]:
        """The same walk on the spine's Redis state (``graphrec.spine.feed``): the user's
        latest engagements (kept at append time), each video's neighbours (synced after
        training, cached in the worker), the recency scale training chose."""
        spine = rec.spine
        if self.name in ctx.prefetched:
            recent_raw, tau_raw = ctx.prefetched[self.name]
        else:
            pipe = spine.r.pipeline(transaction=False)
            self.prefetch(pipe, spine, ctx.user_id)
            recent_raw, tau_raw = pipe.execute()
        recent = [x.decode() if isinstance(x, bytes) else str(x) for x in recent_raw]
        if not recent:
            return []
        tau = float(tau_raw) if tau_raw else self.tau
        lists = rec.lists.get_many([spine.keys.list(f"sim:{v}") for v in recent], [])
        top = similar_rows(recent, lists, tau=tau, seen=ctx.seen, limit=limit)
        if not top:
            return []
        facts = spine.r.hmget(spine.keys.videos, [r["video_id"] for r in top])
        out = []
        for r, raw in zip(top, facts, strict=True):
            if raw is None:
                continue
            f = orjson.loads(raw)
            if f.get("status") != "approved":
                continue
            out.append({**f, **r})
        return out


class SpectralSource(QuerySource):
    """The graph filter's low-rank part: videos whose key vectors score highest against the
    sum of the query vectors of the user's latest engagements (``video_spectral`` index;
    :mod:`graphrec.learn.spectral`). With the ``similar`` lists it serves the filter that
    tops the Gowalla benchmark; the history is read per request, so each event counts."""

    history = 200  # most recent engaged videos summed

    def __init__(self) -> None:
        super().__init__("spectral", "serving/source_spectral")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        return {
            "user_id": ctx.user_id,
            "realtime": ctx.realtime,
            "history": self.history,
            "k": limit * 3 + self.history,  # the history's own videos come back too
            "limit": limit,
        }

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"your history (latest: {row['via']}) ~ video (graph filter, spectral)"

    _table: tuple[Any, dict[str, int], list[str], Any, Any] | None = None
    _table_lock = threading.Lock()

    def prefetch(self, pipe: Any, spine: Any, user_id: str) -> int:
        """Queue the read :meth:`store_rows` needs on a Redis pipeline; how many."""
        pipe.lrange(spine.keys.user(user_id, "recent"), 0, self.history - 1)
        return 1

    def _vectors(self, spine: Any, version: Any) -> tuple[dict[str, int], list[str], Any, Any]:
        """Every video's query and key vectors (``state sync``), loaded once per version."""
        import numpy as np

        table = self._table
        if table is not None and table[0] == version:
            return table[1:]
        with self._table_lock:
            table = self._table  # another request may have loaded it meanwhile
            if table is not None and table[0] == version:
                return table[1:]
            raw = spine.r.hgetall(spine.keys.vspec)
            ids = sorted(x.decode() if isinstance(x, bytes) else str(x) for x in raw)
            packed = [raw[i.encode()] for i in ids]
            flat = np.frombuffer(b"".join(packed), dtype="<f4")
            both = flat.reshape(len(ids), -1) if ids else flat.reshape(0, 0)
            half = both.shape[1] // 2 if ids else 0
            table = (version, {v: i for i, v in enumerate(ids)}, ids, both[:, :half],
                     both[:, half:])  # fmt: skip
            self._table = table
        return table[1:]

    def store_rows(self, rec: Any, ctx: UserContext, limit: int) -> list[dict[str, Any]]:
        """The same source on the spine's Redis state (``graphrec.spine.feed``): the user's
        latest engagements (kept at append time) summed over the synced query vectors, every
        video's key scored against it in this worker (exact, no index), best first."""
        import numpy as np

        spine = rec.spine
        if self.name in ctx.prefetched:
            (recent_raw,) = ctx.prefetched[self.name]
        else:
            recent_raw = spine.r.lrange(spine.keys.user(ctx.user_id, "recent"), 0, self.history - 1)
        recent = [x.decode() if isinstance(x, bytes) else str(x) for x in recent_raw]
        index, ids, query, key = self._vectors(spine, rec.lists.version)
        rows = [index[v] for v in recent if v in index]
        if not rows:
            return []
        user = query[rows].sum(axis=0)
        norm = float(np.linalg.norm(user))
        if norm == 0.0:
            return []
        scores = key @ user
        scores[rows] = -np.inf
        # The Neo4j path's score: the index's cosine, (1 + cos) / 2.
        return [{**f, "score": 0.5 * (1.0 + float(scores[i]) / norm), "quality": 0.0,
                 "via": recent[0]}
                for i, f in _best_facts(spine, ids, scores, limit, len(rows), ctx.seen)]  # fmt: skip


_PACKED: dict[str, tuple[Any, dict[str, int], list[str], Any]] = {}
_PACKED_LOCK = threading.Lock()


def packed_table(spine: Any, key: str, version: Any) -> tuple[dict[str, int], list[str], Any]:
    """A Redis hash of packed float32 vectors (id -> bytes) as (index, ids, matrix), loaded
    once per lists version and shared by the sources of this process."""
    import numpy as np

    hit = _PACKED.get(key)
    if hit is not None and hit[0] == version:
        return hit[1:]
    with _PACKED_LOCK:
        hit = _PACKED.get(key)
        if hit is not None and hit[0] == version:
            return hit[1:]
        raw = spine.r.hgetall(key)
        ids = sorted(x.decode() if isinstance(x, bytes) else str(x) for x in raw)
        packed = [raw[i.encode()] for i in ids]
        flat = np.frombuffer(b"".join(packed), dtype="<f4")
        matrix = flat.reshape(len(ids), -1) if ids else np.zeros((0, 0), np.float32)
        hit = (version, {v: i for i, v in enumerate(ids)}, ids, matrix)
        _PACKED[key] = hit
    return hit[1:]


class BlendSource(QuerySource):
    """The served score (:class:`graphrec.learn.blend.FilterBlend`): per video, the sum of
    the history's item-to-item list entries + ``g`` x the spectral dot + ``w`` x the
    embedding dot, ``g`` and ``w`` chosen on validation at training
    (``(:Model {id: 'blend'})``). Its score is what it proposes by, and a feature the ranker
    sees. On the graph: the videos the lists reach and the two vector indexes' nearest, each
    scored; on the spine: every video scored exactly. The same function on both paths."""

    history = 200  # most recent engaged videos (SpectralSource.history, the spine's RECENT)

    def __init__(self) -> None:
        super().__init__("blend", "serving/blend_user")

    _model: tuple[Any, Any] | None = None  # (version, FilterBlend)

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"your history (latest: {row['via']}) -> lists + spectral + embedding (served)"

    # --- the graph path ---------------------------------------------------------------------
    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        return {"user_id": ctx.user_id, "realtime": ctx.realtime, "history": self.history}

    def blend_from_graph(
        self, read: Callable[..., list[dict[str, Any]]], got: list[dict[str, Any]] | None = None
    ) -> Any:
        """The stored blend (None before training wrote one), reloaded when retrained
        (``got``: ``serving/blend_version``'s rows when already read)."""
        from graphrec.learn.blend import FilterBlend

        if got is None:
            got = read("serving/blend_version")
        if not got:
            return None
        version = ("graph", got[0]["trained_at"])
        model = self._model
        if model is None or model[0] != version or version[1] is None:
            full = read("state/model_info", id="blend")
            if not full:
                return None
            model = (version, FilterBlend.from_props(full[0]["props"]))
            self._model = model
        return model[1]

    _copies: GraphVectors | None = None  # the videos' vectors held for the graph path

    def copies(self, got: list[dict[str, Any]]) -> GraphVectors:
        """The copies of the stored vectors for the spectral version ``got`` names
        (``serving/blend_version``): new, empty ones when it moved."""
        row = got[0]
        at = row.get("spectral_at")
        version = None if at is None else (at, row.get("spectral_changed_at"))
        held = self._copies
        if held is not None and held.version == version and version is not None:
            return held
        # The embeddings' copies stay valid (each is checked against its rev).
        held = GraphVectors(version, held.embeddings if held is not None else None)
        if version is not None:
            self._copies = held
        return held

    def graph_rows(
        self, read: Callable[..., list[dict[str, Any]]], ctx: UserContext, limit: int
    ) -> list[dict[str, Any]]:
        """Candidates from the graph inside the feed's read transaction (``read(query,
        **params)``), scored by the stored blend, best first. The videos' spectral vectors
        and embeddings come from this process's copies (:class:`GraphVectors`); only those
        it does not hold (or whose embedding changed) are read back."""
        import numpy as np

        got = read("serving/blend_version")
        blend = self.blend_from_graph(read, got)
        user = read(self.query, **(self.params(ctx, limit) or {}))
        if blend is None or not user or not user[0]["history"]:
            return []
        copies = self.copies(got)
        history = list(user[0]["history"])
        spectral = copies.spectral_of(read, history)
        qs = [q for q in (spectral.get(v, (None, None))[0] for v in history)
              if q is not None and q.size]  # fmt: skip
        query = np.stack(qs).sum(axis=0) if qs else None
        emb = user[0]["embedding"]
        lists = {r["video_id"]: float(r["lists"]) for r in read("serving/blend_lists",
                                                                history=history)}  # fmt: skip
        k = limit * 3 + len(history)
        # The lists' strongest k (a long history reaches thousands of videos), then the two
        # indexes' nearest k: each candidate scored exactly.
        ids = set(sorted(lists, key=lambda v: (-lists[v], v))[:k])
        if query is not None and np.any(query):
            ids |= {r["video_id"] for r in read("serving/blend_nearest", index="video_spectral",
                                                 k=k, vector=query.tolist())}  # fmt: skip
        if emb and blend.w > 0:
            ids |= {r["video_id"] for r in read("serving/blend_nearest", index="video_embedding",
                                                 k=k, vector=list(emb))}  # fmt: skip
        want_emb = bool(emb) and blend.w > 0
        order = sorted(ids)
        # The embeddings held now (another feed may replace one meanwhile): each is used
        # only if the graph still stores that rev.
        held = {v: copies.embeddings.get(v) for v in order} if want_emb else {}
        items = [{"id": v, "spectral": v in copies.spectral, "rev": copies.rev_of(held.get(v))}
                 for v in order]  # fmt: skip
        rows = read("serving/blend_candidates", user_id=ctx.user_id, items=items,
                    history=history, embeddings=want_emb)  # fmt: skip
        rows = [r for r in rows if r["video_id"] not in ctx.seen]
        if not rows:
            return []
        keys, embeddings = [], []
        for r in rows:
            vid = r["video_id"]
            q, key, e, rev = r.pop("query"), r.pop("key"), r.pop("embedding"), r.pop("rev")
            pair = copies.spectral.get(vid)
            keys.append((pair if pair is not None else copies.keep_spectral(vid, q, key))[1])
            embeddings.append(copies.embedding(vid, e, rev, held.get(vid)) if want_emb else None)
        scores = served_scores(blend, [lists.get(r["video_id"], 0.0) for r in rows], keys,
                               embeddings, query, emb)  # fmt: skip
        return _best(rows, scores, limit, via=history[0])

    # --- the spine path ---------------------------------------------------------------------
    def prefetch(self, pipe: Any, spine: Any, user_id: str) -> int:
        """Queue the reads :meth:`store_rows` needs on a Redis pipeline; how many."""
        pipe.lrange(spine.keys.user(user_id, "recent"), 0, self.history - 1)
        pipe.get(spine.keys.user(user_id, "emb"))
        pipe.hget(spine.keys.meta, "blend")
        return 3

    def blend_from_store(self, raw: Any, version: Any) -> Any:
        from graphrec.learn.blend import FilterBlend

        if not raw:
            return None
        model = self._model
        if model is None or model[0] != ("spine", version):
            model = (("spine", version), FilterBlend.from_props(orjson.loads(raw)))
            self._model = model
        return model[1]

    _emb: tuple[Any, Any] | None = None  # (version, unit embeddings in the vectors' order)

    def _aligned(self, spine: Any, version: Any, ids: list[str]) -> Any:
        """The videos' unit embeddings (``vemb``) in the spectral table's row order (zero
        rows where a video has none), built once per lists version."""
        import numpy as np

        hit = self._emb
        if hit is not None and hit[0] == version:
            return hit[1]
        e_index, _, e_m = packed_table(spine, spine.keys.vemb, version)
        out = np.zeros((len(ids), e_m.shape[1] if e_m.size else 0), np.float32)
        if e_m.size:
            at = np.asarray([e_index.get(v, -1) for v in ids])
            out[at >= 0] = e_m[at[at >= 0]]
        self._emb = (version, out)
        return out

    def store_rows(self, rec: Any, ctx: UserContext, limit: int) -> list[dict[str, Any]]:
        """The same score on the spine's Redis state: the user's latest engagements (kept at
        append time), the synced lists, vectors and embeddings, every video scored."""
        import numpy as np

        spine = rec.spine
        if self.name in ctx.prefetched:
            recent_raw, emb_raw, blend_raw = ctx.prefetched[self.name]
        else:
            pipe = spine.r.pipeline(transaction=False)
            self.prefetch(pipe, spine, ctx.user_id)
            recent_raw, emb_raw, blend_raw = pipe.execute()
        recent = [x.decode() if isinstance(x, bytes) else str(x) for x in recent_raw]
        blend = self.blend_from_store(blend_raw, rec.lists.version)
        if blend is None or not recent:
            return []
        index, ids, both = packed_table(spine, spine.keys.vspec, rec.lists.version)
        if not ids:
            return []
        half = both.shape[1] // 2
        query_m, key_m = both[:, :half], both[:, half:]
        rows = [index[v] for v in recent if v in index]
        query = query_m[rows].sum(axis=0) if rows else np.zeros(half, np.float32)
        lists = np.zeros(len(ids), np.float32)
        for nb in rec.lists.get_many([spine.keys.list(f"sim:{v}") for v in recent], []):
            for vid, score, _ in nb:
                i = index.get(vid)
                if i is not None:
                    lists[i] += float(score)
        user = np.frombuffer(emb_raw, dtype="<f4") if emb_raw else None
        emb_scores = None
        if user is not None and blend.w > 0:
            e_m = self._aligned(spine, rec.lists.version, ids)
            if e_m.size and e_m.shape[1] == user.shape[0]:
                emb_scores = e_m @ user
        scores = blend.score(lists, key_m @ query, emb_scores, query=query,
                             user=None if emb_scores is None else user)  # fmt: skip
        scores = np.asarray(scores, dtype=np.float64)
        scores[[index[v] for v in recent if v in index]] = -np.inf
        return [{**f, "score": float(scores[i]), "quality": 0.0, "via": recent[0]}
                for i, f in _best_facts(spine, ids, scores, limit, len(rows), ctx.seen)]  # fmt: skip


def served_scores(
    blend: Any,
    lists: Sequence[float],
    keys: Sequence[Any],
    embeddings: Sequence[Any],
    query: Any,
    user: Sequence[float] | None,
) -> Any:
    """:meth:`FilterBlend.score` of one user's candidates from their stored values (vectors
    as lists or float32 arrays; a missing key or embedding counts 0)."""
    import numpy as np

    from graphrec.learn.blend import unit_rows

    n = len(lists)
    d = len(next((k for k in keys if k is not None and len(k)), [])) or (
        0 if query is None else len(query)
    )
    key_m = np.zeros((n, d), np.float32)
    for i, k in enumerate(keys):
        if k is not None and len(k):
            key_m[i] = k
    q = np.zeros(d, np.float32) if query is None else np.asarray(query, np.float32)
    emb = None
    u = None
    if user is not None and blend.w > 0:
        u = np.asarray(user, np.float32)
        e_m = np.zeros((n, len(u)), np.float32)
        for i, e in enumerate(embeddings):
            if e is not None and len(e) == len(u):
                e_m[i] = e
        emb = unit_rows(e_m) @ u
    return blend.score(np.asarray(lists, np.float32), key_m @ q, emb, query=q, user=u)


class GraphVectors:
    """The blend source's copies of the videos' stored vectors on the Neo4j path, so that a
    feed reads back (and the driver decodes) only what this process does not hold yet.

    - **spectral** (query, key: float32, None where a video has none), for one ``version`` of
      the stored vectors (``serving/blend_version``: ``(:Model {id: 'spectral'})``'s
      ``trained_at``, written after every ``write_spectral``, and ``changed_at``, set when
      ``db migrate`` drops vectors): new copies when it moves, none kept without a version;
    - **embeddings**: (``embedding_rev``, float32 vector) per video, carried over to the next
      version; a copy is used only while the video's stored ``embedding_rev`` is the same
      (every writer of a video's embedding, training, the online trainer, an upload's cold
      start, sets a new random one); a video without a rev is read with every feed.

    At most ``max_videos`` videos of each are kept: (2 d + k) x 4 bytes a video (d = 2 x rank
    + 1, k = the embedding size) plus about 0.4 KB of Python objects, so about 1.7 KB at rank
    64 and k = 64, at most ~85 MB a process. Beyond that, a video not held is read from the
    graph with every feed, as before these copies.
    """

    max_videos = 50_000

    def __init__(self, version: Any, embeddings: dict[str, tuple[str, Any]] | None = None) -> None:
        self.version = version
        self.spectral: dict[str, tuple[Any, Any]] = {}
        self.embeddings: dict[str, tuple[str, Any]] = {} if embeddings is None else embeddings

    @staticmethod
    def _vector(x: Any) -> Any:
        import numpy as np

        return None if x is None else np.asarray(x, np.float32)

    def keep_spectral(self, video_id: str, query: Any, key: Any) -> tuple[Any, Any]:
        """The video's stored (query, key) as read now, kept when there is room."""
        pair = (self._vector(query), self._vector(key))
        if self.version is not None and len(self.spectral) < self.max_videos:
            self.spectral[video_id] = pair
        return pair

    def spectral_of(
        self, read: Callable[..., list[dict[str, Any]]], ids: Sequence[str]
    ) -> dict[str, tuple[Any, Any]]:
        """(query, key) of each of ``ids`` (those it lacks read by ``serving/blend_vectors``;
        a video the graph does not hold is left out)."""
        held = self.spectral
        out = {v: held[v] for v in ids if v in held}
        missing = [v for v in dict.fromkeys(ids) if v not in out]
        if missing:
            for r in read("serving/blend_vectors", ids=missing):
                out[r["video_id"]] = self.keep_spectral(r["video_id"], r["query"], r["key"])
        return out

    @staticmethod
    def rev_of(held: tuple[str, Any] | None) -> str | None:
        """The ``embedding_rev`` of a held embedding (None: none held)."""
        return None if held is None else held[0]

    def embedding(
        self, video_id: str, read: Any, rev: str | None, held: tuple[str, Any] | None
    ) -> Any:
        """The video's stored embedding: ``read`` (what the query returned, kept under the
        stored ``rev`` when there is room), else ``held`` (what was held when the query was
        sent) if the graph still stores its rev; else None (the video has none)."""
        if read is not None:
            e = self._vector(read)
            if rev is not None and (video_id in self.embeddings
                                    or len(self.embeddings) < self.max_videos):  # fmt: skip
                self.embeddings[video_id] = (rev, e)
            return e
        if rev is not None and held is not None and held[0] == rev:
            return held[1]
        return None


def _best_facts(spine: Any, ids: list[str], scores: Any, limit: int, history: int,
                seen: Any) -> list[tuple[int, dict[str, Any]]]:  # fmt: skip
    """The spine sources' exact top: of every video scored (``scores``, -inf for those left
    out), the best ``3 x limit + history`` not ``seen``, best first (ties by position), then
    up to ``limit`` of them with their approved catalogue facts: (position, facts)."""
    import numpy as np

    want = min(len(ids), limit * 3 + history)
    top = np.argpartition(-scores, want - 1)[:want]
    top = top[np.lexsort((top, -scores[top]))]
    picked = [int(i) for i in top if np.isfinite(scores[i]) and ids[i] not in seen]
    facts = spine.r.hmget(spine.keys.videos, [ids[i] for i in picked]) if picked else []
    out: list[tuple[int, dict[str, Any]]] = []
    for i, raw in zip(picked, facts, strict=True):
        if raw is None or len(out) >= limit:
            continue
        f = orjson.loads(raw)
        if f.get("status") == "approved":
            out.append((i, f))
    return out


def _best(rows: list[dict[str, Any]], scores: Any, limit: int, *, via: str) -> list[dict[str, Any]]:
    order = sorted(range(len(rows)), key=lambda i: (-float(scores[i]), rows[i]["video_id"]))
    return [{**rows[i], "score": float(scores[i]), "via": via} for i in order[:limit]]


def similar_rows(
    recent: Sequence[str],
    neighbours: Sequence[Sequence[Sequence[Any]]],
    *,
    tau: float,
    seen: Any,
    limit: int,
) -> list[dict[str, Any]]:
    """Sum ``exp(-i / tau) * score`` over the i-th latest engagement's neighbours
    (``[video_id, score, quality]`` each); best first, seen ones dropped; ``via`` names the
    engagement that contributed most."""
    total: dict[str, float] = {}
    best: dict[str, tuple[float, str]] = {}
    quality: dict[str, float] = {}
    for i, (src, rows) in enumerate(zip(recent, neighbours, strict=True)):
        w = math.exp(-i / tau)
        for vid, score, q in rows:
            x = w * float(score)
            total[vid] = total.get(vid, 0.0) + x
            if x > best.get(vid, (-1.0, ""))[0]:
                best[vid] = (x, src)
            quality[vid] = q
    out: list[dict[str, Any]] = []
    for vid in sorted(total, key=lambda v: (-total[v], v)):  # seen checked only as needed
        if len(out) >= limit or total[vid] <= 0:
            break
        if vid in seen:
            continue
        out.append({"video_id": vid, "score": total[vid], "quality": quality[vid],
                    "via": best[vid][1]})  # fmt: skip
    return out


class FollowingSource(QuerySource):
    """New videos of followed creators."""

    per_creator = 3

    def __init__(self) -> None:
        super().__init__("following", "serving/source_following")

    def params(self, ctx: UserContext, limit: int) -> dict[str, Any] | None:
        if not ctx.follows:
            return None
        return {"user_id": ctx.user_id, "per_creator": self.per_creator, "limit": limit}

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"you follow {row['via']} -> posted video"


class InterestSource(SharedSource):
    """Videos of the user's strongest tags (declared, learned from events, liked).

    Shared list: every tag's best servable videos (``serving/tag_tops``); per user, the
    videos of their strongest tags, by the user's weights on each video's tags.
    """

    max_tags = 6
    per_tag = 40
    ttl_factor = 12.0  # one scan of every tag: kept 12x longer than the other shared lists

    def __init__(self) -> None:
        super().__init__("interest", "serving/tag_tops")

    def keys(self, ctx: UserContext) -> list[tuple[str, dict[str, Any]]]:
        return [("tag_tops", {"per_tag": self.per_tag})] if ctx.top_tags else []

    def rows(self, graph: Graph, lists: SharedLists, ctx: UserContext) -> list[dict[str, Any]]:
        if not ctx.top_tags:
            return []
        tops = lists.get(
            "tag_tops",
            lambda: {r["tag"]: r["videos"] for r in graph.read(self.query, per_tag=self.per_tag)},
            ttl_s=lists.ttl_s * self.ttl_factor,
        )
        out: dict[str, dict[str, Any]] = {}
        for tag, _ in ctx.top_tags[: self.max_tags]:
            for v in tops.get(tag, ()):
                out.setdefault(v["video_id"], {**v, "via": tag})
        return list(out.values())

    def order_tops(
        self, tops: dict[str, Sequence[dict[str, Any]]], ctx: UserContext
    ) -> list[dict[str, Any]]:
        """:meth:`order` of what :meth:`rows` would build from the shared ``tops`` (each
        tag's list, cached), on the lists' arrays: only the rows kept are copied (with
        ``via``, the first of the user's strongest tags listing the video)."""
        picked: list[tuple[str, ListIndex, np.ndarray]] = []
        taken: set[str] = set()
        for tag, _ in ctx.top_tags[: self.max_tags]:
            rows = tops.get(tag)
            if not rows:
                continue
            ix = list_index(rows)
            mine = []
            for i in np.flatnonzero(ix.unseen(ctx.seen)).tolist():
                v = ix.ids[i]
                if v not in taken:
                    taken.add(v)
                    mine.append(i)
            if mine:
                picked.append((tag, ix, np.array(mine, dtype=np.int64)))
        if not picked:
            return []
        weights, uid = ctx.tag_weights, ctx.user_id
        aff = np.concatenate(
            [ix.affinity(weights)[at] if weights else np.zeros(len(at)) for _, ix, at in picked]
        )
        near = np.array([-round(a, 2) for a in aff.tolist()], dtype=np.float64)
        lift = np.concatenate(
            [-(ix.column("quality")[at] + 0.05 * ix.jitter(uid)[at]) for _, ix, at in picked]
        )
        ids = np.concatenate([ix.id_array[at] for _, ix, at in picked])
        where = [(tag, ix, i) for tag, ix, at in picked for i in at.tolist()]
        out = []
        for j in np.lexsort((ids, lift, near))[: self.take].tolist():
            tag, ix, i = where[j]
            out.append({**ix.rows[i], "via": tag})
        return out

    def order(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[dict[str, Any]]:
        fresh = [r for r in rows if r["video_id"] not in ctx.seen]
        fresh.sort(
            key=lambda r: (
                -round(ctx.affinity(r["tags"]), 2),
                -(r["quality"] + 0.05 * jitter(ctx.user_id, r["video_id"])),
                r["video_id"],
            )
        )
        return fresh[: self.take]

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        best = max(row["tags"], key=lambda t: (ctx.tag_weights.get(t, 0.0), t))
        return f"{ctx.tag_origin.get(best, 'interested in')} #{best} -> video"


class CommunitySource(SharedSource):
    """Videos co-members of the user's communities liked (amplified winners)."""

    members = 40

    def __init__(self) -> None:
        super().__init__("community", "serving/source_community")

    def keys(self, ctx: UserContext) -> list[tuple[str, dict[str, Any]]]:
        return [
            (
                f"community:{c['id']}",
                {"community_id": c["id"], "members": self.members, "limit": self.limit},
            )
            for c in ctx.communities
        ]

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"your community {row['via']} -> liked by {int(row['score'])} members -> video"


class PoolsSource(SharedSource):
    """Best of the boost and trending pools (global: works for anyone)."""

    scan = 2_000

    def __init__(self) -> None:
        super().__init__("pools", "serving/source_pools")

    def keys(self, ctx: UserContext) -> list[tuple[str, dict[str, Any]]]:
        return [("pools", {"pools": ["trending", "boost"], "scan": self.scan, "limit": self.limit})]

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"{row['via']} pool -> video"


class SpilloverSource(SharedSource):
    """Videos lifted by their creator's recent hit."""

    window_ms = 14 * DAY_MS

    def __init__(self) -> None:
        super().__init__("spillover", "serving/source_spillover")

    def keys(self, ctx: UserContext) -> list[tuple[str, dict[str, Any]]]:
        since = (ctx.now - self.window_ms) // 60_000 * 60_000  # a stable key for a minute
        return [(f"spillover:{since}", {"since": since, "limit": self.limit})]

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"creator's hit {row['via']} -> spillover -> video"


class LookbackSource(SharedSource):
    """Older videos revived by the look-back rule."""

    window_ms = 14 * DAY_MS

    def __init__(self) -> None:
        super().__init__("lookback", "serving/source_lookback")

    def keys(self, ctx: UserContext) -> list[tuple[str, dict[str, Any]]]:
        since = (ctx.now - self.window_ms) // 60_000 * 60_000
        return [(f"lookback:{since}", {"since": since, "limit": self.limit})]

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return "look-back revival -> video"


class ColdStartSource(SharedSource):
    """New videos under budget in the cold-start pool (the lifecycle's contract query).

    The shared list is ``pools/cold_start_candidates`` for nobody in particular (furthest from
    budget first); per user it is re-ordered by the user's tags, seen ones dropped. Budgets
    are enforced when impressions are recorded, so a list a few seconds old never overruns.
    """

    limit = 200

    def __init__(self) -> None:
        super().__init__("cold_start", "pools/cold_start_candidates")

    def keys(self, ctx: UserContext) -> list[tuple[str, dict[str, Any]]]:
        return [("cold_start", {"user_id": None, "limit": self.limit})]

    def order(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[dict[str, Any]]:
        if len(rows) < INDEX_MIN:
            return self.order_rows(rows, ctx)
        return self.order_live(rows, [None] * len(rows), ctx)

    def order_live(
        self, rows: Sequence[dict[str, Any]], left: Sequence[Any], ctx: UserContext
    ) -> list[dict[str, Any]]:
        """:meth:`order` of the shared list ``rows`` with each row's live budget ``left``
        (None: the row's own ``remaining``; 0 or less: dropped), on the list's arrays. A
        row given a live budget comes back as a copy holding it (the spine's feed reads
        budgets from Redis with the user's state)."""
        ix = list_index(rows)
        n = len(rows)
        none = np.fromiter((x is None for x in left), dtype=bool, count=n)
        live = np.fromiter((0 if x is None else int(x) for x in left), dtype=np.int64, count=n)
        own = np.fromiter((r.get("remaining") or 0 for r in rows), dtype=np.float64, count=n)
        keep = ix.unseen(ctx.seen) & (none | (live > 0))
        remaining = np.where(none, own, live.astype(np.float64))
        at = np.flatnonzero(keep)
        weights = ctx.tag_weights
        match = ix.affinity(weights)[at] if weights else np.zeros(len(at))
        spread = remaining[at] * (0.5 + 0.5 * ix.jitter(ctx.user_id)[at])
        top = at[np.lexsort((ix.id_array[at], -spread, -match))][: self.take].tolist()
        out = []
        for i in top:
            x = left[i]
            out.append(rows[i] if x is None else {**rows[i], "remaining": int(x)})
        return out

    def order_rows(self, rows: Sequence[dict[str, Any]], ctx: UserContext) -> list[dict[str, Any]]:
        """:meth:`order` row by row (short lists; the definition the arrays follow)."""
        seen, weights, uid = ctx.seen, ctx.tag_weights, ctx.user_id
        keyed = []
        for r in rows:
            vid = r["video_id"]
            if vid in seen:
                continue
            match = tag_sum(weights, r["tags"]) if weights else 0.0
            spread = (r["remaining"] or 0) * (0.5 + 0.5 * jitter(uid, vid))
            keyed.append((-match, -spread, vid, r))
        return [k[3] for k in heapq.nsmallest(self.take, keyed, key=lambda k: k[:3])]

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        matched = [t for t in row.get("tags") or [] if ctx.tag_weights.get(t, 0) > 0]
        left = f"{row.get('remaining')} impressions left"
        if matched:
            return f"new video for #{matched[0]} -> cold-start pool ({left})"
        return f"new video -> cold-start pool ({left})"


class CatalogueSource(SharedSource):
    """The best of the whole catalogue: fills a feed when the other sources run dry."""

    limit = 400

    def __init__(self) -> None:
        super().__init__("catalogue", "serving/source_catalogue")

    def keys(self, ctx: UserContext) -> list[tuple[str, dict[str, Any]]]:
        return [("catalogue", {"limit": self.limit})]

    def reason(self, row: dict[str, Any], ctx: UserContext) -> str:
        return f"best of the catalogue ({row['via']} pool) -> video"


def default_sources() -> list[QuerySource]:
    """Every source, in the order they run."""
    return [
        BlendSource(),
        SimilarSource(),
        SpectralSource(),
        EmbeddingSource(),
        FollowingSource(),
        InterestSource(),
        CommunitySource(),
        PoolsSource(),
        SpilloverSource(),
        LookbackSource(),
        ColdStartSource(),
        CatalogueSource(),
    ]
