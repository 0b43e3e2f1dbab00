"""The per-user feed queue against real Neo4j and real Redis (world S): a queued feed is the
ranked feed, an event outdates the queue at once, budgets hold under 50 concurrent pops, seen
videos never come back, a preview consumes nothing, the filler recomputes what was outdated."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed.recommender import Feed
from graphrec.spine import Spine
from graphrec.spine.append import append_events
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.queue import QueueFiller, fill
from graphrec.spine.state import sync_budgets, sync_lists
from graphrec.spine.store import seen_bits
from graphrec.world.generate import World


def ranked(spine: Spine) -> StreamRecommender:
    """The same feed without a queue: ranks every time."""
    return StreamRecommender(
        Spine(spine.r, spine.settings.model_copy(update={"feed_queue": False}))
    )


def from_queue(feed: Feed) -> bool:
    return set(feed.timings_ms) == {"queue"}


def items(feed: Feed) -> list[dict[str, Any]]:
    return [it.as_dict() for it in feed.items]


def wait_until_due(spine: Spine) -> None:
    """Wait out the filler's debounce (``queue_fill_delay_ms``) after the last event."""
    time.sleep(spine.settings.queue_fill_delay_ms / 1000 + 0.05)


def due(spine: Spine, uid: str) -> float | None:
    """When the user's refill is due (epoch ms by Redis's clock), None if not handed over."""
    return spine.r.zscore(spine.keys.dirty(spine.keys.part(uid)), uid)


def queued_ids(spine: Spine, uid: str) -> list[str]:
    return [x.split(b"\t", 1)[0].decode() for x in spine.r.lrange(spine.keys.user(uid, "q"), 0, -1)]


def test_a_queued_feed_is_the_ranked_feed(spine: Spine, world_s: World, settings: Settings) -> None:
    uid = world_s.users[3]["id"]
    rec, plain = StreamRecommender(spine), ranked(spine)
    first = rec.feed(uid, 10, record=False)  # a miss: ranked, and its pages kept
    assert not from_queue(first) and "gather" in first.timings_ms
    assert first.queue == "none"  # why it missed: no queue yet
    assert items(first) == items(plain.feed(uid, 10, record=False))
    # Whole pages up to the depth, as many as the user's candidates allow (world S: 6+).
    queued = len(queued_ids(spine, uid))
    assert queued % 10 == 0 and 60 <= queued <= settings.feed_queue_depth
    ttl = spine.r.ttl(spine.keys.user(uid, "qs"))
    assert 0 < ttl <= settings.feed_queue_ttl_s
    served = rec.feed(uid, 10)  # from the queue: granted and recorded
    assert from_queue(served) and served.queue == "hit"
    assert items(served) == items(first) and served.candidates == first.candidates
    # The next page holds the videos ranking serves once the first page was seen (their
    # scores are as ranked with the first: a source's relevance counts unseen rows above).
    nxt = rec.feed(uid, 10, record=False)
    assert from_queue(nxt)
    again = plain.feed(uid, 10, record=False)
    assert {i.video_id for i in nxt.items} == {i.video_id for i in again.items}
    # Another page size or scenario is ranked (and becomes the queue).
    assert rec.feed(uid, 5, record=False).queue == "shape"
    assert not from_queue(rec.feed(uid, 5, "binge", record=False))
    assert from_queue(rec.feed(uid, 5, "binge", record=False))


def test_the_http_body_of_a_queued_feed_is_the_ranked_body(
    loaded_graph: Graph, settings: Settings, redis_db: redis.Redis, world_s: World
) -> None:
    uid = world_s.users[5]["id"]
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        url = f"/users/{uid}/feed?n=10&record=false"
        miss, hit = c.get(url), c.get(url)
        assert miss.status_code == hit.status_code == 200
        # Where each came from, for load generators and logs (not in the body).
        assert (miss.headers["X-Feed-Queue"], hit.headers["X-Feed-Queue"]) == ("none", "hit")
        a, b = miss.json(), hit.json()
        assert "gather" in a["timings_ms"] and list(b["timings_ms"]) == ["queue"]
        assert list(a) == list(b)  # the same fields, in the same order
        assert {k: a[k] for k in ("user_id", "scenario", "items", "candidates")} == {
            k: b[k] for k in ("user_id", "scenario", "items", "candidates")
        }


@pytest.mark.parametrize("inline", [True, False])
def test_a_miss_ranks_in_a_thread_unless_told_to_use_the_event_loop(
    spine: Spine, world_s: World, inline: bool
) -> None:
    uid = world_s.users[7]["id"]
    rec = StreamRecommender(
        Spine(spine.r, spine.settings.model_copy(update={"feed_miss_inline": inline}))
    )
    spine.r.delete(spine.keys.user(uid, "qs"))  # no queue: the next feed is a miss
    where: list[int] = []
    real = rec._feed

    def watched(*args: Any, **kw: Any) -> Feed:
        where.append(threading.get_ident())
        return real(*args, **kw)

    rec._feed = watched  # type: ignore[method-assign]

    async def feed() -> tuple[int, bytes, str]:
        body, why = await rec.feed_body_async(uid, 10, record=False)
        return threading.get_ident(), body, why

    loop, body, why = asyncio.run(feed())
    assert why == "none" and len(where) == 1
    assert (where[0] == loop) is inline  # the loop's own thread, or another
    assert [it["video_id"] for it in orjson.loads(body)["items"]] == [
        it.video_id for it in ranked(spine).feed(uid, 10, record=False).items
    ]


def test_an_event_outdates_the_queue_and_the_next_feed_reflects_it(
    spine: Spine, world_s: World
) -> None:
    uid = world_s.users[3]["id"]
    rec = StreamRecommender(spine)
    before = rec.feed(uid, 10, record=False)
    assert from_queue(rec.feed(uid, 10, record=False))
    # Skip two videos of the creator that tops the feed: that creator drops out at once.
    creator = before.items[0].creator_id
    theirs = [v["id"] for v in world_s.videos if v["creator"] == creator][:2]
    skips = [{"event_id": f"qs-{v}", "user_id": uid, "kind": "skip", "video_id": v} for v in theirs]
    assert append_events(spine, skips).accepted == 2
    after = rec.feed(uid, 10, record=False)
    assert not from_queue(after) and after.queue == "user"
    assert creator not in {i.creator_id for i in after.items}
    assert from_queue(rec.feed(uid, 10, record=False))  # ranked again, queued again
    # A like of a tag the feed does not lead with: the next feed says so.
    tag = next(
        t
        for v in world_s.videos
        if v["status"] == "approved"
        for t in v["hashtags"]
        if not any(t in i.tags for i in after.items)
    )
    liked = [v["id"] for v in world_s.videos if tag in v["hashtags"] and v["status"] == "approved"]
    likes = [
        {"event_id": f"ql-{v}", "user_id": uid, "kind": "like", "video_id": v} for v in liked[:4]
    ]
    assert append_events(spine, likes).accepted == len(likes[:4])
    again = rec.feed(uid, 10, record=False)
    assert not from_queue(again)
    assert any(f"liked #{tag}" in i.reason for i in again.items)


def test_a_queue_ranked_before_an_event_is_not_stored_after_it(
    spine: Spine, world_s: World
) -> None:
    uid = world_s.users[8]["id"]
    rec = StreamRecommender(spine)
    _, _, _, versions = rec.context(uid, 0)  # read before ranking, as a feed does
    stale = ranked(spine).feed(uid, 10, record=False).items
    vid = next(v["id"] for v in world_s.videos if v["status"] == "approved")
    ev = {"event_id": "race-1", "user_id": uid, "kind": "like", "video_id": vid}
    assert append_events(spine, [ev]).accepted == 1  # arrives while the feed ranks
    assert not rec.queue.store(
        uid, stale, n=10, scenario="default", candidates={}, versions=versions, at=0
    )
    assert not from_queue(rec.feed(uid, 10, record=False))  # nothing stored: ranked again


def test_fifty_concurrent_feeds_from_queues_never_overrun_a_budget(
    spine: Spine, world_s: World
) -> None:
    users = [u["id"] for u in world_s.users[:50]]
    rec = StreamRecommender(spine)
    assert fill(rec, users)["filled"] == 50
    # The queued videos that most users hold, down to 2 impressions each (after the fill:
    # budgets are read when a queue is popped, not when it was ranked).
    held = Counter(v for u in users for v in set(queued_ids(spine, u)[:20]))
    tight = [v for v, n in held.most_common(10) if n > 2]
    assert tight
    spine.r.hset(spine.keys.budget, mapping=dict.fromkeys(tight, 2))
    with ThreadPoolExecutor(50) as pool:
        feeds = list(pool.map(lambda u: rec.feed(u, 10), users))
    assert sum(from_queue(f) for f in feeds) >= 25  # most came from their queue
    served = Counter(it.video_id for f in feeds for it in f.items)
    assert all(served[v] <= 2 for v in tight), {v: served[v] for v in tight}
    for v in tight:
        assert int(spine.r.hget(spine.keys.budget, v)) == 2 - served[v]
    assert all(len(f.items) == 10 for f in feeds)


def test_seen_videos_never_come_back_from_a_queue(spine: Spine, world_s: World) -> None:
    uid = world_s.users[6]["id"]
    rec = StreamRecommender(spine)
    rec.refill(uid)
    queue = queued_ids(spine, uid)
    # Another device served three videos of the second page meanwhile (no event: the queue
    # stays valid, only the seen filter knows).
    elsewhere = queue[12:15]
    assert spine.grant_and_record(uid, elsewhere, at=1, feed_id="other") == set(elsewhere)
    shown: list[str] = []
    while True:
        f = rec.feed(uid, 10)
        if not from_queue(f):
            break
        shown += [i.video_id for i in f.items]
    assert len(shown) >= 30
    assert len(shown) == len(set(shown))
    assert not set(elsewhere) & set(shown)
    assert f.items and not {i.video_id for i in f.items} & (set(shown) | set(elsewhere))


def test_a_pop_sets_exactly_the_served_videos_bits(spine: Spine, world_s: World) -> None:
    """The pop passes BITFIELD only the bits not set yet: a video with some of its bits set
    (shared with other videos) is still unseen and served, and afterwards the filter is the
    one before with every bit of every served video set, nothing else."""
    uid = world_s.users[7]["id"]
    rec = StreamRecommender(spine)
    rec.refill(uid)
    queue = queued_ids(spine, uid)
    m, key = spine.settings.seen_bloom_bits, spine.keys.user(uid, "seen")
    # Three of the first page's videos with all but one of their bits already set.
    partly = queue[1:4]
    for v in partly:
        for p in seen_bits(v, m)[1:]:
            spine.r.setbit(key, p, 1)
    before = spine.r.get(key) or b""
    f = rec.feed(uid, 10)
    assert from_queue(f)
    served = [i.video_id for i in f.items]
    assert set(partly) <= set(served)
    want = bytearray(before.ljust(m // 8, b"\0"))
    for v in served:
        for p in seen_bits(v, m):
            want[p >> 3] |= 0x80 >> (p & 7)
    assert (spine.r.get(key) or b"").ljust(m // 8, b"\0") == bytes(want)
    assert spine.r.get(key) != before


def test_a_preview_consumes_nothing(spine: Spine, world_s: World) -> None:
    uid = world_s.users[9]["id"]
    rec = StreamRecommender(spine)
    rec.refill(uid)
    k = spine.keys

    def state() -> tuple[Any, ...]:
        return (
            spine.r.lrange(k.user(uid, "q"), 0, -1),
            spine.r.hgetall(k.budget),
            spine.r.get(k.user(uid, "seen")),
            spine.r.xlen(k.stream(k.part(uid))),
        )

    was = state()
    previews = [rec.feed(uid, 10, record=False) for _ in range(3)]
    assert all(from_queue(p) for p in previews)
    assert state() == was
    assert orjson.loads(rec.feed_body(uid, 10, record=False))["items"] == items(previews[0])
    assert state() == was
    served = rec.feed(uid, 10)
    assert from_queue(served) and items(served) == items(previews[0])
    assert len(state()[0]) <= len(was[0]) - 10
    assert state()[3] == was[3] + 1  # one "served" entry


def test_the_filler_recomputes_outdated_queues(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    users = [u["id"] for u in world_s.users[10:14]]
    rec = StreamRecommender(spine)
    fill(rec, users)
    for p in range(spine.keys.partitions):
        spine.r.delete(spine.keys.dirty(p))
    filler = QueueFiller(rec, per_s=1_000)
    assert filler.step() == 0
    vid = next(v["id"] for v in world_s.videos if v["status"] == "approved")
    ev = {"event_id": "fill-1", "user_id": users[0], "kind": "like", "video_id": vid}
    assert append_events(spine, [ev]).accepted == 1
    assert rec.queue.valid(users, n=10, scenario="default") == [False, True, True, True]
    wait_until_due(spine)
    assert filler.step() == 1
    assert all(rec.queue.valid(users, n=10, scenario="default"))
    assert from_queue(rec.feed(users[0], 10, record=False))
    # A sync outdates every queue and hands every user holding one to the filler.
    sync_lists(loaded_graph, spine)
    assert not any(rec.queue.valid(users, n=10, scenario="default"))
    assert rec.feed(users[0], 10, record=False).queue == "epoch"
    while filler.step():
        pass
    assert all(rec.queue.valid(users, n=10, scenario="default"))


def test_an_api_worker_runs_its_own_filler_at_the_in_worker_pace(
    loaded_graph: Graph, settings: Settings, spine: Spine, world_s: World
) -> None:
    # queue_filler: a filler thread in the worker, paced by queue_fill_per_s_in_worker (it
    # shares the worker's GIL), not by the standalone filler's queue_fill_per_s.
    s = settings.model_copy(
        update={"queue_filler": True, "queue_fill_delay_ms": 0, "queue_fill_per_s": 500.0,
                "queue_fill_per_s_in_worker": 20.0}
    )  # fmt: skip
    uid = world_s.users[15]["id"]
    app = create_app(s, graph=loaded_graph)
    with TestClient(app) as c:
        filler = app.state.filler
        assert isinstance(filler, QueueFiller) and filler.per_s == 20.0 and filler.alive
        assert c.get(f"/users/{uid}/feed?n=10&record=false").status_code == 200
        rec = StreamRecommender(spine)
        assert rec.queue.valid([uid], n=10, scenario="default") == [True]
        vid = next(v["id"] for v in world_s.videos if v["status"] == "approved")
        ev = {"event_id": "worker-fill-1", "user_id": uid, "kind": "like", "video_id": vid}
        assert append_events(spine, [ev]).accepted == 1  # the queue is outdated, the user due
        assert rec.queue.valid([uid], n=10, scenario="default") == [False]
        deadline = time.monotonic() + 20
        while not rec.queue.valid([uid], n=10, scenario="default")[0]:
            assert time.monotonic() < deadline, "the worker's filler did not refill the queue"
            time.sleep(0.05)
        r = c.get(f"/users/{uid}/feed?n=10&record=false")
        assert r.status_code == 200 and r.headers["X-Feed-Queue"] == "hit"
    assert not filler.alive  # stopped with the app
    plain = create_app(settings, graph=loaded_graph)
    with TestClient(plain):
        assert plain.state.filler is None  # no filler thread unless asked


def test_a_pool_entry_that_moved_outdates_every_queue(spine: Spine, loaded_graph: Graph) -> None:
    before = spine.r.hget(spine.keys.meta, "queue_epoch")
    sync_budgets(loaded_graph, spine)  # nothing moved: queues stay
    assert spine.r.hget(spine.keys.meta, "queue_epoch") == before
    vid = spine.r.hkeys(spine.keys.entry)[0]
    spine.r.hset(spine.keys.entry, vid, "an-older-entry")
    sync_budgets(loaded_graph, spine)
    assert int(spine.r.hget(spine.keys.meta, "queue_epoch")) == int(before or 0) + 1


def test_a_used_up_queue_misses_as_short(spine: Spine, world_s: World, settings: Settings) -> None:
    uid = world_s.users[7]["id"]
    rec = StreamRecommender(spine)
    assert rec.feed(uid, 10, record=False).queue == "none"
    pages = len(queued_ids(spine, uid)) // 10  # what the candidates filled, up to the depth
    assert pages >= 6
    served = [rec.feed(uid, 10) for _ in range(pages)]  # every entry taken
    assert [f.queue for f in served] == ["hit"] * pages
    assert rec.feed(uid, 10).queue == "short"  # fewer than n left: ranked again


def test_the_filler_paces_rankings_not_users_whose_queue_is_still_valid(
    spine: Spine, world_s: World
) -> None:
    """An epoch bump hands every user to the filler; those whose queue was filled since cost
    a check, not a ranking, so they must not hold back a user whose queue ran low."""
    import threading

    users = [u["id"] for u in world_s.users[20:40]]
    rec = StreamRecommender(spine)
    fill(rec, users)  # every queue valid
    for p in range(spine.keys.partitions):
        spine.r.delete(spine.keys.dirty(p))
    spine.queue_due(users)  # as an epoch bump leaves them: due now
    filler = QueueFiller(rec, per_s=0.001, batch=len(users) + 1)  # 1 ranking per 1,000 s
    done = threading.Event()

    def one_tick() -> None:
        filler.tick()
        done.set()

    t = threading.Thread(target=one_tick, daemon=True)
    t.start()
    # Nothing needed ranking: the tick is owed no wait (it was owed 20,000 s per 20 users).
    assert done.wait(60), "the filler waited out users it did not rank"
    assert filler.filled == 0


def test_the_filler_runs_at_a_lower_cpu_priority(spine: Spine) -> None:
    """Nearline work yields the CPU to feeds and events: the filler's thread is niced by
    ``queue_filler_nice``, the rest of the process is not."""
    import os
    import threading

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    filler = QueueFiller(StreamRecommender(spine), per_s=1)
    thread = filler.start()
    try:
        for _ in range(100):  # the thread sets its priority first thing
            if os.getpriority(os.PRIO_PROCESS, thread.native_id or 0) != base:
                break
            threading.Event().wait(0.05)
        want = min(19, base + spine.settings.queue_filler_nice)
        assert os.getpriority(os.PRIO_PROCESS, thread.native_id or 0) == want
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
    finally:
        filler.stop()


def test_a_burst_of_events_costs_one_ranking_after_the_delay(spine: Spine, world_s: World) -> None:
    """The filler's debounce: a user's events within ``queue_fill_delay_ms`` make the user due
    once, at the first event's time plus the delay; each event outdates the queue at once (a
    feed meanwhile ranks), and the filler ranks the user once after the delay."""
    uid = world_s.users[3]["id"]
    rec = StreamRecommender(spine)
    fill(rec, [uid])
    for p in range(spine.keys.partitions):
        spine.r.delete(spine.keys.dirty(p))
    vids = [v["id"] for v in world_s.videos if v["status"] == "approved"][:5]
    t = spine.r.time()
    now_ms = t[0] * 1000 + t[1] // 1000
    for i, vid in enumerate(vids):
        ev = {"event_id": f"burst-{i}", "user_id": uid, "kind": "view", "video_id": vid}
        assert append_events(spine, [ev]).accepted == 1
        assert rec.queue.valid([uid], n=10, scenario="default") == [False]  # at once
    first_due = due(spine, uid)
    assert first_due is not None
    delay = spine.settings.queue_fill_delay_ms
    assert now_ms + delay <= first_due < now_ms + delay + 1_000  # the first event's time
    filler = QueueFiller(rec, per_s=1_000)
    if spine.settings.queue_fill_delay_ms >= 200:  # not due yet (unless this was slow)
        t = spine.r.time()
        if t[0] * 1000 + t[1] // 1000 < first_due - 50:
            assert filler.step() == 0 and due(spine, uid) == first_due
    wait_until_due(spine)
    assert filler.step() == 1  # five events, one ranking
    assert filler.filled == 1 and due(spine, uid) is None
    assert rec.queue.valid([uid], n=10, scenario="default") == [True]
    assert from_queue(rec.feed(uid, 10, record=False))
    # An event after the take hands the user over again (nothing lost between take and fill).
    ev = {"event_id": "burst-late", "user_id": uid, "kind": "like", "video_id": vids[0]}
    assert append_events(spine, [ev]).accepted == 1
    assert due(spine, uid) is not None


def test_an_event_of_a_user_without_a_queue_costs_no_ranking(spine: Spine, world_s: World) -> None:
    """A user who read no feed within the queue's TTL has no queue to outdate: the event is
    not handed to the filler, and the user's next feed ranks (and stores the queue)."""
    uid = world_s.users[5]["id"]
    for p in range(spine.keys.partitions):
        spine.r.delete(spine.keys.dirty(p))
    vid = next(v["id"] for v in world_s.videos if v["status"] == "approved")
    ev = {"event_id": "noqueue-1", "user_id": uid, "kind": "like", "video_id": vid}
    assert append_events(spine, [ev]).accepted == 1
    assert due(spine, uid) is None
    rec = StreamRecommender(spine)
    first = rec.feed(uid, 10, record=False)
    assert first.queue == "none" and vid not in {it.video_id for it in first.items}
    assert from_queue(rec.feed(uid, 10, record=False))  # the ranked feed stored its queue


def test_a_queue_running_low_is_due_at_once(spine: Spine, world_s: World) -> None:
    uid = world_s.users[9]["id"]
    rec = StreamRecommender(spine)
    fill(rec, [uid])
    for p in range(spine.keys.partitions):
        spine.r.delete(spine.keys.dirty(p))
    pops = (spine.settings.feed_queue_depth - spine.settings.feed_queue_low) // 10 + 1
    for _ in range(pops):
        assert from_queue(rec.feed(uid, 10))
    # No debounce (the user is reading): due at once, scored with the usable entries left
    # (an estimate, below the mark), not with a time.
    left = due(spine, uid)
    assert left is not None and 0 <= left < spine.settings.feed_queue_low
    assert QueueFiller(rec, per_s=1_000).step() == 1


def test_a_filler_behind_takes_the_users_nearest_to_a_miss_first(
    spine: Spine, world_s: World
) -> None:
    k = spine.keys
    by_part: dict[int, list[str]] = {}
    for u in world_s.users[11:]:
        by_part.setdefault(k.part(u["id"]), []).append(u["id"])
    p, (more, fewer) = next((p, us[:2]) for p, us in sorted(by_part.items()) if len(us) >= 2)
    assert more < fewer  # on equal scores, ZRANGE would give "more" first
    rec = StreamRecommender(spine)
    fill(rec, [more, fewer], skip_valid=False)
    for q in range(k.partitions):
        spine.r.delete(k.dirty(q))

    def read_until_low(uid: str, then: int) -> None:
        for _ in range(spine.settings.feed_queue_depth // 10):
            assert from_queue(rec.feed(uid, 10))
            if due(spine, uid) is not None:
                break
        for _ in range(then):
            assert from_queue(rec.feed(uid, 10))

    read_until_low(more, 0)
    read_until_low(fewer, 1)  # a page further: ten entries fewer left
    left_more, left_fewer = due(spine, more), due(spine, fewer)
    assert left_more is not None and left_fewer is not None
    assert 0 < left_fewer < left_more < spine.settings.feed_queue_low
    # Ids in the other order would come first on equal scores: the scores decide.
    assert spine.take_due(p, 1) == [fewer] and spine.take_due(p, 1) == [more]


def test_a_queue_whose_entries_ran_out_of_budget_is_refilled_before_its_length_says(
    spine: Spine, world_s: World
) -> None:
    """Entries whose budget ran out are passed over: a queue long enough by its length but
    mostly spent is marked running low by the pop that finds it so, and the filler ranks it
    again (its validity check reads the mark, not only the length); a queue as long whose
    entries are all usable is left alone."""
    spent_user, whole_user = world_s.users[9]["id"], world_s.users[10]["id"]
    rec = StreamRecommender(spine)
    fill(rec, [spent_user, whole_user])
    for p in range(spine.keys.partitions):
        spine.r.delete(spine.keys.dirty(p))
    low = spine.settings.feed_queue_low
    ids = queued_ids(spine, spent_user)
    assert len(ids) - 37 >= low and len(queued_ids(spine, whole_user)) - 10 >= low, len(ids)
    whole = rec.feed(whole_user, 10)
    assert from_queue(whole) and due(spine, whole_user) is None
    # Three of every four of the first 40 entries spent: the pop walks 37 entries for 10.
    spine.r.hset(spine.keys.budget, mapping={v: 0 for i, v in enumerate(ids[:40]) if i % 4})
    feed = rec.feed(spent_user, 10)
    assert from_queue(feed) and [i.video_id for i in feed.items] == ids[0:40:4]
    assert len(queued_ids(spine, spent_user)) == len(ids) - 37 >= low  # long enough by length
    assert due(spine, spent_user) == (len(ids) - 37) * 10 // 37  # the usable entries left
    n, sc = spine.settings.feed_default_n, "default"
    assert rec.queue.valid([spent_user, whole_user], n=n, scenario=sc) == [False, True]
    filler = QueueFiller(rec, per_s=1_000)
    assert filler.step() == 1 and filler.filled == 1  # ranked again, not skipped as valid
    assert rec.queue.valid([spent_user], n=n, scenario=sc) == [True]  # the new stamp: no mark
    again = queued_ids(spine, spent_user)
    assert again != ids[37:]  # ranked again, not the remainder
    # The new queue leaves out the entries whose budget ran out (no pop would serve them).
    assert not set(again) & {v for i, v in enumerate(ids[:40]) if i % 4}


def test_a_sync_hands_the_filler_only_users_holding_a_queue(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    """An epoch bump makes due the users whose queue it outdated, not every known user: a
    user who read no feed within the queue's TTL has nothing to refill (the next feed
    ranks), so a sync costs rankings in proportion to the active users, not to all users."""
    holders = [u["id"] for u in world_s.users[40:43]]
    idle = [u["id"] for u in world_s.users[43:46]]
    rec = StreamRecommender(spine)
    fill(rec, holders)
    for uid in idle:  # known to the spine (synced), no queue
        spine.r.delete(spine.keys.user(uid, "q"), spine.keys.user(uid, "qs"))
    for p in range(spine.keys.partitions):
        spine.r.delete(spine.keys.dirty(p))
    held = {x.decode() for p in range(spine.keys.partitions)
            for x in spine.r.zrange(spine.keys.held(p), 0, -1)}  # fmt: skip
    assert set(holders) <= held and not set(idle) & held
    # A queue stored longer ago than the TTL has expired: its user leaves the set.
    old = holders[2]
    spine.r.zadd(spine.keys.held(spine.keys.part(old)), {old: 1})
    sync_lists(loaded_graph, spine)
    assert [due(spine, uid) for uid in holders[:2]] == [0, 0]
    assert due(spine, old) is None
    assert [due(spine, uid) for uid in idle] == [None, None, None]
    assert spine.r.zscore(spine.keys.held(spine.keys.part(old)), old) is None
    # Their next feed ranks and stores a queue, as before.
    assert rec.feed(idle[0], 10, record=False).queue == "none"
    assert idle[0] in {
        x.decode() for x in spine.r.zrange(spine.keys.held(spine.keys.part(idle[0])), 0, -1)
    }
