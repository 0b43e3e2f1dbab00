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
    returns the entries appended, the seconds taken and the most an entry ran late."""
    r = redis.Redis.from_url(url)
    keys = Keys(partitions)
    streams = [keys.stream(keys.part(u)) for u in users]
    n = len(users)
    total = int(rate * seconds)
    sent = 0
    late = 0.0
    t0 = time.perf_counter()
    while sent < total:
        elapsed = time.perf_counter() - t0
        due = min(total, int(rate * elapsed))
        todo = min(due - sent, MAX_PIPELINE)
        if todo <= 0:
            time.sleep(0.001)
            continue
        late = max(late, elapsed - sent / rate)
        at = int(time.time() * 1000)
        pipe = r.pipeline(transaction=False)
        for j in range(sent, sent + todo):
            x = j % n
            fields: dict[Any, Any] = {
                "k": KIND, "u": users[x], "v": items[x], "id": f"bench-{j}", "at": at,
            }  # fmt: skip
            pipe.xadd(streams[x], fields, maxlen=maxlen, approximate=True)
        pipe.execute()
        sent += todo
    seconds_taken = time.perf_counter() - t0
    r.close()
    return {"appended": sent, "seconds": seconds_taken, "max_late_s": late}


def produce_into(queue: Any, kwargs: dict[str, Any]) -> None:
    """:func:`produce` for a child process: its result (or its error) into ``queue``."""
    try:
        queue.put(produce(**kwargs))
    except Exception as e:  # the parent reports it
        queue.put({"error": f"{type(e).__name__}: {e}"})


__all__ = ["produce", "produce_into"]
