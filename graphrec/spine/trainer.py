"""The online trainer: the ``online-trainer`` consumer group keeps the model learning.

It reads the event stream (its own consumer group, so the graph writer and it never wait for
each other), turns entries into :class:`~graphrec.learn.online.Interactions` (engagements
weighted as ``Settings.learn_weights`` weighs them in batch training, skips as negatives, each
served feed's videos as impressions: the negatives), and for each batch read:

1. **holds it out** first: the :class:`~graphrec.learn.online.PrequentialGate` ranks a sample
   of its users with the online vectors and with the last batch model's (neither has trained
   on these events);
2. **learns** from it (:meth:`OnlineLearner.update`: a few optimizer steps on the touched
   vectors);
3. **publishes** the vectors that moved to Redis at once (videos: ``gr:{c}:vemb``, which the
   events path and the feed read; users: ``u:<id>:emb``, marked ``moved`` so the graph
   writer refreshes their nearline list) **if the gate allows**; the verdict with its figures
   is kept in ``gr:{w}:progress`` (``online-trainer:gate``) and logged when it refuses;
4. acknowledges the entries (one round trip). Every ``graph_every_s`` the vectors published since the last
   write go to Neo4j in batches (``learn/write_*_embeddings``, source ``online``), where the
   vector indexes pick them up; the API never stops.

The model starts from what the last batch run wrote to Neo4j (``graphrec train``); when the
checkpoint file changes (a new batch run: the periodic reset) the trainer starts again from
the new vectors. Delivery is at least once: an entry learned twice after a crash nudges
vectors twice, which the next batch reset absorbs.

Per entry it does as little Python as it can (issue #16: 20,000 events/s on 2 cores shared
with the producer and Redis): it reads the stream raw (:meth:`StreamReader.read_raw`: no
redis-py reply parsing, no :class:`Entry`), builds the batch from the bytes
(:func:`interactions_from_raw`: the interactions :func:`interactions_from` builds, decoding
the ids in one call), and keeps the delays in a numpy ring (:class:`DelayWindow`).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from graphrec.config import Settings, get_settings
from graphrec.db import Graph
from graphrec.errors import InvalidInput
from graphrec.events import KIND_TYPES, EventKind
from graphrec.learn.online import (
    GateReport,
    Interactions,
    OnlineConfig,
    OnlineLearner,
    PrequentialGate,
    VectorSnapshot,
)
from graphrec.learn.ranker import LogRankerRefresh
from graphrec.spine.store import Spine
from graphrec.spine.stream import (
    ConsumerLoop,
    Entry,
    RawRead,
    StreamReader,
    consumer_name,
    send_commands,
)

GROUP = "online-trainer"
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
SKIP_WEIGHT = -1.0
log = logging.getLogger(__name__)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off meanwhile (back to how it was after). A raw read
    of 40,000 entries makes ~500,000 small lists and bytes; each few hundred allocations
    start a collection that walks the young ones again, and the full ones the whole heap:
    with it on, parsing and building a batch took 1.0 CPU-s per 100,000 entries, with it
    off 0.58 (measured). Nothing made meanwhile holds a cycle: refcounting frees it all."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` meanwhile. The trainer shares its cores with
    Redis, the API and the graph writer: with two threads on a busy 2-core machine one
    update of 20,000 events ran ~6x slower than with one (measured: 7,800 against 50,000
    events/s, load average 6)."""
    import torch

    was = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(was)


def kind_weights(settings: Settings) -> dict[str, float]:
    """Each event kind's weight as a positive (batch training's ``learn_weights`` by the
    relationship the kind writes); skips are negatives; the rest (impressions) weigh 0."""
    out: dict[str, float] = {}
    for kind, (rel, _) in KIND_TYPES.items():
        out[kind.value] = float(settings.learn_weights.get(rel, 0.0))
    out[EventKind.skip.value] = SKIP_WEIGHT
    return out


def interactions_from(entries: Sequence[Entry], weights: Mapping[str, float]) -> Interactions:
    """Stream entries as the learner reads them; a served feed counts one impression per
    video; entries without a video (follows) carry nothing for the embeddings."""
    users: list[str] = []
    items: list[str] = []
    w: list[float] = []
    times: list[float] = []
    for e in entries:
        f = e.fields
        at = e.appended_ms / 1000
        if f.get("k") == "served":
            for vid in f.get("v", "").split(","):
                if vid:
                    users.append(f["u"])
                    items.append(vid)
                    w.append(0.0)
                    times.append(at)
            continue
        video = f.get("v")
        if not video or f.get("k") not in weights:
            continue
        users.append(f["u"])
        items.append(video)
        w.append(weights[f["k"]])
        times.append(at)
    return Interactions(users, items, np.asarray(w, dtype=np.float32), np.asarray(times))


def _decode_all(ids: list[bytes]) -> list[str]:
    """``[i.decode() for i in ids]`` in one decode: NUL never occurs inside a UTF-8 sequence,
    so joined on it, decoded and split, each piece is its id's decode (one id with a NUL in
    it changes the count: then each is decoded alone)."""
    out = b"\0".join(ids).decode().split("\0") if ids else []
    return out if len(out) == len(ids) else [i.decode() for i in ids]


_MS_DIGITS = 13  # epoch milliseconds from 2001 to 2286
_POW10 = 10 ** np.arange(_MS_DIGITS - 1, -1, -1, dtype=np.int64)
_KEY_AT = ((0, b"k"), (2, b"u"), (4, b"v"))
_KIND, _USER, _VIDEO = itemgetter(1), itemgetter(3), itemgetter(5)


def _append_ms(ids: list[bytes]) -> np.ndarray:
    """The epoch-ms part of stream entry ids (``b"<ms>-<seq>"``) as int64: parsed as a byte
    matrix when every id has 13 digits before its dash (every id of this era), else one by
    one."""
    if not ids:
        return np.zeros(0, dtype=np.int64)
    arr = np.array(ids, dtype=np.bytes_)
    width = arr.dtype.itemsize
    if width > _MS_DIGITS:
        m = arr.view(np.uint8).reshape(len(ids), width)
        digits = m[:, :_MS_DIGITS]
        if (m[:, _MS_DIGITS] == ord("-")).all() and ((digits >= 48) & (digits <= 57)).all():
            return (digits.astype(np.int64) - 48) @ _POW10
    return np.array([i.partition(b"-")[0] for i in ids], dtype=np.bytes_).astype(np.int64)


def _plain_part(
    flats: list[list[bytes]], wb: Mapping[bytes, float]
) -> tuple[list[bytes], list[bytes], list[float | None]] | None:
    """A partition's entries when every one is an engagement or skip with its fields in the
    append script's order (``k``, ``u``, ``v`` first) and a video: its users, videos and
    weights, each taken for all entries at once (C-level ``map``); else None (the caller
    goes entry by entry)."""
    try:
        for at, key in _KEY_AT:
            if list(map(itemgetter(at), flats)).count(key) != len(flats):
                return None
        kinds = list(map(_KIND, flats))
        videos = list(map(_VIDEO, flats))
    except IndexError:  # an entry with fewer fields
        return None
    weights = list(map(wb.get, kinds))  # None: served feeds, unknown kinds
    if None in weights or b"" in videos:
        return None
    return list(map(_USER, flats)), videos, weights


def interactions_from_raw(
    read: RawRead, weights: Mapping[str, float]
) -> tuple[Interactions, np.ndarray]:
    """:func:`interactions_from` on a raw read (:meth:`StreamReader.read_raw`): the same
    interactions in the same order, built from the bytes Redis sent without an
    :class:`Entry` or a decoded dict per entry; and each entry's append time (epoch ms,
    int64), in read order. A partition whose entries are all engagements in the append
    script's field order (the usual read) is taken column by column (:func:`_plain_part`);
    any other entry by its fields."""
    wb = {k.encode(): float(w) for k, w in weights.items() if k != "served"}
    served = b"served"
    users: list[bytes] = []
    items: list[bytes] = []
    w: list[float] = []
    at: list[int] = []  # each interaction's entry (its index in read order)
    eids: list[bytes] = []
    n = 0
    for _, entries in read.parts:
        eids.extend(map(_FIRST, entries))
        flats = list(map(_SECOND, entries))
        plain = _plain_part(flats, wb)
        if plain is not None:
            users.extend(plain[0])
            items.extend(plain[1])
            w.extend(plain[2])  # type: ignore[arg-type]
            at.extend(range(n, n + len(flats)))
            n += len(flats)
            continue
        for flat in flats:
            it = iter(flat)
            f = dict(zip(it, it, strict=True))
            k = f.get(b"k")
            if k == served:
                u = f[b"u"]
                for vid in f.get(b"v", b"").split(b","):
                    if vid:
                        users.append(u)
                        items.append(vid)
                        w.append(0.0)
                        at.append(n)
            else:
                video = f.get(b"v")
                if video and k in wb:
                    users.append(f[b"u"])
                    items.append(video)
                    w.append(wb[k])
                    at.append(n)
            n += 1
    appended = _append_ms(eids)
    times = (appended if len(at) == n else appended[np.asarray(at, dtype=np.int64)]) / 1000
    batch = Interactions(
        _decode_all(users), _decode_all(items), np.asarray(w, dtype=np.float32), times
    )
    return batch, appended


def _read_vectors(graph: Graph, name: str, key: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    param = f"{key}s"
    for i in range(0, len(ids), 5_000):
        for r in graph.read(name, **{param: list(ids[i : i + 5_000])}):
            if r["embedding"]:
                out[str(r[key])] = np.asarray(r["embedding"], dtype=np.float32)
    return out


def learner_from_graph(
    graph: Graph, *, settings: Settings | None = None, config: OnlineConfig | None = None
) -> tuple[OnlineLearner, VectorSnapshot]:
    """The online learner started from the vectors in Neo4j (the last batch run, cold starts),
    with the graph's interactions as history; and a frozen copy: the gate's batch model."""
    from graphrec.learn.export import export_graph

    s = settings or get_settings()
    export = export_graph(graph, settings=s)
    users = _read_vectors(graph, "learn/user_embeddings", "user_id", export.user_ids)
    videos = _read_vectors(graph, "learn/video_embeddings", "video_id", export.video_ids)
    if not videos:
        raise InvalidInput("no video has an embedding yet: run `graphrec train` first")
    dim = len(next(iter(videos.values())))
    zero = np.zeros(dim, dtype=np.float32)
    uv = np.stack([users.get(u, zero) for u in export.user_ids]) if export.user_ids else None
    iv = np.stack([videos.get(v, zero) for v in export.video_ids])
    learner = OnlineLearner.from_vectors(
        user_ids=export.user_ids,
        user_vectors=uv if uv is not None else np.zeros((0, dim), dtype=np.float32),
        item_ids=export.video_ids,
        item_vectors=iv,
        history=export.matrix,
        item_tags=dict(zip(export.video_ids, export.video_tags, strict=True)),
        item_creator=dict(zip(export.video_ids, export.video_creator, strict=True)),
        config=config,
    )
    return learner, learner.snapshot()


class DelayWindow:
    """The delays (s) of the last ``maxlen`` entries in a numpy ring (``None``: every one
    kept): extended a batch at a time, no Python float per entry."""

    def __init__(self, maxlen: int | None = 200_000) -> None:
        if maxlen is not None and maxlen < 1:
            raise InvalidInput("a delay window needs maxlen >= 1 (or None: unbounded)")
        self.maxlen = maxlen
        self._buf = np.zeros(maxlen or 4_096, dtype=np.float64)
        self._seen = 0

    def extend(self, values: np.ndarray | Sequence[float]) -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        if self.maxlen is None:
            end = self._seen + len(v)
            if end > len(self._buf):
                self._buf = np.concatenate([self._buf, np.zeros(max(end, 2 * len(self._buf)))])
            self._buf[self._seen : end] = v
            self._seen = end
            return
        cap = self.maxlen
        self._seen += len(v)
        v = v[-cap:]
        start = (self._seen - len(v)) % cap
        head = min(len(v), cap - start)
        self._buf[start : start + head] = v[:head]
        self._buf[: len(v) - head] = v[head:]

    def __len__(self) -> int:
        return self._seen if self.maxlen is None else min(self._seen, self.maxlen)

    def values(self) -> np.ndarray:
        """The delays held (a view; their order is not kept once the ring wrapped)."""
        return self._buf[: len(self)]


@dataclass
class TrainerStats:
    """What the trainer has done so far (also kept in Redis for ``graphrec stream status``)."""

    entries: int = 0
    events: int = 0
    updates: int = 0
    published_users: int = 0
    published_videos: int = 0
    graph_writes: int = 0
    refused: int = 0
    update_seconds: float = 0.0
    rehearsal_pairs: int = 0
    rehearsal_seconds: float = 0.0
    rehearsal_cpu_s: float = 0.0  # process CPU-seconds spent rehearsing
    rehearsal_slices: int = 0
    delays_s: DelayWindow = field(default_factory=DelayWindow)
    gate: GateReport | None = None
    _fresh: dict[str, float] = field(default_factory=dict, repr=False)
    _fresh_at: float = field(default=-1e18, repr=False)

    def freshness(self, max_age_s: float = 0.0) -> dict[str, float]:
        """p50/p99 of the delays held; a figure computed less than ``max_age_s`` ago is
        reused (the per-round progress note needs no fresh percentile of 200,000)."""
        now = time.monotonic()
        if self._fresh and now - self._fresh_at < max_age_s:
            return self._fresh
        d = self.delays_s.values() if len(self.delays_s) else np.zeros(1)
        p50, p99 = np.percentile(d, [50, 99])
        self._fresh = {
            "event_to_model_p50_s": round(float(p50), 4),
            "event_to_model_p99_s": round(float(p99), 4),
        }
        self._fresh_at = now
        return self._fresh


class OnlineModel:
    """What the trainer does with each batch, apart from the transport: hold it out (the
    gate), learn from it, hand over the vectors that moved while the gate allows, and keep
    them for the graph. The stream consumer (:class:`OnlineTrainer`) and the simulated day's
    ``online`` policy (:mod:`graphrec.sim`) both run this."""

    def __init__(
        self,
        learner: OnlineLearner,
        batch_model: VectorSnapshot,
        *,
        margin: float = 0.02,
        min_users: int = 200,
    ) -> None:
        self.learner = learner
        self.margin, self.min_users = margin, min_users
        self.gate = PrequentialGate(batch_model, margin=margin, min_users=min_users)
        self.report: GateReport | None = None
        self.refused = 0
        self.pending_users: dict[str, np.ndarray] = {}
        self.pending_videos: dict[str, np.ndarray] = {}

    def learn(self, batch: Interactions) -> GateReport:
        """Hold ``batch`` out (ranked by the online and the batch vectors), then learn it."""
        self.gate.observe(self.learner, batch)
        self.learner.update(batch)
        self.report = self.gate.report()
        return self.report

    def rehearse(self, budget_s: float | None = None) -> int:
        """Advance a due rehearsal pass by up to ``budget_s`` (at least one slice; ``None``:
        to its end); what it moved is handed over by the next :meth:`moved`. Returns the
        replayed pairs stepped."""
        return self.learner.rehearse_some(budget_s=budget_s)

    def moved(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
        """The vectors moved since the last call (users, videos), also kept for the graph;
        None while the gate refuses (they stay marked, for when it allows again)."""
        if self.report is not None and not self.report.publish:
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                log.warning("online trainer: not publishing: %s", self.report.reason)
            return None
        users, videos = self.learner.take_dirty()
        self.pending_users.update(users)
        self.pending_videos.update(videos)
        return users, videos

    def write_graph(self, graph: Graph, *, at: int | None = None) -> int:
        """The vectors handed over since the last write into Neo4j, in batches
        (``learn/write_*_embeddings``, source ``online``; the vector indexes follow); on
        failure they are kept and written next time. Returns the vectors written."""
        if not (self.pending_users or self.pending_videos):
            return 0
        at = at if at is not None else int(time.time() * 1000)
        users, videos = self.pending_users, self.pending_videos
        self.pending_users, self.pending_videos = {}, {}
        try:
            for name, rows in (("learn/write_video_embeddings", videos),
                               ("learn/write_user_embeddings", users)):  # fmt: skip
                payload = [
                    {"id": i, "embedding": v.astype(float).tolist(), "source": "online"}
                    for i, v in rows.items()
                ]
                graph.write_rows(name, payload, batch_size=2_000, extra={"at": at})
        except Exception:
            for mine, kept in ((users, self.pending_users), (videos, self.pending_videos)):
                mine.update(kept)  # newer vectors (handed over meanwhile) win
                kept.clear()
                kept.update(mine)
            raise
        return len(users) + len(videos)


class OnlineTrainer(ConsumerLoop):
    """One consumer of the ``online-trainer`` group: learn, gate, publish, write back."""

    label = "online trainer"

    def __init__(
        self,
        spine: Spine,
        learner: OnlineLearner,
        batch_model: VectorSnapshot,
        *,
        graph: Graph | None = None,
        margin: float = 0.02,
        min_users: int = 200,
        graph_every_s: float = 5.0,
        rehearse_slice_s: float = 0.05,
        rehearse_lag_s: float = 1.0,
        threads: int = 1,
        consumer: str | None = None,
        reset_check: Callable[[OnlineTrainer], None] | None = None,
        ranker: LogRankerRefresh | None = None,
    ) -> None:
        super().__init__()
        # The ranker's online learning: a refit on a sliding window of the served logs, in
        # its own thread, started from the loop when due (None: the ranker is left alone).
        self.ranker = ranker
        self.spine = spine
        self.graph = graph
        self.margin, self.min_users = margin, min_users
        self.model = OnlineModel(learner, batch_model, margin=margin, min_users=min_users)
        self.graph_every_s = graph_every_s
        self.rehearse_slice_s, self.rehearse_lag_s = rehearse_slice_s, rehearse_lag_s
        self.threads = threads
        self.reader = StreamReader(spine, GROUP, consumer or consumer_name(GROUP))
        self.weights = kind_weights(spine.settings)
        self.stats = TrainerStats()
        self._last_graph = time.monotonic()
        self._reset_check = reset_check

    @property
    def learner(self) -> OnlineLearner:
        return self.model.learner

    def restart(self, learner: OnlineLearner, batch_model: VectorSnapshot) -> None:
        """Start again from a new batch model (the periodic reset); unwritten vectors of the
        old one are dropped."""
        self.model = OnlineModel(learner, batch_model, margin=self.margin, min_users=self.min_users)

    # --- one round ------------------------------------------------------------------------
    def step(self, *, block: bool = True) -> int:
        """Read, hold out, learn, publish, acknowledge; then, only while the trainer keeps up
        (the read found nothing, or its oldest entry was learned within ``rehearse_lag_s`` of
        its append), up to ``rehearse_slice_s`` of a due rehearsal pass (at least one
        slice). Fresh events never wait for a whole pass. Returns the entries consumed."""
        got = self._read(block=block and not self.learner.rehearsal_due)
        with torch_threads(self.threads):
            read = self._learn(got)
        if self.graph is not None and time.monotonic() - self._last_graph >= self.graph_every_s:
            self.write_graph()
        if self.ranker is not None:
            self.ranker.maybe_start()
        return read

    def _read(self, *, block: bool) -> tuple[Interactions, np.ndarray, dict[str, list[bytes]]]:
        """One raw read as a batch, its entries' append times (ms) and ids (for the ack); the
        raw reply is freed before the garbage collector is back on."""
        with gc_paused():
            raw = self.reader.read_raw(block=block)
            batch, appended_ms = interactions_from_raw(raw, self.weights)
            ids = raw.ids()
            del raw
        return batch, appended_ms, ids

    def _learn(self, got: tuple[Interactions, np.ndarray, dict[str, list[bytes]]]) -> int:
        batch, appended_ms, ids = got
        oldest_s = 0.0
        entries = len(appended_ms)
        if entries:
            t0 = time.perf_counter()
            self.stats.gate = self.model.learn(batch)
            self.stats.update_seconds += time.perf_counter() - t0
            self.publish()
            self.reader.ack_ids(ids)
            delays = time.time() - appended_ms / 1000
            oldest_s = float(delays.max())
            self.stats.delays_s.extend(delays)
            self.stats.entries += entries
            self.stats.events += len(batch)
            self.stats.updates += 1
        due = self.learner.rehearsal_due
        if due and oldest_s <= self.rehearse_lag_s:
            t0, c0 = time.perf_counter(), time.process_time()
            self.stats.rehearsal_pairs += self.model.rehearse(self.rehearse_slice_s)
            self.stats.rehearsal_seconds += time.perf_counter() - t0
            self.stats.rehearsal_cpu_s += time.process_time() - c0
            self.stats.rehearsal_slices += 1
            self.publish()
        if entries or due:
            self._progress()
        return entries

    def publish(self) -> bool:
        """Moved vectors to Redis when the gate allows; kept for later when it refuses."""
        moved = self.model.moved()
        self.stats.refused = self.model.refused
        if moved is None:
            return False
        users, videos = moved
        if not users and not videos:
            return True
        # Packed in the wire format (send_commands; one write, one reply each): thousands
        # of vectors a round went through redis-py's per-argument packing before.
        k = self.spine.keys
        cmds: list[tuple[bytes, ...]] = []
        if videos:
            cmds.append((
                b"HSET", k.vemb.encode(),
                *chain.from_iterable(
                    (v.encode(), x.astype("<f4").tobytes()) for v, x in videos.items()
                ),
            ))  # fmt: skip
        by_part: dict[int, list[str]] = {}
        for uid in users:
            by_part.setdefault(k.part(uid), []).append(uid)
        for part, uids in by_part.items():  # the vectors, then the marks (one MSET, one SADD)
            pre = k.prefix(part)
            keyed = [(u.encode(), f"{pre}u:{u}:".encode()) for u in uids]
            cmds.append((
                b"MSET",
                *chain.from_iterable(
                    (key + b"emb", users[u].astype("<f4").tobytes())
                    for (_, key), u in zip(keyed, uids, strict=True)
                ),
            ))  # fmt: skip
            cmds.extend((b"HSET", key + b"meta", b"emb_online", b"1") for _, key in keyed)
            cmds.append((b"SADD", k.moved(part).encode(), *(u for u, _ in keyed)))
        send_commands(self.spine.r, cmds)
        self.stats.published_users += len(users)
        self.stats.published_videos += len(videos)
        return True

    def write_graph(self) -> int:
        """Published vectors into Neo4j in batches (the vector indexes follow); on failure
        they are kept and written on a later round."""
        self._last_graph = time.monotonic()
        if self.graph is None:
            return 0
        written = self.model.write_graph(self.graph)
        self.stats.graph_writes += written
        return written

    def _progress(self) -> None:
        st = self.stats
        g = st.gate.as_dict() if st.gate else {}
        self.spine.r.hset(
            self.spine.keys.progress,
            mapping={
                f"{GROUP}:applied_at": int(time.time() * 1000),
                f"{GROUP}:gate": orjson.dumps(g),
                f"{GROUP}:stats": orjson.dumps(self.summary(freshness_age_s=1.0)),
            },
        )

    def summary(self, *, freshness_age_s: float = 0.0) -> dict[str, Any]:
        """What the trainer has done; the delay percentiles may be up to ``freshness_age_s``
        old (0: computed now)."""
        st = self.stats
        return {
            "entries": st.entries,
            "events": st.events,
            "updates": st.updates,
            "published_users": st.published_users,
            "published_videos": st.published_videos,
            "graph_writes": st.graph_writes,
            "refused_rounds": st.refused,
            "events_per_update_s": round(st.events / st.update_seconds, 1)
            if st.update_seconds
            else None,
            "rehearsal_passes": self.learner.rehearsal_passes,
            "rehearsal_pairs": st.rehearsal_pairs,
            "rehearsal_seconds": round(st.rehearsal_seconds, 3),
            **st.freshness(freshness_age_s),
            "gate": st.gate.as_dict() if st.gate else None,
            "ranker": self.ranker.summary() if self.ranker is not None else None,
        }

    # --- running --------------------------------------------------------------------------
    def drain(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Learn until the group has nothing pending or unread, then write the graph."""
        from graphrec.spine.stream import group_status

        deadline = time.monotonic() + timeout_s
        while True:
            st = group_status(self.spine, GROUP)
            if st["pending"] == 0 and st["lag"] == 0:
                break
            if time.monotonic() > deadline:
                raise InvalidInput(f"the online trainer did not catch up in {timeout_s:.0f}s")
            self.step(block=False)
        self.write_graph()
        return self.summary()

    def tick(self) -> None:
        """Restart from a new batch model when one has settled, then learn one read."""
        if self._reset_check is not None:
            self._reset_check(self)
        self.step(block=True)

    def on_stop(self) -> None:
        """Wait for a ranker refit under way; write the last published vectors to the graph."""
        if self.ranker is not None:
            self.ranker.join()
        if self.graph is not None:
            try:
                self.write_graph()
            except Exception as e:  # Neo4j down at shutdown: the next batch run resets anyway
                log.warning("online trainer: final graph write failed: %s", e)


def checkpoint_watch(
    graph: Graph,
    settings: Settings,
    config: OnlineConfig | None = None,
    *,
    settle_s: float = 120.0,
) -> Callable[[OnlineTrainer], None]:
    """A reset check: once the batch checkpoint file has changed and then stayed unchanged
    ``settle_s`` (the batch run saves it before its write-back to Neo4j), restart from the
    vectors in the graph: the periodic reset."""
    path = settings.learn_checkpoint

    def mtime() -> float | None:
        return path.stat().st_mtime if path.is_file() else None

    seen: dict[str, float | None] = {"mtime": mtime(), "at": time.monotonic()}

    def check(trainer: OnlineTrainer) -> None:
        if time.monotonic() - (seen["at"] or 0.0) < 5:
            return
        seen["at"] = time.monotonic()
        m = mtime()
        if m is None or m == seen["mtime"] or time.time() - m < settle_s:
            return
        seen["mtime"] = m
        trainer.restart(*learner_from_graph(graph, settings=settings, config=config))
        log.info("online trainer: restarted from the new batch model (%s)", path)

    return check


__all__ = [
    "GROUP",
    "DelayWindow",
    "OnlineModel",
    "OnlineTrainer",
    "checkpoint_watch",
    "interactions_from",
    "interactions_from_raw",
    "kind_weights",
    "learner_from_graph",
]
