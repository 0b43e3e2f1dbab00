"""Reading the event stream as a consumer group: any consumer of the spine uses this.

The stream is ``stream_partitions`` Redis streams (``gr:{pN}:events``). A
:class:`StreamReader` is one consumer of one group: ``read`` first claims entries another
consumer of the group left pending longer than ``claim_idle_ms`` (``XAUTOCLAIM``: a consumer
that died mid-batch loses nothing), then reads new ones (``XREADGROUP`` over every partition,
``COUNT`` each, blocking ``block_ms``); ``ack`` acknowledges them after they were applied.
Delivery is at least once: consumers must be idempotent (the graph writer is, by event id).

Each entry's fields: ``k`` (event kind, or ``served`` for a feed's impressions), ``u`` user,
``at`` (epoch ms), and ``id``/``v``/``c``/``wm`` for events, ``f``/``v`` (comma-joined) for
served feeds. Entry ids start with the append time in ms: lag is measured from them.

:meth:`StreamReader.read` hands out decoded :class:`Entry` objects; a consumer that reads
many entries a second (the online trainer) uses :meth:`StreamReader.read_raw` instead: the
same entries (claimed first, then new), as Redis sent them (bytes, no per-entry dict or
object: redis-py's reply parsing and the decode were a quarter of the trainer's CPU at
20,000 entries/s), acknowledged with :meth:`StreamReader.ack_raw`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from graphrec.spine.store import Spine

log = logging.getLogger(__name__)

# Every consumer loop started in this process (weakly held): what still runs can be listed.
_STARTED: weakref.WeakSet[ConsumerLoop] = weakref.WeakSet()


@dataclass
class Entry:
    stream: str
    id: str
    fields: dict[str, str]

    @property
    def appended_ms(self) -> int:
        return int(self.id.split("-", 1)[0])


def consumer_name(role: str) -> str:
    """A name unique to this process and thread (host, pid, random)."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _decode(fields: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in fields.items()}


def _as_str(x: bytes | str) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


# Ids per XACK: a read's acknowledgement goes as several commands in one write, so Redis can
# serve other clients between them (one XACK of 5,000 ids measured up to 17 ms in its slow log).
ACK_SLICE = 1_000

# One entry as Redis sends it: its id and its fields flat (``[k1, v1, k2, v2, ...]``).
RawEntry = tuple[bytes, list[bytes]]


@dataclass
class RawRead:
    """One read as Redis sent it: per partition, its entries (id, flat fields), in order."""

    parts: list[tuple[str, list[RawEntry]]]

    def __len__(self) -> int:
        return sum(len(es) for _, es in self.parts)

    def ids(self) -> dict[str, list[bytes]]:
        """Each partition's entry ids (what :meth:`StreamReader.ack_ids` takes)."""
        return {stream: [i for i, _ in es] for stream, es in self.parts}

    def entries(self) -> list[Entry]:
        """The same entries decoded, as :meth:`StreamReader.read` hands them out."""
        out: list[Entry] = []
        for stream, es in self.parts:
            for i, flat in es:
                it = iter(flat)
                out.append(Entry(stream, i.decode(), _decode(dict(zip(it, it, strict=True)))))
        return out


def _raw_entries(got: Any) -> list[RawEntry]:
    """Entries of a raw XREADGROUP/XAUTOCLAIM reply; deleted ones (no fields) left out."""
    return [
        (e[0], _flat(e[1]) if type(e[1]) is dict else e[1]) for e in got or [] if e[1] is not None
    ]


def _flat(fields: dict[bytes, bytes]) -> list[bytes]:
    """Fields a client parsed into a dict (a Redis Cluster node's client parses stream
    replies whatever the raw client asked) as the flat list Redis sent."""
    return [x for kv in fields.items() for x in kv]


def _bulk(a: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(a), a)


def pack_command(*head: bytes, args: Iterable[bytes] = ()) -> bytes:
    """One Redis command in the wire format (RESP): ``head`` then ``args``, all bytes. For
    commands with thousands of arguments (an ``XACK`` of a read, the trainer's vectors):
    redis-py's own packing checks and converts each argument in Python (~1 us each)."""
    body = [_bulk(h) for h in head]
    body.extend(map(_bulk, args))
    return b"*%d\r\n" % len(body) + b"".join(body)


def send_packed(r: redis.Redis, commands: Sequence[bytes]) -> list[Any]:
    """Commands made by :func:`pack_command` sent in one write on a connection of ``r``'s
    pool, their replies read in order (a pipeline without redis-py's packing). An error
    reply raises, and the connection, with replies left unread, is dropped."""
    if not commands:
        return []
    pool = r.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_packed_command([b"".join(commands)])
        return [conn.read_response() for _ in commands]
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def is_cluster(r: Any) -> bool:
    """True for a Redis Cluster client (keys on several nodes; no one connection pool)."""
    return not isinstance(r, redis.Redis)


def send_commands(r: Any, commands: Sequence[Sequence[bytes]]) -> list[Any]:
    """Commands (each its name and arguments, all bytes) in one round trip: packed here and
    sent in one write (:func:`send_packed`), or on a Redis Cluster, whose client has no one
    connection pool, as a pipeline that routes each to its key's node."""
    if not commands:
        return []
    if not is_cluster(r):
        return send_packed(r, [pack_command(*c) for c in commands])
    pipe = r.pipeline(transaction=False)
    for name, *args in commands:
        pipe.execute_command(name.decode(), *args)  # the Cluster client routes by a str name
    return list(pipe.execute())


class StreamReader:
    """One consumer of a consumer group over every partition of the stream."""

    def __init__(
        self,
        spine: Spine,
        group: str,
        consumer: str | None = None,
        *,
        count: int | None = None,
        block_ms: int | None = None,
        claim_idle_ms: int | None = None,
        slice_count: int | None = None,
    ) -> None:
        s = spine.settings
        self.spine = spine
        self.group = group
        self.consumer = consumer or consumer_name(group)
        self.count = count or s.stream_read_count
        self.slice = min(self.count, slice_count or s.stream_read_slice)
        self.block_ms = s.stream_block_ms if block_ms is None else block_ms
        self.claim_idle_ms = s.stream_claim_idle_ms if claim_idle_ms is None else claim_idle_ms
        self.streams = spine.keys.streams()
        self._claim_from = dict.fromkeys(self.streams, "0-0")
        self._raw: Any = None
        self.ensure_groups()

    @property
    def raw_client(self) -> Any:
        """A client on the spine's connection pool whose stream reads are not parsed (the
        replies stay as Redis sent them); made on first use."""
        if self._raw is None:
            r = self.spine.r
            if is_cluster(r):  # a second client on the same nodes
                from graphrec.services.redis import cluster_client

                node = r.get_default_node()
                url = self.spine.url or f"redis://{node.host}:{node.port}/0"
                raw = cluster_client(url, self.spine.settings)
            else:
                raw = redis.Redis(connection_pool=r.connection_pool)
            for cmd in ("XREADGROUP", "XAUTOCLAIM"):
                raw.set_response_callback(cmd, lambda reply, **_: reply)
            self._raw = raw
        return self._raw

    def ensure_groups(self) -> None:
        """Create the group on every partition (from the start of the stream) if missing."""
        for s in self.streams:
            with contextlib.suppress(redis.ResponseError):  # BUSYGROUP: it exists
                self.spine.r.xgroup_create(s, self.group, id="0", mkstream=True)

    def claim(self, min_idle_ms: int | None = None) -> list[Entry]:
        """Entries of this group pending on any consumer longer than ``min_idle_ms``."""
        idle = self.claim_idle_ms if min_idle_ms is None else min_idle_ms
        out: list[Entry] = []
        for s in self.streams:
            nxt, got, *_ = self.spine.r.xautoclaim(
                s, self.group, self.consumer, idle, start_id=self._claim_from[s], count=self.count
            )
            self._claim_from[s] = nxt.decode() if isinstance(nxt, bytes) else str(nxt)
            out += [Entry(s, i.decode(), _decode(f)) for i, f in got if f is not None]
        return out

    def claim_raw(self, min_idle_ms: int | None = None) -> RawRead:
        """:meth:`claim` without the decoding (one round trip for every partition)."""
        idle = self.claim_idle_ms if min_idle_ms is None else min_idle_ms
        pipe = self.raw_client.pipeline(transaction=False)
        for s in self.streams:
            pipe.xautoclaim(
                s, self.group, self.consumer, idle, start_id=self._claim_from[s], count=self.count
            )
        parts: list[tuple[str, list[RawEntry]]] = []
        for s, reply in zip(self.streams, pipe.execute(), strict=True):
            self._claim_from[s] = _as_str(reply[0])
            got = _raw_entries(reply[1])
            if got:
                parts.append((s, got))
        return RawRead(parts)

    def read_raw(self, *, block: bool = True) -> RawRead:
        """:meth:`read` without the decoding: claimed entries of dead consumers first, else
        new entries of every partition, as Redis sent them."""
        claimed = self.claim_raw()
        if claimed.parts:
            return claimed
        parts = [(s, _raw_entries(es)) for s, es in self._read_new(self.raw_client, block)]
        return RawRead([(s, es) for s, es in parts if es])

    def _read_new(self, client: redis.Redis, block: bool) -> list[tuple[str, list[Any]]]:
        """New entries of every partition, up to ``count`` each, read ``slice`` a partition
        at a time (``XREADGROUP``; only the first read blocks): each partition's entries in
        order, the partitions in the order they first answered.

        One ``XREADGROUP`` of 5,000 entries a partition held Redis for up to 395 ms when the
        graph lagged (its slow log during ``bench events`` and ``bench serve``: a served
        entry carries ten videos' logged features, so such a reply ran to tens of MB), and
        every feed and event behind it waited. In slices, Redis serves the other clients
        between them; the consumer still gets the same batch."""
        left = dict.fromkeys(self.streams, self.count)
        got_by: dict[str, list[Any]] = {}
        todo = list(self.streams)
        first = True
        while todo:
            n = min(self.slice, *(left[s] for s in todo))
            pairs: Any
            if is_cluster(client):
                pairs = self._read_each(client, todo, n, block and first)
            else:
                got = client.xreadgroup(
                    self.group,
                    self.consumer,
                    dict.fromkeys(todo, ">"),
                    count=n,
                    block=self.block_ms if block and first else None,
                )
                pairs = got.items() if isinstance(got, dict) else got or []  # RESP3: a map
            first = False
            todo = []
            for stream, es in pairs:
                s = _as_str(stream)
                got_by.setdefault(s, []).extend(es)
                left[s] -= len(es)
                if len(es) >= n and left[s] > 0:  # a full slice: there may be more
                    todo.append(s)
        return list(got_by.items())

    def _read_each(self, client: Any, streams: list[str], n: int, block: bool) -> list[Any]:
        """A Redis Cluster's read: one ``XREADGROUP`` a partition (each its own slot; one
        command may not span slots), in one pipeline. A blocking read would wait on one
        slot alone, so an empty read polls: it sleeps ``block_ms`` and reads once more."""
        for attempt in (0, 1):
            pipe = client.pipeline(transaction=False)
            for s in streams:
                pipe.xreadgroup(self.group, self.consumer, {s: ">"}, count=n)
            pairs: list[Any] = []
            for got in pipe.execute():
                pairs += got.items() if isinstance(got, dict) else got or []
            if pairs or not block or attempt:
                return pairs
            time.sleep(self.block_ms / 1000)
        return []

    def ack_raw(self, read: RawRead) -> int:
        """Acknowledge the entries of ``read`` (one round trip)."""
        return self.ack_ids(read.ids())

    def ack_ids(self, ids: dict[str, list[bytes]]) -> int:
        """Acknowledge entries by partition and id (one round trip)."""
        ids = {s: i for s, i in ids.items() if i}
        if not ids:
            return 0
        group = self.group.encode()
        return sum(
            int(x)
            for x in send_commands(
                self.spine.r,
                [
                    (b"XACK", s.encode(), group, *i[j : j + ACK_SLICE])
                    for s, i in ids.items()
                    for j in range(0, len(i), ACK_SLICE)
                ],
            )
        )

    def read(self, *, block: bool = True) -> list[Entry]:
        """Claimed entries of dead consumers first, else new entries of every partition."""
        claimed = self.claim()
        if claimed:
            return claimed
        out: list[Entry] = []
        for name, entries in self._read_new(self.spine.r, block):
            out += [Entry(name, i.decode(), _decode(f)) for i, f in entries]
        return out

    def ack(self, entries: list[Entry]) -> int:
        by_stream: dict[str, list[str]] = {}
        for e in entries:
            by_stream.setdefault(e.stream, []).append(e.id)
        pipe = self.spine.r.pipeline(transaction=False)
        for s, ids in by_stream.items():
            for j in range(0, len(ids), ACK_SLICE):
                pipe.xack(s, self.group, *ids[j : j + ACK_SLICE])
        return sum(int(x) for x in pipe.execute())

    def status(self) -> dict[str, Any]:
        """Pending, not yet delivered (lag) and the age of the oldest unapplied entry."""
        return group_status(self.spine, self.group)

    def trim(self) -> int:
        """Drop entries every group on a partition has acknowledged (XTRIM MINID)."""
        return trim_acked(self.spine)


class ConsumerLoop:
    """A stream consumer run in a daemon thread: :meth:`tick` until :meth:`stop`, backing off
    (0.5 s doubling to 5 s) while Neo4j or Redis is down; :meth:`on_stop` after the join."""

    label = "stream consumer"
    reader: StreamReader

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def on_stop(self) -> None:
        """What a consumer does once its thread has stopped (nothing by default)."""

    def run(self) -> None:
        """Loop until :meth:`stop`; a failing tick is logged and retried after a backoff."""
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self.tick()
                backoff = 0.5
            except Exception as e:  # Neo4j or Redis down: keep what is held, retry later
                log.warning("%s: %s; retrying in %.1fs", self.label, e, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    @property
    def thread_name(self) -> str:
        return self.reader.consumer

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()
        _STARTED.add(self)
        return self._thread

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """:meth:`stop` was called (the thread may still finish its last tick)."""
        return self._stop.is_set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the loop after its current tick; waits ``timeout_s`` for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("%s: still in its last tick after %.0fs", self.label, timeout_s)
        self.on_stop()


def running_loops() -> list[ConsumerLoop]:
    """The consumer loops of this process whose thread still runs."""
    return [loop for loop in list(_STARTED) if loop.alive]


def _oldest_unacked(r: Any, stream: str, group: dict[str, Any]) -> str | None:
    """The id of the oldest entry this group has not acknowledged, or None."""
    name = group["name"]
    if int(group.get("pending") or 0) > 0:
        summary = r.xpending(stream, name)
        low = summary.get("min")
        if low:
            return low.decode() if isinstance(low, bytes) else str(low)
    raw = group.get("last-delivered-id")
    last = raw.decode() if isinstance(raw, bytes) else str(raw)
    nxt = r.xrange(stream, min=f"({last}", count=1)
    return nxt[0][0].decode() if nxt else None


def group_status(spine: Spine, group: str) -> dict[str, Any]:
    r = spine.r
    now = int(time.time() * 1000)
    pending = lag = 0
    oldest: int | None = None
    length = 0
    for s in spine.keys.streams():
        length += int(r.xlen(s))
        try:
            groups = r.xinfo_groups(s)
        except redis.ResponseError:  # no stream yet
            continue
        for g in groups:
            gname = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
            if gname != group:
                continue
            g = {**g, "name": gname}
            pending += int(g.get("pending") or 0)
            # Redis 7.0's lag (entries added - entries read) drifts once entries were trimmed
            # (seen: 4,438 "behind" on an empty stream): none after the last delivered: 0.
            last = g.get("last-delivered-id")
            last = last.decode() if isinstance(last, bytes) else str(last)
            if r.xrange(s, min=f"({last}", count=1):
                lag += max(1, int(g.get("lag") or 0))
            first = _oldest_unacked(r, s, g)
            if first is not None:
                ms = int(first.split("-", 1)[0])
                oldest = ms if oldest is None else min(oldest, ms)
    applied = r.hget(spine.keys.progress, f"{group}:applied_at")
    return {
        "group": group,
        "entries": length,
        "pending": pending,
        "lag": lag,
        "oldest_unapplied_age_ms": (now - oldest) if oldest is not None else 0,
        "last_applied_age_ms": (now - int(applied)) if applied else None,
    }


def trim_acked(spine: Spine) -> int:
    """XTRIM MINID on each partition to the oldest entry some group still needs."""
    r = spine.r
    trimmed = 0
    for s in spine.keys.streams():
        try:
            groups = r.xinfo_groups(s)
        except redis.ResponseError:
            continue
        if not groups:
            continue
        need: list[str] = []
        for g in groups:
            g = {**g, "name": g["name"].decode() if isinstance(g["name"], bytes) else g["name"]}
            first = _oldest_unacked(r, s, g)
            if first is None:
                last = g.get("last-delivered-id")
                first = last.decode() if isinstance(last, bytes) else str(last)
                ms, seq = first.split("-")
                first = f"{ms}-{int(seq) + 1}"
            need.append(first)
        low = min(need, key=lambda x: tuple(int(p) for p in x.split("-")))
        trimmed += int(r.xtrim(s, minid=low, approximate=True))
    return trimmed


__all__ = [
    "ConsumerLoop",
    "Entry",
    "RawRead",
    "StreamReader",
    "consumer_name",
    "group_status",
    "trim_acked",
]
