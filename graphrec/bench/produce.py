"""An event producer for the online benchmark: stream entries appended at a set rate.

Run in its own process (no torch here), so the trainer it feeds keeps its own CPU. Entries
have the fields the append script writes (``k``, ``u``, ``v``, ``id``, ``at``; see
:mod:`graphrec.spine.stream`) and go to the user's partition with ``XADD``, pipelined every
few milliseconds so that ``rate`` entries per second arrive (the API's validation and online
state are ``graphrec bench ingest``'s subject, not this one's).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import redis

from graphrec.spine.store import Keys

KIND = "like"
MAX_PIPELINE = 2_000


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


def produce(
    url: str,
    *,
    partitions: int,
    users: Sequence[str],
    items: Sequence[str],
    rate: float,
    seconds: float,
    maxlen: int,
) -> dict[str, Any]:
    """Append ``(users[j], items[j])`` likes (cycled) at ``rate`` per second for ``seconds``;
    returns the entries appended, the seconds taken, the most an entry ran late and when
    the last was appended (epoch seconds).

    Each ``XADD`` (``MAXLEN ~ maxlen``, fields ``k u v id at``: what ``pipeline.xadd`` sends)
    is written in the wire format here, its fixed part made once per distinct pair, and a
    few milliseconds' worth go out in one write, their replies read after: redis-py's
    pipeline spent ~25 us of Python per entry, a core's half at 20,000/s on the 2-core
    machine whose other core the trainer under test needs."""
    r = redis.Redis.from_url(url)
    keys = Keys(partitions)
    head = b"*16\r\n" + _bulk(b"XADD")
    cap = _bulk(b"MAXLEN") + _bulk(b"~") + _bulk(str(maxlen).encode()) + _bulk(b"*")
    fixed = [
        head + _bulk(keys.stream(keys.part(u)).encode()) + cap + _bulk(b"k") + _bulk(KIND.encode())
        + _bulk(b"u") + _bulk(u.encode()) + _bulk(b"v") + _bulk(v.encode()) + _bulk(b"id")
        for u, v in zip(users, items, strict=True)
    ]  # fmt: skip
    at_field = _bulk(b"at")
    n = len(users)
    total = int(rate * seconds)
    sent = 0
    late = 0.0
    conn = r.connection_pool.get_connection()
    try:
        t0 = time.perf_counter()
        while sent < total:
            elapsed = time.perf_counter() - t0
            due = min(total, int(rate * elapsed))
            todo = min(due - sent, MAX_PIPELINE)
            if todo <= 0:
                time.sleep(0.001)
                continue
            late = max(late, elapsed - sent / rate)
            at = at_field + _bulk(str(int(time.time() * 1000)).encode())
            conn.send_packed_command(
                [
                    b"".join(
                        fixed[j % n] + _bulk(b"bench-%d" % j) + at for j in range(sent, sent + todo)
                    )
                ]
            )
            for _ in range(todo):
                conn.read_response()  # an entry id, or raises the server's error
            sent += todo
        seconds_taken = time.perf_counter() - t0
    finally:
        r.connection_pool.release(conn)
        r.close()
    return {
        "appended": sent, "seconds": seconds_taken, "max_late_s": late, "ended_at": time.time(),
    }  # fmt: skip


def produce_into(queue: Any, kwargs: dict[str, Any]) -> None:
    """:func:`produce` for a child process: its result (or its error) into ``queue``."""
    try:
        queue.put(produce(**kwargs))
    except Exception as e:  # the parent reports it
        queue.put({"error": f"{type(e).__name__}: {e}"})


__all__ = ["produce", "produce_into"]
