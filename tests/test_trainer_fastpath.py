"""The online trainer's raw read path against a real Redis (no Neo4j): entries read raw and
turned into interactions by ``interactions_from_raw`` are exactly what the decoded path
(redis-py's parsed replies, :class:`Entry`, ``interactions_from``) makes of them; raw reads
claim what a dead consumer left pending and acknowledge in one call; the delay ring keeps what
a deque of the same length would."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import redis

from graphrec.config import Settings
from graphrec.errors import InvalidInput
from graphrec.spine import Spine
from graphrec.spine.stream import Entry, StreamReader
from graphrec.spine.trainer import (
    DelayWindow,
    _decode_all,
    interactions_from,
    interactions_from_raw,
    kind_weights,
)

GROUP = "fastpath-test"


def _fill(spine: Spine) -> int:
    """A mix of every shape of entry over several partitions; returns how many."""
    streams = spine.keys.streams()
    rows: list[dict[str, str]] = [
        {"k": "like", "u": "u1", "v": "v1", "id": "e1", "at": "1"},
        {"k": "served", "u": "u1", "f": "f1", "v": "v2,v3,,v4"},
        {"k": "follow", "u": "u2", "c": "c1", "id": "e2", "at": "2"},
        {"k": "skip", "u": "u2", "v": "v4", "id": "e3", "at": "3"},
        {"u": "nobody", "v": "v5", "id": "e4"},  # no kind: nothing to learn
        {"k": "mystery", "u": "nobody", "v": "v5", "id": "e5"},  # an unknown kind: the same
        {"k": "like", "u": "nobody", "v": "", "id": "e6"},  # no video
        {"k": "served", "u": "u4", "f": "f2", "v": ""},  # an empty feed
        {"k": "complete", "u": "üser-é", "v": "vidéo-✓", "id": "e7", "wm": "0.9"},
        {"v": "v6", "k": "share", "id": "e8", "u": "u5"},  # fields in another order
    ]
    rows += [
        {
            "k": ("like", "skip", "complete", "impression")[j % 4],
            "u": f"u{j % 37}",
            "v": f"v{j % 91}",
        }
        for j in range(500)
    ]
    for j, row in enumerate(rows):
        spine.r.xadd(streams[j % len(streams)], row)
    return len(rows)


def _decoded(spine: Spine) -> list[Entry]:
    """Every entry of the stream as redis-py parses it (XRANGE), decoded: the reference."""
    out: list[Entry] = []
    for s in spine.keys.streams():
        for i, f in spine.r.xrange(s):
            out.append(Entry(s, i.decode(), {k.decode(): v.decode() for k, v in f.items()}))
    return out


def test_raw_reads_make_exactly_the_interactions_of_decoded_entries(redis_db: redis.Redis) -> None:
    settings = Settings(environment="test")
    spine = Spine(redis_db, settings)
    n = _fill(spine)
    weights = kind_weights(settings)
    reader = StreamReader(spine, GROUP, "c1", count=7, block_ms=0)
    got_batches, got_ms, reads = [], [], []
    while True:  # small COUNT: many reads, each over several partitions
        raw = reader.read_raw(block=False)
        if not raw.parts:
            break
        reads.append(raw)
        batch, ms = interactions_from_raw(raw, weights)
        got_batches.append(batch)
        got_ms.append(ms)
    assert sum(len(r) for r in reads) == n
    # Per read, the decoded path on the same entries agrees element by element ...
    for raw, batch, ms in zip(reads, got_batches, got_ms, strict=True):
        ref = interactions_from(raw.entries(), weights)
        assert list(batch.user_ids) == list(ref.user_ids)
        assert list(batch.item_ids) == list(ref.item_ids)
        assert batch.weights.dtype == ref.weights.dtype == np.float32
        assert batch.weights.tolist() == ref.weights.tolist()
        assert batch.times is not None and ref.times is not None
        assert batch.times.tolist() == ref.times.tolist()
        assert ms.tolist() == [e.appended_ms for e in raw.entries()]
    # ... and over all reads it is what redis-py's own parsed replies make (order aside:
    # a read interleaves the partitions).
    ref = interactions_from(_decoded(spine), weights)
    mine = sorted(
        (u, v, float(w), float(t))
        for b in got_batches
        for u, v, w, t in zip(b.user_ids, b.item_ids, b.weights, b.times, strict=True)  # type: ignore[arg-type]
    )
    theirs = sorted(
        (u, v, float(w), float(t))
        for u, v, w, t in zip(ref.user_ids, ref.item_ids, ref.weights, ref.times, strict=True)  # type: ignore[arg-type]
    )
    assert mine == theirs and len(mine) > 400
    assert ("üser-é", "vidéo-✓") in {(u, v) for u, v, _, _ in mine}
    assert ("u1", "v4") in {(u, v) for u, v, w, _ in mine if w == 0.0}  # the served feed
    assert not {u for u, *_ in mine} & {"nobody"}  # no kind, unknown kind, no video


def test_raw_reads_claim_a_dead_consumers_entries_and_ack_them_in_one_call(
    redis_db: redis.Redis,
) -> None:
    settings = Settings(environment="test")
    spine = Spine(redis_db, settings)
    n = _fill(spine)
    dead = StreamReader(spine, GROUP, "dead", count=10_000, block_ms=0)
    assert len(dead.read_raw(block=False)) == n  # read, never acknowledged
    alive = StreamReader(spine, GROUP, "alive", count=10_000, block_ms=0, claim_idle_ms=0)
    claimed = alive.read_raw(block=False)
    assert len(claimed) == n
    assert sorted(e.id for e in claimed.entries()) == sorted(e.id for e in _decoded(spine))
    assert alive.status()["pending"] == n
    assert alive.ack_raw(claimed) == n
    assert alive.status()["pending"] == 0
    assert len(alive.read_raw(block=False)) == 0


def test_ids_decode_in_one_call_as_each_alone() -> None:
    ids = [b"u1", "üser".encode(), b"", "✓".encode(), b"v,2"]
    assert _decode_all(ids) == [i.decode() for i in ids]
    assert _decode_all([b"a\0b", b"c"]) == ["a\0b", "c"]  # a NUL in an id: each alone
    assert _decode_all([]) == []
    with pytest.raises(UnicodeDecodeError):
        _decode_all([b"ok", b"\xff"])


def test_the_delay_ring_holds_what_a_deque_would() -> None:
    rng = np.random.default_rng(0)
    ring, ref = DelayWindow(1_000), deque(maxlen=1_000)
    grown, every = DelayWindow(None), []
    for size in (0, 10, 999, 1, 1_000, 2_500, 7, 5_000):
        v = rng.random(size)
        ring.extend(v)
        ref.extend(v.tolist())
        grown.extend(v)
        every.extend(v.tolist())
        assert len(ring) == len(ref)
        assert sorted(ring.values().tolist()) == sorted(ref)
        assert grown.values().tolist() == every
    with pytest.raises(InvalidInput):
        DelayWindow(0)


def test_the_collector_is_back_as_it_was_after_a_read() -> None:
    import gc

    from graphrec.spine.trainer import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # left off: whoever turned it off turns it on
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a failing read")
    assert gc.isenabled()


def test_plain_engagements_are_taken_column_by_column_as_entry_by_entry(
    redis_db: redis.Redis,
) -> None:
    from graphrec.spine.trainer import _append_ms, _plain_part

    settings = Settings(environment="test")
    spine = Spine(redis_db, settings)
    weights = kind_weights(settings)
    wb = {k.encode(): w for k, w in weights.items()}
    streams = spine.keys.streams()
    for j in range(300):  # what the append script writes: k, u, v first
        row = {"k": ("like", "skip", "view")[j % 3], "u": f"u{j % 11}", "v": f"v{j % 17}"}
        spine.r.xadd(streams[j % 2], {**row, "id": f"e{j}", "at": str(j)})
    spine.r.xadd(streams[2], {"k": "like", "u": "u1", "v": "v1"}, id="5-1")  # a short id
    spine.r.xadd(streams[2], {"k": "like", "u": "u2", "v": "v2"}, id="5-2")
    reader = StreamReader(spine, GROUP, "c1", count=1_000, block_ms=0)
    raw = reader.read_raw(block=False)
    assert len(raw) == 302
    plain = [_plain_part([f for _, f in es], wb) for _, es in raw.parts]
    assert all(p is not None for p in plain)  # every partition of this read column-wise
    batch, ms = interactions_from_raw(raw, weights)
    ref = interactions_from(raw.entries(), weights)
    assert list(batch.user_ids) == list(ref.user_ids)
    assert list(batch.item_ids) == list(ref.item_ids)
    assert batch.weights.tolist() == ref.weights.tolist()
    assert batch.times is not None and ref.times is not None
    assert batch.times.tolist() == ref.times.tolist()
    assert ms.tolist() == [e.appended_ms for e in raw.entries()]
    assert 5 in ms.tolist()  # the short id parsed one by one
    # A served feed, a video-less like or another field order: entry by entry instead.
    for flat in (
        [b"k", b"served", b"u", b"u1", b"v", b"v1,v2"],
        [b"k", b"like", b"u", b"u1", b"v", b""],
        [b"u", b"u1", b"k", b"like", b"v", b"v1"],
        [b"k", b"like", b"u", b"u1"],
    ):
        assert _plain_part([[b"k", b"like", b"u", b"u9", b"v", b"v9"], flat], wb) is None
    assert _append_ms([b"1733150000000-5", b"17-0"]).tolist() == [1733150000000, 17]
    assert _append_ms([b"1733150000000-5", b"1733150000001-12"]).tolist() == [
        1733150000000,
        1733150000001,
    ]
