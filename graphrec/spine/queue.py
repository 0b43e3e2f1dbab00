"""The per-user feed queue: ranked nearline, popped per request.

A feed ranked the normal way (:class:`~graphrec.spine.feed.StreamRecommender`: the user's
state, every source, the ranker, the diversity re-rank) also ranks the pages that would
follow it (:func:`graphrec.feed.rank.pages`: the re-rank again without what earlier pages
took) and keeps them in Redis as the user's queue (``gr:{pN}:u:<id>:q``, one entry per video:
its id, its seen-filter bits and its item as the feed answers it, JSON), stamped
(``...:qs``) with the user's queue generation, the queue epoch, the scenario and the page size,
for ``feed_queue_ttl_s``. The next feed is one script (``lua/queue_pop``): while the stamp
holds it takes the next entries the seen filter and the pool budgets let through (a seen or
refused entry is passed over), grants them, marks them seen and appends the ``served`` entry,
exactly as a ranked feed is recorded; ``record=false`` writes nothing. Fewer than n left, or
an outdated stamp: a miss, ranked the normal way, which stores a new queue.

What outdates a queue:

- an event of the user (``append_events.lua`` sets ``qg`` in ``u:<id>:meta`` to the user's
  last stream entry id): the next feed reflects it at once, as without a queue; a new nearline neighbour list of the user
  (:func:`graphrec.spine.state.sync_nearline`) likewise;
- the queue epoch (``queue_epoch`` in ``gr:{c}:meta``): every ``state sync`` (API start,
  after a load, after training, after a pool cycle) and every budgets refresh that moved or
  removed a pool entry bumps it;
- the TTL: the periodic refresh of the shared lists (every ``state_refresh_s``: new
  uploads in the cold-start list, engagement counts) reaches queued feeds within
  ``feed_queue_ttl_s``.

Storing checks the generation and epoch the feed read before ranking (``lua/queue_store``), so
an event that arrives while a feed ranks is never hidden behind a queue ranked without it.
Budgets and the seen filter are checked when an entry is popped, never trusted from the fill.

The :class:`QueueFiller` recomputes, in the background, the queues of users in the
partitions' ``qdue`` sorted sets, each user scored with the time its refill is due: an event
of a user holding a queue makes the user due ``queue_fill_delay_ms`` later (``ZADD NX``: the
first event of a burst sets the time, so a burst costs one ranking, not one per event; the
next feed meanwhile ranks, as the event outdated the queue); an epoch bump or a pop that left
the queue running low (fewer usable entries left than ``feed_queue_low``, counted at the
share of the pop's walk that was usable; the pop marks the stamp ``lo``, which the filler's
validity check reads) makes users due at once, scored with the usable entries left (0 for
an epoch bump: nothing of the queue is usable), so a filler that is behind takes the users
nearest to a miss first; an epoch bump hands over the users holding a queue (the ``qheld``
sorted sets, kept by the store script), not every known user. A user with no queue (no feed
read within the queue's TTL) is not handed over by an event: the next feed ranks and stores
one. At most ``queue_fill_per_s`` users are ranked a second: ``graphrec stream filler``, or a
thread per API worker with ``queue_filler``. A Redis Cluster keeps budgets and users on
different slots: there a pop is three calls (:meth:`FeedQueue._pop_cluster`), and the epoch
the queue scripts read is each partition's copy.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import orjson

from graphrec.errors import NotFound
from graphrec.feed.recommender import FeedItem
from graphrec.spine.store import Spine, _lua, seen_bits
from graphrec.spine.stream import ConsumerLoop, consumer_name

if TYPE_CHECKING:
    from graphrec.spine.feed import StreamRecommender

log = logging.getLogger(__name__)


# Why a pop missed (the script's answer; the feed route's ``X-Feed-Queue`` header): no queue
# or expired, the user's generation moved (an event, new nearline neighbours), every queue
# outdated (the epoch), filled for another n or scenario, fewer than n entries left usable.
MISSES = ("none", "user", "epoch", "shape", "short")

# The pop script's keys: the queue, its stamp, the user's meta, the shared meta, the budgets,
# the partition's stream, the user's seen filter, the partition's due set.
POP_KEYS = 8


@dataclass
class Popped:
    """A feed served from the queue: the candidates count of its fill, each item's JSON."""

    candidates: bytes
    items: list[bytes]


def _version(x: bytes | str | None) -> str:
    if x is None:
        return "0"
    return x.decode() if isinstance(x, bytes) else x


class AsyncScript:
    """A Lua script run with ``EVALSHA`` on a connection of an asyncio pool, lean.

    The feed queue's pop is the whole of a hit's Redis work, and redis-py's generic path
    (``Redis.execute_command`` behind ``register_script``: per-command observability hooks,
    option handling, response callbacks, the script's NOSCRIPT wrapper) cost the API more CPU
    than the rest of a hit. This sends the same ``EVALSHA`` over redis-py's own connection API
    (``pool.get_connection``, ``conn.pack_command``, ``send_packed_command``,
    ``read_response``, the connection's ``retry``): the same pool, timeouts, reconnects and
    error types (``redis.ConnectionError``, ``redis.TimeoutError``, ``ResponseError``) as the
    client, so Redis down is still the 503 it was. The command name, the SHA and the key
    count are encoded once. A server that lost its scripts (a restart, ``SCRIPT FLUSH``)
    answers NOSCRIPT, which cannot have run anything: the script is loaded (``SCRIPT LOAD``)
    and sent again on the same connection.
    """

    def __init__(self, pool: Any, script: str, *, numkeys: int) -> None:
        self.pool = pool
        self.script = script.encode()
        self.sha = hashlib.sha1(self.script).hexdigest().encode()
        self.numkeys = numkeys
        self._head = (b"EVALSHA", self.sha, str(numkeys).encode())

    async def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        if len(keys) != self.numkeys:
            raise ValueError(f"{len(keys)} keys for a script of {self.numkeys}")
        conn = await self.pool.get_connection()
        try:
            command = conn.pack_command(*self._head, *keys, *args)
            return await conn.retry.call_with_retry(
                lambda: self._send(conn, command), lambda _: conn.disconnect()
            )
        finally:
            await self.pool.release(conn)

    async def _send(self, conn: Any, command: list[bytes]) -> Any:
        import redis

        await conn.send_packed_command(command, check_health=False)
        try:
            return await conn.read_response()
        except redis.exceptions.NoScriptError:
            await conn.send_packed_command(conn.pack_command(b"SCRIPT", b"LOAD", self.script))
            await conn.read_response()
            await conn.send_packed_command(command, check_health=False)
            return await conn.read_response()


@functools.lru_cache(maxsize=65_536)
def entry_bits(video_id: str, m: int) -> str:
    """A queue entry's bits field: the video's seen-filter bits joined by "," (kept per video:
    a fill writes 120 entries, mostly of videos it wrote before)."""
    return ",".join(map(str, seen_bits(video_id, m)))


class FeedQueue:
    """Pops from and stores users' feed queues (keys and scripts in :class:`Spine`)."""

    def __init__(self, spine: Spine) -> None:
        self.spine = spine
        s = spine.settings
        self.enabled = s.feed_queue and s.feed_queue_depth > 0
        self.cluster = s.redis_cluster
        self.depth = s.feed_queue_depth
        self._loop: asyncio.AbstractEventLoop | None = None
        self._apool: Any = None
        self._ascript: AsyncScript | None = None

    def _keys(self, user_id: str) -> list[str]:
        k = self.spine.keys
        prefix = f"{k.prefix(k.part(user_id))}u:{user_id}:"
        return [prefix + "q", prefix + "qs", prefix + "meta", self.spine.epoch_key(user_id)]

    def entry(self, item: FeedItem, x: str = "") -> bytes:
        """One queue entry: ``video\tbits\tlogged features\titem JSON`` (the features, a
        compact string, go to the "served" entry, never to the client)."""
        bits = entry_bits(item.video_id, self.spine.settings.seen_bloom_bits)
        return f"{item.video_id}\t{bits}\t{x}\t".encode() + orjson.dumps(item.as_dict())

    def _pop_call(
        self, user_id: str, n: int, scenario: str, *, record: bool, at: int, feed_id: str
    ) -> tuple[list[str], list[Any]]:
        k, s = self.spine.keys, self.spine.settings
        p = k.part(user_id)
        keys = self._keys(user_id)
        keys += [k.budget, k.stream(p), k.user(user_id, "seen"), k.dirty(p)]
        args = [n, 1 if record else 0, scenario, s.stream_maxlen, user_id, at, feed_id,
                s.feed_queue_low]  # fmt: skip
        return keys, args

    @staticmethod
    def _popped(got: Any) -> Popped | str:
        if not got or int(got[0]) != 1:
            why = got[1] if got and len(got) > 1 else b"none"
            return why.decode() if isinstance(why, bytes) else str(why)
        return Popped(candidates=got[1], items=list(got[2:]))

    def pop(
        self, user_id: str, n: int, scenario: str, *, record: bool, at: int, feed_id: str
    ) -> Popped | str:
        """The next ``n`` items of a valid queue (granted and recorded when ``record``), or
        why it missed (:data:`MISSES`; nothing written)."""
        if self.cluster:
            return self._pop_cluster(user_id, n, scenario, record=record, at=at, feed_id=feed_id)
        keys, args = self._pop_call(user_id, n, scenario, record=record, at=at, feed_id=feed_id)
        return self._popped(self.spine.queue_pop_script(keys=keys, args=args))

    def _pop_cluster(
        self, user_id: str, n: int, scenario: str, *, record: bool, at: int, feed_id: str
    ) -> Popped | str:
        """:meth:`pop` on a Redis Cluster, where the budgets are on another slot than the
        user's queue: the next unseen entries with as many spares (``queue_reserve``), n of
        them granted in order or none (``grant_upto``), then the seen bits and the "served"
        entry (``serve``): three calls where one node takes one, the same answer but for
        spent budgets found after the walk rather than during it. A feed that cannot grant n
        misses as ``short`` and ranks."""
        sp, k, s = self.spine, self.spine.keys, self.spine.settings
        p = k.part(user_id)
        got = sp.queue_reserve_script(
            keys=[*self._keys(user_id), k.user(user_id, "seen"), k.dirty(p)],
            args=[n, 1 if record else 0, scenario, user_id, s.feed_queue_low, n],
        )
        if not got or int(got[0]) != 1:
            return self._popped(got)
        rows = got[3:]
        taken = [rows[i : i + 4] for i in range(0, 4 * int(got[2]), 4)]
        flags = sp.grant_upto_script(
            keys=[k.budget], args=[n, 1 if record else 0, *(e[0] for e in taken)]
        )
        chosen = [e for e, ok in zip(taken, flags, strict=True) if int(ok)]
        if len(chosen) < n:
            return "short"
        if record:
            bits = [b for e in chosen for b in e[1].split(b",") if b]
            sp.serve_script(
                keys=[k.stream(p), k.user(user_id, "seen")],
                args=[s.stream_maxlen, user_id, at, feed_id, b",".join(e[0] for e in chosen),
                      b";".join(e[2] for e in chosen), *bits],
            )  # fmt: skip
        return Popped(candidates=got[1], items=[e[3] for e in chosen])

    async def pop_async(
        self, user_id: str, n: int, scenario: str, *, record: bool, at: int, feed_id: str
    ) -> Popped | str:
        """:meth:`pop` on an asyncio client of this event loop (an async route awaits it
        instead of hopping to a thread); the same script, the same timeouts."""
        if self.spine.url is None or self.cluster:  # no URL to connect with; three calls
            return await anyio.to_thread.run_sync(
                functools.partial(
                    self.pop, user_id, n, scenario, record=record, at=at, feed_id=feed_id
                )
            )
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            import redis.asyncio as aredis

            s = self.spine.settings
            pool = aredis.BlockingConnectionPool.from_url(
                self.spine.url,
                max_connections=s.redis_max_connections,
                timeout=s.redis_timeout_s,
                socket_timeout=s.redis_timeout_s,
                socket_connect_timeout=s.redis_timeout_s,
            )
            self._apool = pool
            self._ascript = AsyncScript(pool, _lua("queue_pop"), numkeys=POP_KEYS)
            self._loop = loop
        assert self._ascript is not None
        keys, args = self._pop_call(user_id, n, scenario, record=record, at=at, feed_id=feed_id)
        return self._popped(await self._ascript(keys, args))

    async def aclose(self) -> None:
        """Close the asyncio pool (the app's shutdown)."""
        if self._apool is not None and self._loop is asyncio.get_running_loop():
            await self._apool.disconnect()
        self._apool = self._ascript = self._loop = None

    def store(
        self,
        user_id: str,
        items: Sequence[FeedItem],
        *,
        n: int,
        scenario: str,
        candidates: dict[str, int],
        versions: tuple[Any, Any],
        at: int,
        logs: Sequence[str] = (),
    ) -> bool:
        """Keep ``items`` as the user's queue unless an event or epoch bump came after
        ``versions`` (the queue generation and epoch read before ranking)."""
        s = self.spine.settings
        args: list[Any] = [
            _version(versions[0]), _version(versions[1]), s.feed_queue_ttl_s, scenario, n,
            orjson.dumps(candidates), at, user_id,
        ]  # fmt: skip
        xs = list(logs) or [""] * len(items)
        args += [self.entry(it, x) for it, x in zip(items, xs, strict=True)]
        k = self.spine.keys
        keys = [*self._keys(user_id), k.held(k.part(user_id))]
        return bool(self.spine.queue_store_script(keys=keys, args=args))

    def valid(self, user_ids: Sequence[str], *, n: int, scenario: str) -> list[bool]:
        """Whether each user's queue holds a valid stamp for (n, scenario), at least
        ``feed_queue_low`` entries and no mark of running low (a pop that found fewer usable
        entries left than that: budgets spent, seen elsewhere); the filler leaves those alone."""
        if not user_ids:
            return []
        k, low = self.spine.keys, self.spine.settings.feed_queue_low
        pipe = self.spine.r.pipeline(transaction=False)
        pipe.hget(k.meta, "queue_epoch")
        for uid in user_ids:
            q, qs, meta, _ = self._keys(uid)
            pipe.hmget(qs, ["g", "e", "sc", "n", "lo"])
            pipe.hget(meta, "qg")
            pipe.llen(q)
        got = pipe.execute()
        epoch = _version(got[0])
        out = []
        for i in range(len(user_ids)):
            (g, e, sc, qn, lo), qg, length = got[1 + 3 * i : 4 + 3 * i]
            out.append(
                g is not None
                and _version(g) == _version(qg)
                and _version(e) == epoch
                and _version(sc) == scenario
                and _version(qn) == str(n)
                and int(length) >= max(low, n)
                and lo is None
            )
        return out


def fill(
    recommender: StreamRecommender,
    user_ids: Iterable[str],
    *,
    skip_valid: bool = True,
    chunk: int = 50,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Compute and store the queues of ``user_ids`` (the default page size and scenario);
    with ``skip_valid``, users whose queue is valid and long enough are left alone."""
    from graphrec.feed.policy import scenario as find_scenario

    n = recommender.settings.feed_default_n
    sc = find_scenario(None).name
    done = skipped = unknown = 0
    ids = list(user_ids)
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        ok = recommender.queue.valid(part, n=n, scenario=sc) if skip_valid else [False] * len(part)
        for uid, good in zip(part, ok, strict=True):
            if good:
                skipped += 1
                continue
            try:
                recommender.refill(uid)
                done += 1
            except NotFound:
                unknown += 1
        if progress is not None:
            progress(len(part))
    return {"filled": done, "valid": skipped, "unknown": unknown}


def lower_priority(increment: int) -> int | None:
    """Raise the calling thread's nice value by ``increment`` (Linux: a thread's own
    priority; at most 19); its new nice value, or None where that is not possible."""
    if increment <= 0 or not hasattr(os, "setpriority"):
        return None
    tid = threading.get_native_id()
    try:
        nice = min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment)
        os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError as e:
        log.info("queue filler: nice not changed (%s)", e)
        return None
    return nice


class QueueFiller(ConsumerLoop):
    """Recomputes the queues of users due in the ``qdue`` sets, ``per_s`` users a second at
    most (the bound on the CPU it takes), in a thread or standalone (:meth:`run`)."""

    label = "queue filler"

    def __init__(
        self, recommender: StreamRecommender, *, per_s: float | None = None, batch: int = 20
    ) -> None:
        super().__init__()
        self.recommender = recommender
        self.spine = recommender.spine
        s = self.spine.settings
        self.per_s = s.queue_fill_per_s if per_s is None else per_s
        self.batch = batch
        self.name = consumer_name("queue-filler")
        self.filled = 0
        self._next_part = 0

    @property
    def thread_name(self) -> str:
        return self.name

    def run(self) -> None:
        """:meth:`ConsumerLoop.run` at a lower CPU priority (``queue_filler_nice``, this
        thread only): feeds and events win the CPU when they want it at the same time."""
        lower_priority(self.spine.settings.queue_filler_nice)
        super().run()

    def take(self, count: int) -> list[str]:
        """Up to ``count`` users whose refill is due, from the partitions' sets, round robin
        (a user made due by an event waits out ``queue_fill_delay_ms`` there first)."""
        k = self.spine.keys
        out: list[str] = []
        for _ in range(k.partitions):
            if len(out) >= count:
                break
            p = self._next_part
            self._next_part = (p + 1) % k.partitions
            out += self.spine.take_due(p, count - len(out))
        return out

    def step(self) -> int:
        """Fill one batch; returns how many users were taken."""
        return self._step()[0]

    def _step(self) -> tuple[int, int]:
        """Fill one batch: (users taken, users whose queue was ranked again)."""
        users = self.take(self.batch)
        if not users:
            return 0, 0
        got = fill(self.recommender, users)
        self.filled += got["filled"]
        return len(users), got["filled"]

    def tick(self) -> None:
        if self.per_s <= 0:
            self._stop.wait(1.0)
            return
        t = time.monotonic()
        taken, ranked = self._step()
        if taken == 0:
            self._stop.wait(0.2)
            return
        # At most per_s queues ranked a second: wait out what this batch is owed. Users
        # whose queue is still valid (an epoch bump hands every user over, a fill may have
        # come first) cost one pipelined check, not a ranking: they are not paced, so a
        # user running low never waits behind thousands of them.
        self._stop.wait(max(0.0, ranked / self.per_s - (time.monotonic() - t)))


__all__ = ["MISSES", "AsyncScript", "FeedQueue", "Popped", "QueueFiller", "fill"]
