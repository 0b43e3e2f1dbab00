"""``bench popcpu`` against real Redis and Neo4j (world S): every script and round pops the
same queues from the same state, and the state is left as filled, the streams as they were."""

from __future__ import annotations

from graphrec.bench.popcpu import pop_rounds
from graphrec.spine import Spine
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.store import _lua
from graphrec.world.generate import World


def test_pop_rounds_pop_the_same_pages_and_leave_the_state_as_filled(
    spine: Spine, world_s: World
) -> None:
    users = [u["id"] for u in world_s.users[20:26]]
    rec = StreamRecommender(spine)
    for u in users:
        rec.refill(u)
    k, r = spine.keys, spine.r

    def state() -> tuple[object, ...]:
        return (
            [r.lrange(k.user(u, "q"), 0, -1) for u in users],
            [r.hgetall(k.user(u, "qs")) for u in users],
            [r.get(k.user(u, "seen")) for u in users],
            r.hgetall(k.budget),
            [r.xrange(s) for s in k.streams()],
        )

    was = state()
    text = _lua("queue_pop")
    nothing = "return {0, 'short'}"
    got = pop_rounds(spine, users, {"a": text, "b": "-- a copy\n" + text, "none": nothing},
                     pages=3, rounds=2)  # fmt: skip
    assert state() == was
    a, b, none = got["a"], got["b"], got["none"]
    assert [x["pops"] for x in a + b + none] == [18] * 6
    assert all(x["hits"] == 18 for x in a + b)  # a queue of world S holds 3 pages
    assert all(x["hits"] == 0 for x in none)
    # The same pages served in every round by both scripts: each round began from the copy.
    assert len({x["answers"] for x in a + b}) == 1
    assert all(x["redis_cpu_us_per_pop"] > 0 and x["script_us_per_pop"] > 0 for x in a + b)
