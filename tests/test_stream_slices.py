"""A consumer's read of the stream goes to Redis in slices (real Redis): the same entries, in
order, as one read of ``count`` a partition, but no single command holds Redis for the whole
batch (the graph writer's reads of 5,000 a partition stalled every feed behind them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from graphrec.config import Settings
from graphrec.spine import Spine
from graphrec.spine.stream import ACK_SLICE, StreamReader


@pytest.fixture
def spine(settings: Settings, redis_db: redis.Redis) -> Iterator[Spine]:
    assert settings.redis_url is not None
    sp = Spine.connect(settings.redis_url, settings)
    yield sp
    sp.close()


def calls(r: redis.Redis, command: str) -> int:
    return int(r.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def fill(spine: Spine, counts: dict[int, int]) -> dict[str, list[str]]:
    """``counts[p]`` entries appended to partition p; each partition's ids in order."""
    streams = spine.keys.streams()
    ids: dict[str, list[str]] = {}
    for p, n in counts.items():
        pipe = spine.r.pipeline(transaction=False)
        for i in range(n):
            pipe.xadd(streams[p], {"k": "view", "u": f"u{p}", "id": f"e{p}-{i}"})
        ids[streams[p]] = [x.decode() for x in pipe.execute()]
    return ids


def by_stream(entries: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for stream, i in entries:
        out.setdefault(stream, []).append(i)
    return out


@pytest.mark.parametrize("raw", [False, True], ids=["decoded", "raw"])
def test_a_read_in_slices_hands_out_what_one_read_would(spine: Spine, raw: bool) -> None:
    ids = fill(spine, {0: 25, 3: 2, 5: 10})
    reader = StreamReader(spine, "slices", count=10, slice_count=3, block_ms=0)
    assert reader.slice == 3

    def read() -> list[tuple[str, str]]:
        if raw:
            return [(s, i.decode()) for s, es in reader.read_raw(block=False).parts for i, _ in es]
        return [(e.stream, e.id) for e in reader.read(block=False)]

    before = calls(spine.r, "xreadgroup")
    first = read()
    # partition 0: slices of 3, 3, 3, then the 1 left of its 10; partition 5: 3, 3, 3, 1;
    # partition 3 answered 2 of 3 in the first slice and is not asked again
    assert calls(spine.r, "xreadgroup") - before == 4
    s0, s3, s5 = (spine.keys.streams()[p] for p in (0, 3, 5))
    assert by_stream(first) == {s0: ids[s0][:10], s3: ids[s3], s5: ids[s5]}
    # the next reads go on where it stopped, and nothing is handed out twice
    second, third = read(), read()
    assert by_stream(second) == {s0: ids[s0][10:20]}
    assert by_stream(third) == {s0: ids[s0][20:]}
    assert read() == []
    # a slice as large as the count: one command, as before slices
    whole = StreamReader(spine, "whole", count=10, slice_count=100, block_ms=0)
    assert whole.slice == 10
    before = calls(spine.r, "xreadgroup")
    assert len(whole.read(block=False)) == 10 + 2 + 10
    assert calls(spine.r, "xreadgroup") - before == 1


def test_acknowledging_a_large_read_takes_several_commands_and_misses_none(
    spine: Spine,
) -> None:
    n = 2 * ACK_SLICE + 7
    fill(spine, {1: n})
    reader = StreamReader(spine, "acks", count=n, block_ms=0)
    raw = reader.read_raw(block=False)
    assert len(raw) == n
    before = calls(spine.r, "xack")
    assert reader.ack_raw(raw) == n
    assert calls(spine.r, "xack") - before == 3
    assert reader.status()["pending"] == 0
    fill(spine, {2: n})
    entries = reader.read(block=False)
    assert len(entries) == n and reader.ack(entries) == n
    assert reader.status()["pending"] == 0
