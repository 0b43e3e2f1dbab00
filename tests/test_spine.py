"""The serving spine against real Neo4j and real Redis (world S): budgets under concurrency,
idempotent replays, a killed consumer, the next feed reflecting an event before the graph."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from graphrec.db import Graph
from graphrec.spine import Spine
from graphrec.spine.append import append_events
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.store import StoreFault, StoreUnavailable, store_error
from graphrec.spine.stream import StreamReader
from graphrec.spine.writer import GROUP, GraphWriter
from graphrec.world.generate import World


def approved(world: World, k: int, tag: str | None = None) -> list[str]:
    return [
        v["id"]
        for v in world.videos
        if v["status"] == "approved" and (tag is None or tag in v["hashtags"])
    ][:k]


def counters(graph: Graph, vid: str) -> dict[str, int]:
    rows = graph.read("serving/video_detail", video_id=vid)
    return rows[0]["counters"]


def test_fifty_concurrent_feeds_never_overrun_a_budget(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    # One video with 5 impressions left, offered to every user as the only cold-start item.
    vid = approved(world_s, 1)[0]
    spine.r.hset(spine.keys.budget, vid, 5)
    users = [u["id"] for u in world_s.users[:50]]

    def one(uid: str) -> bool:
        return vid in spine.grant([vid, "x-no-budget"])

    with ThreadPoolExecutor(50) as pool:
        grants = list(pool.map(one, users))
    assert sum(grants) == 5
    assert int(spine.r.hget(spine.keys.budget, vid)) == 0
    # Through whole feeds too: the cold-start list's videos never go past their budgets.
    rec = StreamRecommender(spine)
    left = {k.decode(): int(v) for k, v in spine.r.hgetall(spine.keys.budget).items() if int(v) > 0}
    small = sorted(left)[:20]
    spine.r.hset(spine.keys.budget, mapping=dict.fromkeys(small, 2))
    with ThreadPoolExecutor(50) as pool:
        feeds = list(pool.map(lambda u: rec.feed(u, 10), users))
    served: dict[str, int] = {}
    for f in feeds:
        for it in f.items:
            served[it.video_id] = served.get(it.video_id, 0) + 1
    assert all(served.get(v, 0) <= 2 for v in small), {v: served.get(v) for v in small}
    assert all(int(spine.r.hget(spine.keys.budget, v)) >= 0 for v in small)


def test_replaying_the_stream_twice_counts_nothing_twice(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    uid = world_s.users[2]["id"]
    vids = approved(world_s, 3)
    before = {v: counters(loaded_graph, v) for v in vids}
    events = [
        {"event_id": f"r-{i}", "user_id": uid, "kind": kind, "video_id": v}
        for i, (kind, v) in enumerate([("like", vids[0]), ("share", vids[1]), ("view", vids[2])])
    ]
    assert append_events(spine, events).accepted == 3
    StreamRecommender(spine).feed(uid, 5)
    writer = GraphWriter(loaded_graph, spine)
    writer.drain()
    after = {v: counters(loaded_graph, v) for v in vids}
    assert after[vids[0]]["likes"] == before[vids[0]]["likes"] + 1
    # Read the whole stream again under a fresh group: everything is applied a second time.
    replay = StreamReader(spine, "replay", block_ms=0)
    entries = replay.read(block=False)
    assert len(entries) >= 4
    writer.apply(entries)
    writer.apply(entries)
    assert {v: counters(loaded_graph, v) for v in vids} == after


def test_acknowledged_events_survive_a_killed_consumer(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    uid = world_s.users[4]["id"]
    vid = approved(world_s, 1)[0]
    before = counters(loaded_graph, vid)["likes"]
    assert (
        append_events(
            spine, [{"event_id": "k1", "user_id": uid, "kind": "like", "video_id": vid}]
        ).accepted
        == 1
    )
    # A consumer reads the entry and dies before applying it: it stays pending on it.
    dead = StreamReader(spine, GROUP, "dead-consumer")
    assert [e.fields["id"] for e in dead.read(block=False)] == ["k1"]
    assert counters(loaded_graph, vid)["likes"] == before
    # Another writer takes the lease and claims what the dead one held.
    live = GraphWriter(loaded_graph, spine)
    live.drain()
    assert counters(loaded_graph, vid)["likes"] == before + 1
    st = live.reader.status()
    assert st["pending"] == 0 and st["lag"] == 0


def test_the_next_feed_reflects_an_event_before_the_graph_does(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    from graphrec.accounts import sign_up

    sign_up(loaded_graph, user_id="quick")
    spine.add_user("quick")
    rec = StreamRecommender(spine)
    before = rec.feed("quick", 10, record=False)
    pets = approved(world_s, 4, "pets")
    events = [
        {"event_id": f"q-{v}", "user_id": "quick", "kind": "like", "video_id": v} for v in pets
    ]
    assert append_events(spine, events).accepted == len(pets)
    after = rec.feed("quick", 10, record=False)  # no writer has run: the graph knows nothing
    assert loaded_graph.read("serving/user_seen", user_id="quick", limit=100) == []
    assert sum("pets" in i.tags for i in after.items) > sum("pets" in i.tags for i in before.items)
    assert any("liked #pets" in i.reason for i in after.items)
    assert not set(pets) & {i.video_id for i in after.items}  # liked ones count as seen
    # A follow is idempotent by event_id like every kind.
    creator = next(v["creator"] for v in world_s.videos if v["id"] == pets[0])
    follow = {"event_id": "q-f", "user_id": "quick", "kind": "follow", "creator_id": creator}
    assert append_events(spine, [follow]).accepted == 1
    tags = spine.r.hgetall(spine.keys.user("quick", "tags"))
    again = append_events(spine, [follow])
    assert (again.accepted, again.duplicates) == (0, 1)
    assert spine.r.hgetall(spine.keys.user("quick", "tags")) == tags


def test_events_on_a_rejected_video_are_refused_with_the_reason(
    spine: Spine, world_s: World
) -> None:
    rejected = next(v for v in world_s.videos if v["status"] != "approved")
    uid = world_s.users[0]["id"]
    got = append_events(
        spine, [{"event_id": "rj", "user_id": uid, "kind": "view", "video_id": rejected["id"]}]
    )
    assert got.accepted == 0 and got.rejected[0][1].startswith("video_id:")
    assert "rejected" in got.rejected[0][1]


def test_workers_reuse_parsed_lists_until_the_sync_bumps_their_version(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    from graphrec.spine.state import sync_lists

    rec = StreamRecommender(spine)
    uid = world_s.users[0]["id"]
    key = spine.keys.list("catalogue")
    rec.feed(uid, 5, record=False)
    kept = rec.lists.get(key, [])
    assert kept, "the catalogue list is cached after a feed"
    # A list rewritten without a version bump: the worker keeps its parsed copy (no re-read).
    spine.r.set(key, b"[]")
    rec.feed(uid, 5, record=False)
    assert rec.lists.get(key, []) is kept
    # The sync bumps the version with the lists: the next feed drops the old copy at once.
    before = int(spine.r.hget(spine.keys.meta, "lists_v") or 0)
    sync_lists(loaded_graph, spine)
    assert int(spine.r.hget(spine.keys.meta, "lists_v")) == before + 1
    spine.r.set(key, b"[]")  # what the sync wrote, replaced: the fresh read must see this
    rec.feed(uid, 5, record=False)
    assert rec.lists.get(key, ["stale"]) == []
    assert rec.feed(uid, 5, record=False).candidates.get("catalogue", 0) == 0


def test_redis_errors_split_into_retry_later_and_faults(spine: Spine) -> None:
    """Real Redis errors, classified: a refusal for good (a key of the wrong type, a script
    that fails) is a StoreFault (500); Redis busy with a long script or not reachable is
    StoreUnavailable (503, retry)."""
    r = spine.r
    assert spine.url is not None
    r.hset("gr:{c}:test-hash", "a", 1)

    def refused(call: Callable[[], object]) -> redis.RedisError:
        with pytest.raises(redis.RedisError) as got:
            call()
        return got.value

    wrongtype = store_error(refused(lambda: r.get("gr:{c}:test-hash")))
    assert isinstance(wrongtype, StoreFault) and wrongtype.http_status == 500
    assert "WRONGTYPE" in str(wrongtype)
    script = store_error(refused(lambda: r.eval("return redis.call('NOSUCHCOMMAND')", 0)))
    assert isinstance(script, StoreFault)
    down = redis.Redis(port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    gone = store_error(refused(down.ping))
    assert isinstance(gone, StoreUnavailable) and gone.http_status == 503
    # BUSY: another client's command while a script runs past busy-reply-threshold (ms).
    old = r.config_get("busy-reply-threshold")["busy-reply-threshold"]
    r.config_set("busy-reply-threshold", 50)
    spin = "local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]; " \
           "repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 600000; return 1"  # fmt: skip
    runner = threading.Thread(target=lambda: redis.Redis.from_url(spine.url).eval(spin, 0))
    try:
        runner.start()
        time.sleep(0.2)
        busy = store_error(refused(lambda: redis.Redis.from_url(spine.url).get("gr:{c}:x")))
    finally:
        runner.join()
        r.config_set("busy-reply-threshold", old)
    assert isinstance(busy, StoreUnavailable)
