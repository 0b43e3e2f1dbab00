"""The serving spine's Redis side: key layout, atomic scripts, the seen filter.

Key layout (every key starts ``gr:``; the part in braces is the Redis Cluster hash tag):

- ``gr:{pN}:...`` one of ``stream_partitions`` partitions, chosen by the user id (CRC32):
  the partition's event stream ``events``, its known users ``users``, dedup keys
  ``ev:<event_id>`` and each user's online state ``u:<user>:tags|liked|declared|skips|
  follows|emb|seen|meta|comm|near``, the user's feed queue ``u:<user>:q`` and its stamp
  ``u:<user>:qs`` (:mod:`graphrec.spine.queue`), and ``qdue`` (users the queue filler
  recomputes, scored by when each is due). An event batch's per-partition script touches only its partition's slot, so
  the dedup key, the stream entry and the state move together.
- ``gr:{c}:...`` the catalogue: ``videos`` (id -> JSON facts), ``vemb`` (id -> float32),
  ``creators`` (set), ``list:<name>`` shared candidate lists (JSON), ``cv:<creator>`` each
  creator's newest videos, ``meta``.
- ``gr:{b}:budget`` pool budgets (video -> remaining), ``gr:{b}:entry`` (video -> the pool
  entry that budget belongs to).
- ``gr:{w}:...`` the graph writer's lease and progress.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import redis

from graphrec.config import Settings, get_settings
from graphrec.errors import GraphrecError

BLOOM_K = 4
log = logging.getLogger(__name__)


class StoreUnavailable(GraphrecError):
    """Redis cannot be reached or did not answer in time."""

    http_status = 503
    public = "Redis is unavailable; retry shortly"


class StoreFault(GraphrecError):
    """Redis refused a command for a reason a retry does not cure (a script that failed, a
    key of the wrong type): a fault to look into, not an outage. Redis's words go to the
    server log."""

    http_status = 500


# Refusals a server answers while it cannot take the command yet will (a replica, loading
# its data, out of memory, a script running long, an AOF it cannot write, a Cluster moving
# slots): the caller should retry, as when Redis is down. redis-py raises some as classes of
# their own, the rest as a ResponseError starting with the code.
_TRANSIENT_CODES = ("BUSY", "CLUSTERDOWN", "LOADING", "MASTERDOWN", "MISCONF", "NOREPLICAS",
                    "OOM", "READONLY", "TRYAGAIN")  # fmt: skip
_TRANSIENT = (redis.exceptions.ReadOnlyError, redis.exceptions.OutOfMemoryError,
              redis.exceptions.NoScriptError, redis.exceptions.ClusterError,
              redis.exceptions.TryAgainError, redis.exceptions.AskError)  # fmt: skip


def store_error(e: redis.RedisError) -> GraphrecError:
    """What a Redis error means to a caller: :class:`StoreUnavailable` (503, retry) when
    Redis is down, slow or not taking commands for now; :class:`StoreFault` (500) when it
    refused one for good."""
    if isinstance(e, redis.ResponseError) and not isinstance(e, _TRANSIENT):
        text = str(e)
        if text.split(" ", 1)[0] not in _TRANSIENT_CODES:  # the code: BUSY, not BUSYKEY
            return StoreFault(f"Redis refused a command: {text[:300]}")
    return StoreUnavailable(f"Redis is unavailable: {type(e).__name__}")


# How many videos a user engaged with last are kept (the item-to-item source walks from them).
RECENT = 200


def _lua(name: str) -> str:
    return lua_text(resources.files("graphrec.spine").joinpath("lua", f"{name}.lua").read_text())


_INCLUDE = re.compile(r"^-- include: (\w+)$", re.MULTILINE)


def lua_text(text: str) -> str:
    """A script's text with each ``-- include: name`` line replaced by ``lua/name.lua`` (a
    fragment two scripts share: Redis runs each script alone)."""
    return _INCLUDE.sub(lambda m: _lua(m.group(1)).rstrip("\n"), text)


@dataclass(frozen=True)
class Keys:
    """Every key name the spine uses, in one place."""

    partitions: int

    def part(self, user_id: str) -> int:
        return zlib.crc32(user_id.encode()) % self.partitions

    def prefix(self, p: int) -> str:
        return f"gr:{{p{p}}}:"

    def stream(self, p: int) -> str:
        return self.prefix(p) + "events"

    def streams(self) -> list[str]:
        return [self.stream(p) for p in range(self.partitions)]

    def users(self, p: int) -> str:
        return self.prefix(p) + "users"

    def moved(self, p: int) -> str:
        """Users whose online embedding moved since their nearline list was refreshed."""
        return self.prefix(p) + "moved"

    def held(self, p: int) -> str:
        """Users who hold a feed queue: a sorted set, each user scored with the time (epoch
        ms) the queue was stored; entries older than the queue's TTL are trimmed as queues are
        stored. An epoch bump hands these users to the filler, not every known user."""
        return self.prefix(p) + "qheld"

    def dirty(self, p: int) -> str:
        """Users whose feed queue the filler should recompute (invalidated or running low): a
        sorted set, each user scored with the time (epoch ms) it is due."""
        return self.prefix(p) + "qdue"

    def user(self, user_id: str, what: str) -> str:
        return f"{self.prefix(self.part(user_id))}u:{user_id}:{what}"

    def epoch(self, p: int) -> str:
        """A Redis Cluster's copy of the queue epoch in partition ``p`` (a hash, field
        ``queue_epoch``, as in :attr:`meta`): a queue's scripts stay on the user's slot."""
        return self.prefix(p) + "epoch"

    videos = "gr:{c}:videos"
    vemb = "gr:{c}:vemb"
    vspec = "gr:{c}:vspec"  # id -> float32 query vector then key vector (spectral source)
    creators = "gr:{c}:creators"
    meta = "gr:{c}:meta"
    budget = "gr:{b}:budget"
    entry = "gr:{b}:entry"
    lease = "gr:{w}:lease"
    progress = "gr:{w}:progress"

    @staticmethod
    def list(name: str) -> str:
        return f"gr:{{c}}:list:{name}"

    @staticmethod
    def creator_videos(creator_id: str) -> str:
        return f"gr:{{c}}:cv:{creator_id}"


@functools.lru_cache(maxsize=262_144)
def seen_bits(video_id: str, m: int, k: int = BLOOM_K) -> tuple[int, ...]:
    """The Bloom filter's k bit offsets of a video (double hashing over one BLAKE2b digest)."""
    d = hashlib.blake2b(video_id.encode(), digest_size=8).digest()
    h1 = int.from_bytes(d[:4], "little")
    h2 = int.from_bytes(d[4:], "little") | 1
    return tuple((h1 + i * h2) % m for i in range(k))


@functools.lru_cache(maxsize=262_144)
def _probes(video_id: str, m: int) -> tuple[tuple[int, int], ...]:
    """(byte, mask) of each of the video's bits in Redis's bit order (MSB first)."""
    return tuple((pos >> 3, 0x80 >> (pos & 7)) for pos in seen_bits(video_id, m))


class SeenFilter:
    """A user's seen filter read from Redis: ``video_id in seen`` (no false negatives)."""

    def __init__(self, bitmap: bytes | None, m: int) -> None:
        self.bits = bitmap or b""
        self.m = m

    def __contains__(self, video_id: object) -> bool:
        b = self.bits
        if not b or not isinstance(video_id, str):
            return False
        n = len(b)
        for i, mask in _probes(video_id, self.m):  # noqa: SIM110 (a loop: faster than all())
            if i >= n or not b[i] & mask:
                return False
        return True

    def seen_mask(self, index: Any) -> np.ndarray:
        """``[v in self for v in index.ids]`` as booleans, in a few array operations
        (``index``: a :class:`graphrec.feed.sources.ListIndex`, which keeps its ids' probes
        for this filter size)."""
        ids = index.ids
        if not self.bits or not ids:
            return np.zeros(len(ids), dtype=bool)
        got = index.probes.get(self.m)
        if got is None:
            pos = np.array([seen_bits(v, self.m) for v in ids], dtype=np.int32)
            got = index.probes[self.m] = (pos >> 3, (0x80 >> (pos & 7)).astype(np.uint8))
        at, masks = got
        b = np.frombuffer(self.bits, dtype=np.uint8)
        inside = at < len(b)
        hit = (b[np.minimum(at, len(b) - 1)] & masks) != 0
        return np.all(inside & hit, axis=1)


def bloom_bytes(video_ids: Iterable[str], m: int) -> bytes:
    """A whole seen filter built here (state sync): Redis's bit order, MSB first."""
    bits = np.zeros(m, dtype=np.uint8)
    for v in video_ids:
        bits[list(seen_bits(v, m))] = 1
    return np.packbits(bits).tobytes()


def pack_vector(values: Sequence[float] | None, *, normalise: bool = False) -> bytes | None:
    if values is None or len(values) == 0:
        return None
    a = np.asarray(values, dtype=np.float32)
    if normalise:
        n = float(np.linalg.norm(a))
        if n == 0:
            return None
        a = a / n
    return a.astype("<f4").tobytes()


def unpack_vector(data: bytes | None) -> list[float] | None:
    if not data:
        return None
    return np.frombuffer(data, dtype="<f4").astype(float).tolist()


class Spine:
    """The Redis client, key layout and scripts every spine module shares."""

    def __init__(self, client: redis.Redis, settings: Settings | None = None) -> None:
        # redis-py's annotations union every reply type (bytes | str | int | Awaitable ...);
        # replies here are bytes (no decode_responses), so the client is typed loosely.
        self.r: Any = client
        self.url: str | None = None  # set by connect (an asyncio client can then be made)
        self.settings = settings or get_settings()
        self.keys = Keys(self.settings.stream_partitions)
        self.append_script = client.register_script(_lua("append_events"))
        self.grant_script = client.register_script(_lua("grant"))
        self.serve_script = client.register_script(_lua("serve"))
        self.grant_serve_script = client.register_script(_lua("grant_serve"))
        self.queue_pop_script = client.register_script(_lua("queue_pop"))
        self.queue_store_script = client.register_script(_lua("queue_store"))
        self.queue_take_script = client.register_script(_lua("queue_take"))
        # A Redis Cluster's pop, in three slots: reserve (the user's), grant (the budgets'),
        # record (the user's): lua/queue_reserve, lua/grant_upto, lua/serve.
        self.queue_reserve_script = client.register_script(_lua("queue_reserve"))
        self.grant_upto_script = client.register_script(_lua("grant_upto"))
        if self.settings.redis_cluster:
            try:
                self.load_scripts()
            except redis.RedisError as e:  # a shard down: loaded when an append needs them
                log.warning("Redis Cluster: scripts not loaded on every node yet (%s)", e)

    def epoch_key(self, user_id: str) -> str:
        """Where the queue scripts read the epoch for ``user_id``: the catalogue's meta on
        one node, the partition's copy on a Redis Cluster."""
        if self.settings.redis_cluster:
            return self.keys.epoch(self.keys.part(user_id))
        return self.keys.meta

    def load_scripts(self) -> None:
        """Load every script on every primary (a Redis Cluster). A script called alone
        loads itself where it is missing; one queued in a Cluster pipeline cannot, so the
        scripts are loaded up front, and again after a node answered that it lost them (a
        restart, a failover: :func:`graphrec.spine.append.append_events` retries there)."""
        for script in (
            self.append_script, self.grant_script, self.serve_script, self.grant_serve_script,
            self.queue_pop_script, self.queue_store_script, self.queue_take_script,
            self.queue_reserve_script, self.grant_upto_script,
        ):  # fmt: skip
            script.sha = self.r.script_load(script.script)

    @classmethod
    def connect(cls, url: str, settings: Settings | None = None) -> Spine:
        from graphrec.services.redis import redis_client

        spine = cls(redis_client(url, settings), settings)
        spine.url = url
        return spine

    def close(self) -> None:
        self.r.close()

    def synced(self) -> bool:
        """True once a state sync has filled Redis from the graph."""
        return bool(self.r.hexists(self.keys.meta, "synced_at"))

    # --- what the API creates ---------------------------------------------------------------
    def add_user(self, user_id: str, interests: Sequence[str] = ()) -> None:
        """A signed-up user: known at once, declared interests weigh 1."""
        k = self.keys
        pipe = self.r.pipeline(transaction=False)
        pipe.sadd(k.users(k.part(user_id)), user_id)
        if interests:
            pipe.hset(k.user(user_id, "tags"), mapping=dict.fromkeys(interests, 1.0))
            pipe.sadd(k.user(user_id, "declared"), *interests)
        pipe.execute()

    def add_creator(self, creator_id: str) -> None:
        self.r.sadd(self.keys.creators, creator_id)

    def add_video(self, facts: dict[str, Any], *, budget: int | None, entry: str | None) -> None:
        """An uploaded video: facts for the event checks, its budget when it entered a pool."""
        import orjson

        k = self.keys
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(k.videos, facts["video_id"], orjson.dumps(facts))
        if budget is not None and entry is not None:
            pipe.hset(k.budget, facts["video_id"], budget)
            pipe.hset(k.entry, facts["video_id"], entry)
        pipe.execute()

    def invalidate_queues(self, user_ids: Iterable[str] | None = None) -> None:
        """Outdate feed queues: of ``user_ids`` (their queue generation moves on), else of
        everyone (the queue epoch moves on). Either way the users go to the filler's sets."""
        k = self.keys
        pipe = self.r.pipeline(transaction=False)
        if user_ids is None:
            if self.settings.redis_cluster:  # each partition's copy follows (one slot each)
                epoch = self.r.hincrby(k.meta, "queue_epoch", 1)
                for p in range(k.partitions):
                    pipe.hset(k.epoch(p), "queue_epoch", epoch)
            else:
                pipe.hincrby(k.meta, "queue_epoch", 1)
            stale = int(time.time() * 1000) - self.settings.feed_queue_ttl_s * 1000
            for p in range(k.partitions):  # one slot per partition: Cluster-safe
                # Every user holding a queue due now (score 0; one already due keeps the
                # earlier time). A user whose queue expired, or who never read a feed, has
                # nothing to refill: the next feed ranks (as for an event of such a user).
                pipe.zremrangebyscore(k.held(p), "-inf", f"({stale}")
                pipe.zunionstore(k.dirty(p), {k.dirty(p): 1, k.held(p): 0}, aggregate="MIN")
        else:
            token = f"s{secrets.token_hex(8)}"  # a new generation, never one seen before
            for uid in user_ids:
                pipe.hset(k.user(uid, "meta"), "qg", token)
                pipe.zadd(k.dirty(k.part(uid)), {uid: 0}, lt=True)  # due now
        pipe.execute()

    def queue_due(self, user_ids: Iterable[str], at_ms: int = 0) -> None:
        """Hand users to the queue filler, due at ``at_ms`` (epoch ms; 0: now); a user already
        due earlier keeps the earlier time."""
        k = self.keys
        pipe = self.r.pipeline(transaction=False)
        for uid in user_ids:
            pipe.zadd(k.dirty(k.part(uid)), {uid: at_ms}, lt=True)
        pipe.execute()

    def take_due(self, p: int, count: int) -> list[str]:
        """Up to ``count`` users of partition ``p`` whose refill is due (by Redis's clock),
        removed from the set at once (an event after this hands the user over again)."""
        got = self.queue_take_script(keys=[self.keys.dirty(p)], args=[count])
        return [x.decode() if isinstance(x, bytes) else x for x in got or []]

    def lists_stale(self) -> None:
        """Ask the graph writer to refresh budgets and shared lists on its next round."""
        self.r.hset(self.keys.meta, "lists_at", 0)

    # --- budgets and served feeds ---------------------------------------------------------
    def grant(self, video_ids: Sequence[str]) -> set[str]:
        """The videos granted an impression (budgets counted down atomically)."""
        if not video_ids:
            return set()
        got = self.grant_script(keys=[self.keys.budget], args=list(video_ids))
        return {v for v, ok in zip(video_ids, got, strict=True) if int(ok)}

    def grant_and_record(
        self,
        user_id: str,
        video_ids: Sequence[str],
        *,
        at: int,
        feed_id: str,
        logs: dict[str, str] | None = None,
    ) -> set[str]:
        """:meth:`grant` then :meth:`record_served` of the granted ones: one round trip where
        Redis is one node (``redis_cluster`` false), two on a Cluster (different slots).
        ``logs``: per video, what the ranker saw (a compact string, kept on its SAW)."""
        if not video_ids:
            return set()
        logs = logs or {}
        if self.settings.redis_cluster:
            got = self.grant(video_ids)
            self.record_served(user_id, [v for v in video_ids if v in got], at=at,
                               feed_id=feed_id, logs=logs)  # fmt: skip
            return got
        k, m = self.keys, self.settings.seen_bloom_bits
        args: list[Any] = [self.settings.stream_maxlen, user_id, at, feed_id, BLOOM_K]
        for v in video_ids:
            args += [v, logs.get(v, ""), *seen_bits(v, m)]
        flags = self.grant_serve_script(
            keys=[k.budget, k.stream(k.part(user_id)), k.user(user_id, "seen")], args=args
        )
        return {v for v, ok in zip(video_ids, flags, strict=True) if int(ok)}

    def record_served(
        self,
        user_id: str,
        video_ids: Sequence[str],
        *,
        at: int,
        feed_id: str,
        logs: dict[str, str] | None = None,
    ) -> None:
        """Mark the videos seen and append one "served" entry to the user's stream."""
        if not video_ids:
            return
        k, m = self.keys, self.settings.seen_bloom_bits
        bits = sorted({b for v in video_ids for b in seen_bits(v, m)})
        xs = ";".join((logs or {}).get(v, "") for v in video_ids)
        self.serve_script(
            keys=[k.stream(k.part(user_id)), k.user(user_id, "seen")],
            args=[self.settings.stream_maxlen, user_id, at, feed_id, ",".join(video_ids), xs,
                  *bits],
        )  # fmt: skip


__all__ = [
    "Keys",
    "SeenFilter",
    "Spine",
    "StoreFault",
    "StoreUnavailable",
    "bloom_bytes",
    "seen_bits",
    "store_error",
]
