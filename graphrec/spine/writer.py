"""The graph writer: the ``graph-writer`` consumer group applying the stream to Neo4j.

Each step reads up to ``stream_read_count`` entries per partition (``stream_read_slice`` a
partition per ``XREADGROUP``: :meth:`StreamReader.read`) and applies them in write
transactions of at most ``TX_EVENTS`` entries, every user's entries in one (so the graph ends
as one transaction would leave it): ``serving/apply_served`` (a feed's impressions: SAW,
counters, IN_POOL.served; by video id), ``serving/ingest_events`` (one relationship per event,
counters; by video, then user), ``serving/step_interests`` and ``serving/step_embeddings``
(tag weights, online embedding: ``serving/update_profiles``' arithmetic, batch-wide), then
acknowledges them (``XACK``). Everything is idempotent by id (``event_id``, ``served_id``), so
an entry applied twice (a consumer killed after commit, before ack, or a read retried after
some of its transactions committed) changes nothing the second time.

One writer applies at a time: the writer holding a lease in Redis (``gr:{w}:lease``,
renewed every step) reads; the writers of other API workers stand by and take over when it
stops renewing. That keeps one lock order in Neo4j (no deadlocks between writers). When Neo4j
is down the batch is kept and retried; entries stay pending in Redis meanwhile, and the API
keeps serving from Redis. Between batches the lease holder refreshes the shared candidate
lists (every ``state_refresh_s``), the nearline lists of users whose online embedding moved,
and trims entries every group has acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import time
from functools import partial
from typing import Any

import redis
from neo4j import ManagedTransaction

from graphrec.db import Graph, run_in
from graphrec.errors import GraphrecError
from graphrec.events import KIND_TYPES, EventKind, Stepped, profile_rows, step_profiles
from graphrec.learn.ranker import decode_log
from graphrec.spine.store import Spine
from graphrec.spine.stream import (
    ConsumerLoop,
    Entry,
    StreamReader,
    consumer_name,
    group_status,
    trim_acked,
)

GROUP = "graph-writer"
LEASE_MS = 15_000
log = logging.getLogger(__name__)


_KINDS = {k.value: k for k in EventKind}


def served_rows(entries: list[Entry]) -> list[dict[str, Any]]:
    """The SAW rows of a batch's ``served`` entries (one per video of each), each served_id
    once (an entry can come twice in a batch: claimed from the group and kept for a retry),
    sorted by video id (the lock order of every writer)."""
    served: dict[str, dict[str, Any]] = {}
    for e in entries:
        f = e.fields
        if f["k"] != "served":
            continue
        at = int(f["at"])
        vids = f["v"].split(",")
        # The logged features, one string per video ("x"; an entry appended before they
        # were logged has none: its SAWs get no x).
        xs = f["x"].split(";") if f.get("x") else []
        for pos, vid in enumerate(vids):
            sid = f"{f['f']}:{vid}"
            if sid in served:
                continue
            x = decode_log(xs[pos]) if pos < len(xs) else None
            served[sid] = {"served_id": sid, "user_id": f["u"], "video_id": vid, "at": at,
                           "pos": pos, "x": x}  # fmt: skip
    return sorted(served.values(), key=lambda r: (r["video_id"], r["user_id"], r["served_id"]))


def apply_served(tx: ManagedTransaction, rows: list[dict[str, Any]]) -> int:
    """Apply :func:`served_rows` in ``tx``; how many SAWs were new."""
    if not rows:
        return 0
    return int(run_in(tx, "serving/apply_served", rows=rows)[0]["applied"])


def _rows(
    entries: list[Entry],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Stepped]]:
    events: list[dict[str, Any]] = []
    models: list[Stepped] = []
    seen: set[str] = set()
    for e in entries:
        f = e.fields
        if f["k"] == "served" or f["id"] in seen:
            continue
        at = int(f["at"])
        seen.add(f["id"])
        kind = _KINDS.get(f["k"]) or EventKind(f["k"])  # a dict: EventKind(...) cost 6 us
        rel, counter = KIND_TYPES[kind]
        watch = int(f["wm"]) if "wm" in f else None
        events.append(
            {
                "i": len(events),
                "event_id": f["id"],
                "user_id": f["u"],
                "video_id": f.get("v"),
                "creator_id": f.get("c") if kind is EventKind.follow else None,
                "type": rel,
                "counter": counter,
                "at": at,
                "watch_ms": watch,
            }
        )
        models.append(Stepped(f["u"], kind, f.get("v"), at))
    return served_rows(entries), events, models


# Events per transaction at most: a read of every partition holds up to
# stream_read_count x partitions entries (40,000) when the graph lags, and Neo4j's CPU per
# event grows with a transaction's size (its state lives through many young collections: at
# world M, 5,000-event transactions cost ~15 % more per event than 1,000-event ones, 40,000
# more again; ``graphrec bench apply``).
TX_EVENTS = 2_000


def user_chunks(entries: list[Entry], limit: int = TX_EVENTS) -> list[list[Entry]]:
    """``entries`` cut into chunks of about ``limit`` entries, every user's entries in one
    chunk (in stream order), so applying the chunks one transaction each leaves the graph as
    one transaction would: a profile steps once per batch (its online embedding moves by one
    normalised step for the user's events together), a served SAW and the impression that
    stamps it are one user's, and the video counters are sums (any order)."""
    by_user: dict[str, list[Entry]] = {}
    for e in entries:
        by_user.setdefault(e.fields["u"], []).append(e)
    out: list[list[Entry]] = []
    cur: list[Entry] = []
    for mine in by_user.values():
        if cur and len(cur) + len(mine) > limit:
            out.append(cur)
            cur = []
        cur += mine
    if cur:
        out.append(cur)
    return out


def apply_events(
    tx: ManagedTransaction,
    served: list[dict[str, Any]],
    events: list[dict[str, Any]],
    models: list[Stepped],
    *,
    rate: float,
    now: int,
) -> dict[str, int]:
    """Apply a batch's rows (:func:`_rows`) in ``tx``: served SAWs (serving/apply_served), the
    events (serving/ingest_events) and the profiles they move, in two batch-wide statements
    (serving/step_interests, serving/step_embeddings) that leave the graph as
    serving/update_profiles does at less Neo4j CPU (``graphrec bench apply``)."""
    out = {"served": apply_served(tx, served), "events": 0, "duplicates": 0}
    if not events:
        return out
    # One lock order (by video, then user) for every writer. A replayed entry carries its
    # kind; a repeat under another kind was refused by Redis at append: the id is checked
    # under its own type only.
    events.sort(key=lambda r: (r["video_id"] or "", r["user_id"], r["event_id"]))
    grouped = run_in(tx, "serving/ingest_events", rows=events, any_type=False)
    by_status = {g["status"]: g["rows"] for g in grouped}
    ok = set(by_status.get("accepted", ()))
    out["events"] = len(ok)
    out["duplicates"] = len(by_status.get("duplicate", ()))
    stored = [m for i, m in enumerate(models) if i in ok]  # in stream order
    if stored:
        step_profiles(tx, profile_rows(stored, now), rate=rate)
    return out


def apply_entries(
    graph: Graph, entries: list[Entry], *, rate: float, now: int | None = None
) -> dict[str, int]:
    """Apply stream entries, a transaction per :func:`user_chunks` chunk; counts of what was
    new. A failure leaves the earlier chunks committed: the batch is retried whole, and what
    they stored comes back as duplicates (changing nothing)."""
    now = now if now is not None else int(time.time() * 1000)
    out = {"served": 0, "events": 0, "duplicates": 0}
    for chunk in user_chunks(entries):
        served, events, models = _rows(chunk)
        work = partial(apply_events, served=served, events=events, models=models, rate=rate,
                       now=now)  # fmt: skip
        got = graph.transaction(work, what="applying the event stream")
        for k in out:
            out[k] += got[k]
    return out


class GraphWriter(ConsumerLoop):
    """One consumer of the ``graph-writer`` group (several share the work through a lease)."""

    label = "graph writer"

    def __init__(self, graph: Graph, spine: Spine, consumer: str | None = None) -> None:
        super().__init__()
        self.graph = graph
        self.spine = spine
        self.reader = StreamReader(spine, GROUP, consumer or consumer_name(GROUP))
        self.retry: list[Entry] = []
        self.applied = 0
        self._held = False
        self._last_trim = 0.0
        self._applied_at = 0.0  # monotonic time of the last apply

    # --- applying ----------------------------------------------------------------------
    def apply(self, entries: list[Entry]) -> dict[str, int]:
        """Apply entries to Neo4j (:func:`apply_entries`); counts of what was new."""
        return apply_entries(self.graph, entries, rate=self.spine.settings.online_embedding_rate)

    def _lease(self) -> bool:
        r, me = self.spine.r, self.reader.consumer
        if r.set(self.spine.keys.lease, me, nx=True, px=LEASE_MS):
            if not self._held:
                self.retry = self.reader.claim(min_idle_ms=0) + self.retry  # the last holder's
            self._held = True
            return True
        holder = r.get(self.spine.keys.lease)
        if holder is not None and holder.decode() == me:
            r.pexpire(self.spine.keys.lease, LEASE_MS)
            return True
        self._held = False
        return False

    def step(self, *, block: bool = True) -> int:
        """Apply one batch (the retried one first); returns how many entries were applied.

        Blocking (the thread's loop), a step comes at most ``stream_writer_interval_ms``
        after the last apply: what arrives meanwhile is applied in one transaction, so under
        load Neo4j commits a few large batches a second, not one per feed (each transaction
        has a fixed cost), and after a quiet spell the first entry is applied at once."""
        if not self._lease():
            if block:
                time.sleep(self.spine.settings.stream_block_ms / 1000)
            return 0
        if block and not self.retry:
            wait = self._applied_at + self.spine.settings.stream_writer_interval_ms / 1000
            if self._stop.wait(max(0.0, wait - time.monotonic())):
                return 0  # stopping: what is unread stays for the next writer
        entries = self.retry or self.reader.read(block=block)
        if not entries:
            return 0
        self.retry = entries
        self._applied_at = time.monotonic()
        self.apply(entries)  # raises when Neo4j is down: kept for the next step
        self.reader.ack(entries)
        self.retry = []
        self.applied += len(entries)
        self.spine.r.hset(self.spine.keys.progress, f"{GROUP}:applied_at", int(time.time() * 1000))
        return len(entries)

    def drain(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Apply until nothing is pending or unread (tests, the CLI); the final status."""
        deadline = time.monotonic() + timeout_s
        while True:
            st = group_status(self.spine, GROUP)
            if st["pending"] == 0 and st["lag"] == 0 and not self.retry:
                return st
            if time.monotonic() > deadline:
                raise GraphrecError(f"the graph writer did not catch up in {timeout_s:.0f}s: {st}")
            running = self._thread is not None and self._thread.is_alive()
            if running or self.step(block=False) == 0:  # the thread applies: wait for it
                time.sleep(0.02)

    # --- housekeeping ----------------------------------------------------------------------
    def housekeeping(self) -> None:
        """Refresh shared lists when due, nearline lists of moved users, trim the stream."""
        from graphrec.spine.state import sync_budgets, sync_lists, sync_nearline

        s, r, k = self.spine.settings, self.spine.r, self.spine.keys
        now = time.time()
        lists_at = r.hget(k.meta, "lists_at")
        if lists_at is None or now * 1000 - int(lists_at) > s.state_refresh_s * 1000:
            sync_budgets(self.graph, self.spine)  # outdates feed queues if an entry moved
            sync_lists(self.graph, self.spine, queues=False)  # queues follow within their TTL
        moved: list[str] = []
        for p in range(k.partitions):
            moved += [x.decode() for x in r.spop(k.moved(p), 100) or []]
        if moved:
            sync_nearline(self.graph, self.spine, sorted(moved))
        if now - self._last_trim > 60:
            trim_acked(self.spine)
            self._last_trim = now

    def tick(self) -> None:
        """Apply what the stream holds, then housekeep while holding the lease."""
        self.step(block=True)
        if self._held:
            self.housekeeping()

    def on_stop(self) -> None:
        """Give the lease back (if held) so another writer takes over at once."""
        if self._held:
            r = self.spine.r
            with contextlib.suppress(redis.RedisError):  # Redis gone: the lease expires
                holder = r.get(self.spine.keys.lease)
                if holder is not None and holder.decode() == self.reader.consumer:
                    r.delete(self.spine.keys.lease)


__all__ = [
    "GROUP",
    "TX_EVENTS",
    "GraphWriter",
    "apply_events",
    "apply_served",
    "served_rows",
    "user_chunks",
]
