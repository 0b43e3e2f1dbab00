"""Redis's CPU per queue pop: ``lua/queue_pop.lua`` (``record`` on), against a variant.

A hit is one script inside Redis (the walk over the user's queue, the seen filter, the
budgets, then the grants, the seen bits, the ``served`` stream entry and the trim), and
Redis is single-threaded: its CPU per pop is a hit's share of the machine and of every other
client's wait. This benchmark measures it without the noise of a load test: it fills the
queues of ``users`` users once and keeps a copy (``DUMP``) of each user's queue, stamp and
seen filter and of the budgets; then, every round and for every script, it restores that
copy and pops ``pages`` pages of ``n`` from each queue with that script, reading around the
pops Redis's main-thread CPU (``INFO cpu``, ``used_cpu_*_main_thread``) and its own account
of the time in scripts (``INFO commandstats``, ``EVALSHA``). Every script pops the same
queues from the same state, so what differs is the script. Medians over rounds.

What the pops append to the streams is removed afterwards (no graph writer ever applies a
benchmark's impressions), and the copy is restored at the end: the queues are left as
filled. ``--compare FILE`` is a variant of the script with the same keys and arguments.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graphrec.bench.ingestcpu import _median, _script_usec, remove_appended, stream_ends
from graphrec.bench.load import machine
from graphrec.bench.serve import redis_ready, sample_ids, world_ready
from graphrec.db import Graph
from graphrec.spine import Spine
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.queue import FeedQueue
from graphrec.spine.store import _lua, lua_text

SCENARIO = "default"


def _main_cpu(spine: Spine) -> float:
    """Seconds of CPU of Redis's main thread (where scripts run), user + system."""
    i = spine.r.info("cpu")
    return float(i["used_cpu_user_main_thread"]) + float(i["used_cpu_sys_main_thread"])


class Snapshot:
    """A copy of what pops read and write (each user's queue, stamp and seen filter, the
    budgets), to put back before each script's pops; and the streams' ends, to remove what
    the pops appended."""

    def __init__(self, spine: Spine, users: Sequence[str]) -> None:
        self.spine = spine
        k = spine.keys
        keys: list[str] = [k.budget]
        for u in users:
            keys += [k.user(u, "q"), k.user(u, "qs"), k.user(u, "seen")]
        pipe = spine.r.pipeline(transaction=False)
        for key in keys:
            pipe.dump(key)
        self.dumps = dict(zip(keys, pipe.execute(), strict=True))
        self.ends = stream_ends(spine)

    def restore(self) -> None:
        pipe = self.spine.r.pipeline(transaction=False)
        for key, dumped in self.dumps.items():
            if dumped is None:
                pipe.delete(key)
            else:
                pipe.restore(key, 0, dumped, replace=True)
        pipe.execute()

    def forget_appended(self) -> int:
        """Remove the stream entries appended since the snapshot; how many."""
        return remove_appended(self.spine, self.ends)


def pop_rounds(
    spine: Spine,
    users: Sequence[str],
    scripts: dict[str, str],
    *,
    n: int = 10,
    pages: int = 3,
    rounds: int = 5,
) -> dict[str, list[dict[str, Any]]]:
    """Per script (name -> Lua text), per round: the pops and hits, Redis's main-thread CPU
    and its script time per pop, and a digest of the answers, each round from the same
    restored state (the same answers for scripts that serve alike)."""
    queue = FeedQueue(spine)
    shas = {name: spine.r.script_load(text) for name, text in scripts.items()}
    snap = Snapshot(spine, users)
    at = int(time.time() * 1000)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in scripts}
    try:
        for rnd in range(rounds):
            for name, sha in shas.items():
                snap.restore()
                calls = []
                for page in range(pages):
                    for u in users:
                        keys, args = queue._pop_call(u, n, SCENARIO, record=True, at=at,
                                                     feed_id=f"bench-{rnd}-{page}")  # fmt: skip
                        calls.append((keys, args))
                answers = []
                c0, u0 = _main_cpu(spine), _script_usec(spine.r)
                for keys, args in calls:
                    answers.append(spine.r.evalsha(sha, len(keys), *keys, *args))
                c1, u1 = _main_cpu(spine), _script_usec(spine.r)
                hits = sum(1 for a in answers if a and int(a[0]) == 1)
                # What was served, as one digest: every script and round pops the same pages
                digest = hashlib.blake2b(repr(answers).encode(), digest_size=8).hexdigest()
                pops = len(calls)
                out[name].append({
                    "pops": pops,
                    "hits": hits,
                    "redis_cpu_us_per_pop": round((c1 - c0) * 1e6 / pops, 1),
                    "script_us_per_pop": round((u1 - u0) / pops, 1),
                    "answers": digest,
                })  # fmt: skip
                snap.forget_appended()
    finally:
        snap.restore()
        snap.forget_appended()
    return out


def bench_popcpu(
    graph: Graph,
    conn: Any,
    *,
    size: str,
    seed: int,
    users: int,
    pages: int,
    rounds: int,
    compare: Path | None = None,
) -> dict[str, Any]:
    """Fill ``users`` queues, then :func:`pop_rounds` with the installed script (and
    ``compare``'s); medians per script."""
    counts = world_ready(graph, size, seed)
    ids, _ = sample_ids(graph, users)
    url, _, _ = redis_ready(graph)
    spine = Spine.connect(url)
    try:
        rec = StreamRecommender(spine)
        for u in ids:
            rec.refill(u)
        scripts = {"queue_pop": _lua("queue_pop")}
        if compare is not None:
            scripts[compare.name] = lua_text(compare.read_text())  # its includes expanded
        got = pop_rounds(spine, ids, scripts, pages=pages, rounds=rounds)
    finally:
        spine.close()
    rows = [
        {
            "script": name,
            "redis_cpu_us_per_pop": _median(rs, "redis_cpu_us_per_pop"),
            "script_us_per_pop": _median(rs, "script_us_per_pop"),
            "hit_rate": round(sum(r["hits"] for r in rs) / sum(r["pops"] for r in rs), 4),
        }
        for name, rs in got.items()
    ]
    return {
        "benchmark": "popcpu",
        "rows": rows,
        "rounds": got,
        "users": len(ids),
        "pages": pages,
        "n": 10,
        "size": size,
        "graph": counts,
        "machine": machine(),
    }
