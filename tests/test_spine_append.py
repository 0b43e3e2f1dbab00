"""``append_events`` writes a user's online state once per batch: the same state as one by one.

``append_events.lua`` writes the stream entry per event but the online state (tag weights,
liked tags, skips, follows, seen bits, the recent list, active_at) per user per batch. These
tests post one batch and, from the same starting state, the same events one at a time, and
compare every key of the users: real Redis, world S synced from real Neo4j.
"""

from __future__ import annotations

from typing import Any

from graphrec.spine.append import append_events, video_facts
from graphrec.spine.store import RECENT, Spine
from graphrec.world.generate import World

NOW = 1_800_000_000_000
STATE = ("tags", "liked", "skips", "follows", "seen", "recent", "meta")


def user_state(spine: Spine, uid: str) -> dict[str, Any]:
    """Every online-state key of the user, read by type (the embedding aside: it steps once
    per batch by design, towards the batch's videos)."""
    r, out = spine.r, {}
    for what in STATE:
        key = spine.keys.user(uid, what)
        kind = r.type(key).decode()
        if kind == "hash":
            out[what] = {k.decode(): v.decode() for k, v in r.hgetall(key).items()}
            out[what].pop("qg", None)  # the user's last stream entry id: checked apart
        elif kind == "list":
            out[what] = [v.decode() for v in r.lrange(key, 0, -1)]
        elif kind == "set":
            out[what] = sorted(v.decode() for v in r.smembers(key))
        elif kind == "string":
            out[what] = r.get(key)
        else:
            out[what] = kind
    return out


def stream_tail(spine: Spine, uid: str, after: str) -> list[dict[str, str]]:
    """The user's partition's stream entries after ``after``: their fields."""
    entries = spine.r.xrange(spine.keys.stream(spine.keys.part(uid)), f"({after}", "+")
    return [{k.decode(): v.decode() for k, v in f.items()} for _, f in entries]


def last_id(spine: Spine, uid: str) -> str:
    got = spine.r.xrevrange(spine.keys.stream(spine.keys.part(uid)), count=1)
    return got[0][0].decode() if got else "0-0"


def test_a_batch_leaves_the_state_that_its_events_one_by_one_leave(
    spine: Spine, world_s: World
) -> None:
    uid, other = world_s.users[5]["id"], world_s.users[6]["id"]
    approved = [v["id"] for v in world_s.videos if v["status"] == "approved"]
    facts = video_facts(spine, approved)
    # Four videos with 2+ tags and no tag in common: each seeded weight below moves only by
    # its own video's events, whatever tags earlier tests or the world gave the catalogue.
    tagged: list[str] = []
    used: set[str] = set()
    for v in approved:
        vt = set(facts[v].get("tags") or [])
        if len(vt) >= 2 and not vt & used and len(tagged) < 4:
            tagged.append(v)
            used |= vt
    assert len(tagged) == 4
    a, b, c, d = tagged
    creator = facts[c]["creator_id"]
    tags = spine.keys.user(uid, "tags")
    # One tag near the upper bound (clamped mid-batch), one near the lower, one with more
    # decimals than Redis keeps: each takes the script's step-by-step path; the rest the sum.
    spine.r.hset(tags, facts[a]["tags"][0], "9.85")
    spine.r.hset(tags, facts[b]["tags"][0], "-4.75")
    spine.r.hset(tags, facts[c]["tags"][0], "0.012345678901234565")
    spine.r.hset(spine.keys.user(uid, "skips"), creator, 1)
    stored = {"event_id": "p-stored", "user_id": uid, "kind": "like", "video_id": d}
    assert append_events(spine, [stored], now=NOW).accepted == 1

    def ev(i: int, kind: str, video: str | None, **more: Any) -> dict[str, Any]:
        e: dict[str, Any] = {"event_id": f"p-{i}", "user_id": uid, "kind": kind, **more}
        if video is not None:
            e["video_id"] = video
        return e

    plan = [
        ("impression", a), ("view", a), ("like", a), ("share", a), ("complete", a),
        ("skip", b), ("skip", b), ("impression", b), ("skip", b),
        ("view", c), ("skip", c), ("view", c), ("comment", c), ("like", c),
        ("view", d), ("like", a), ("view", b), ("complete", c),
    ]  # fmt: skip
    batch = [ev(i, kind, v, at=NOW - 1_000 + i) for i, (kind, v) in enumerate(plan)]
    batch.insert(3, {**batch[1]})  # the same event_id twice inside the batch
    batch.insert(7, {**stored})  # an event already stored
    batch.append(ev(90, "follow", None, creator_id=creator))
    batch.append(ev(91, "follow", d))
    batch.append(ev(92, "view", a, watch_ms=4_000))  # no ``at``: the server's now
    # Another user's events interleaved: a batch holds many users.
    for i, v in enumerate((a, b, a)):
        batch.insert(2 * i + 1, {"event_id": f"q-{i}", "user_id": other, "kind": "like",
                                 "video_id": v})  # fmt: skip

    users = (uid, other)
    keys = [spine.keys.user(u, w) for u in users for w in (*STATE, "emb")]
    saved = {k: spine.r.dump(k) for k in keys}
    mark = {u: last_id(spine, u) for u in users}

    got = append_events(spine, batch, now=NOW)
    assert (got.accepted, got.duplicates, got.rejected) == (len(batch) - 2, 2, [])
    after_batch = {u: user_state(spine, u) for u in users}
    entries_batch = {u: stream_tail(spine, u, mark[u]) for u in users}
    qg_batch = {u: spine.r.hget(spine.keys.user(u, "meta"), "qg") for u in users}
    assert all(qg_batch[u] == last_id(spine, u).encode() for u in users)

    # The same start again: the keys restored, the batch's new dedup keys dropped.
    for k, blob in saved.items():
        spine.r.delete(k)
        if blob is not None:
            spine.r.restore(k, 0, blob)
    for e in batch:
        if e["event_id"] != "p-stored":
            spine.r.delete(spine.keys.prefix(spine.keys.part(e["user_id"])) + f"ev:{e['event_id']}")
    mark = {u: last_id(spine, u) for u in users}
    accepted = duplicates = 0
    for e in batch:
        one = append_events(spine, [e], now=NOW)
        assert one.rejected == []
        accepted, duplicates = accepted + one.accepted, duplicates + one.duplicates
    assert (accepted, duplicates) == (got.accepted, got.duplicates)
    for u in users:
        assert user_state(spine, u) == after_batch[u]
        assert stream_tail(spine, u, mark[u]) == [
            {k: v for k, v in f.items()} for f in entries_batch[u]
        ]
        assert spine.r.hget(spine.keys.user(u, "meta"), "qg") == last_id(spine, u).encode()
    state = after_batch[uid]
    assert all(len(set(after_batch[u]["recent"])) == len(after_batch[u]["recent"]) for u in users)
    assert state["tags"][facts[a]["tags"][0]] == "10"  # clamped at the bound
    assert state["recent"][:4] == [a, c, b, d]  # most recently engaged first, once each
    assert creator in state["follows"]


def test_a_partition_with_thousands_of_users_in_one_batch_checks_each(
    spine: Spine, world_s: World
) -> None:
    """The script checks a batch's users 1,000 at a time: Lua's unpack refuses ~8,000 values
    at once, and a batch may hold 10,000 events of as many users in one partition. Known users
    anywhere in the batch are accepted, unknown ones refused, in their places."""
    uid = world_s.users[7]["id"]
    part = spine.keys.part(uid)
    video = next(v["id"] for v in world_s.videos if v["status"] == "approved")
    ghosts = [g for g in (f"ghost-{i}" for i in range(20 * 8_500)) if spine.keys.part(g) == part]
    ghosts = ghosts[:8_500]
    assert len(ghosts) == 8_500

    def ev(i: int, user: str) -> dict[str, Any]:
        return {"event_id": f"big-{i}", "user_id": user, "kind": "view", "video_id": video}

    batch = [ev(i, g) for i, g in enumerate(ghosts)]
    batch.insert(8_200, ev(9_000, uid))  # a known user past the first 8,000
    batch.insert(10, ev(9_001, uid))  # and within the first 1,000
    before = spine.r.xlen(spine.keys.stream(part))
    got = append_events(spine, batch, now=NOW)
    assert got.accepted == 2
    assert len(got.rejected) == 8_500
    refused = {i for i, _ in got.rejected}
    assert 10 not in refused and 8_201 not in refused
    assert all("unknown user" in why for _, why in got.rejected)
    assert spine.r.xlen(spine.keys.stream(part)) == before + 2


def test_a_video_already_in_the_recent_list_moves_to_its_head_once(
    spine: Spine, world_s: World
) -> None:
    """A video the user engaged with before (synced from the graph, or appended) is found in
    the recent list and moved to its head, never listed twice; a new one is pushed, and the
    list is cut to its length only when the push took it past that."""
    r = spine.r
    uid = next(
        u["id"] for u in world_s.users[10:] if r.llen(spine.keys.user(u["id"], "recent")) >= 3
    )
    key = spine.keys.user(uid, "recent")
    before = [v.decode() for v in r.lrange(key, 0, -1)]
    oldest = before[-1]
    got = append_events(spine, [{"event_id": "mv-1", "user_id": uid, "kind": "view",
                                 "video_id": oldest}], now=NOW)  # fmt: skip
    assert got.accepted == 1
    after = [v.decode() for v in r.lrange(key, 0, -1)]
    assert after == [oldest, *before[:-1]]
    approved = [v["id"] for v in world_s.videos if v["status"] == "approved"]
    fresh = next(v for v in approved if v not in before)
    got = append_events(spine, [{"event_id": "mv-2", "user_id": uid, "kind": "like",
                                 "video_id": fresh}], now=NOW)  # fmt: skip
    assert got.accepted == 1
    assert [v.decode() for v in r.lrange(key, 0, -1)] == [fresh, *after][:RECENT]
