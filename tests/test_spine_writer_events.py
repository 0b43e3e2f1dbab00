"""The graph writer's event statements against the ones it replaced (real Neo4j, world S): the
same stream entries applied by the old statements (serving/ingest_events, then
serving/update_profiles) and by :func:`graphrec.spine.writer.apply_events` leave the same
graph: relationships and their properties, video counters, creators' followers, tag weights
(to the last float, clamps included), online embeddings, last_active_at; duplicates and
unknowns come back the same. Each side runs in its own transaction, rolled back, from the same
start."""

from __future__ import annotations

import random
from typing import Any

from graphrec.db import Graph
from graphrec.events import MAX_WEIGHT, MIN_WEIGHT, profile_rows
from graphrec.spine.stream import Entry
from graphrec.spine.writer import _rows, apply_events, apply_served, user_chunks
from graphrec.world.generate import World

T = 1_900_000_000_000
RATE = 0.2


def entry(n: int, kind: str, user: str, video: str | None, **more: Any) -> Entry:
    """A stream entry as serving/append writes one (ids, at as strings)."""
    f = {"k": kind, "id": more.pop("id", f"e{n}"), "u": user, "at": str(T + n)}
    if video is not None:
        f["v"] = video
    f.update({k: str(v) for k, v in more.items()})
    return Entry("s", f"{T + n}-0", f)


def old_apply(tx: Any, entries: list[Entry]) -> dict[str, Any]:
    """What the writer ran before: one ingest statement, one profile statement."""
    from graphrec.db import run_in

    served, events, models = _rows(entries)
    events.sort(key=lambda r: (r["video_id"] or "", r["user_id"], r["event_id"]))
    out: dict[str, Any] = {"served": apply_served(tx, served)}
    grouped = {g["status"]: sorted(g["rows"]) for g in
               run_in(tx, "serving/ingest_events", rows=events, any_type=False)}  # fmt: skip
    ok = set(grouped.get("accepted", ()))
    stored = [m for i, m in enumerate(models) if i in ok]
    if stored:
        run_in(tx, "serving/update_profiles", rows=profile_rows(stored, T), rate=RATE,
               min_weight=MIN_WEIGHT, max_weight=MAX_WEIGHT)  # fmt: skip
    out["statuses"] = grouped
    return out


def new_apply(tx: Any, entries: list[Entry]) -> dict[str, Any]:
    """What the writer runs now (:func:`graphrec.spine.writer.apply_entries`): chunks of a few
    users' entries (40 here: several per batch), :func:`apply_events` each, one after another
    (in one transaction here, so that it can be rolled back)."""
    out = {"served": 0, "events": 0, "duplicates": 0}
    chunks = user_chunks(entries, limit=40)
    assert len(chunks) > 3
    for chunk in chunks:
        served, events, models = _rows(chunk)
        got = apply_events(tx, served, events, models, rate=RATE, now=T)
        out = {k: out[k] + got[k] for k in out}
    return out


SNAPSHOT = [
    "MATCH (u:User) WHERE u.id IN $users RETURN 'user' AS what, u.id AS id, "
    "properties(u) AS props ORDER BY id",
    "MATCH (v:Video) WHERE v.id IN $videos RETURN 'video' AS what, v.id AS id, "
    "properties(v) AS props ORDER BY id",
    "MATCH (c:Creator) RETURN 'creator' AS what, c.id AS id, properties(c) AS props ORDER BY id",
    "MATCH (u:User)-[r]->(x) WHERE u.id IN $users RETURN type(r) AS what, "
    "[u.id, x.id] AS id, properties(r) AS props",
]


def snapshot(tx: Any, users: list[str], videos: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for q in SNAPSHOT:
        out += [r.data() for r in tx.run(q, users=users, videos=videos)]
    return sorted(out, key=lambda r: (r["what"], str(r["id"]), repr(sorted(r["props"].items()))))


def scenario(world: World) -> tuple[list[list[Entry]], list[str], list[str], dict[str, Any]]:
    """Batches exercising every branch: each kind, a served SAW stamped by an impression, follows
    by creator and by video (and again), repeats across batches, unknown user/video/creator,
    a tag pushed past the clamp and back, videos with and without embeddings."""
    rng = random.Random(3)
    users = [u["id"] for u in world.users[:12]]
    approved = [v for v in world.videos if v["status"] == "approved"]
    videos = [v["id"] for v in approved[:30]]
    creator = world.videos[0]["creator"]
    kinds = ["view", "complete", "like", "comment", "share", "skip", "impression", "follow"]
    n = 0
    first: list[Entry] = []
    for _ in range(300):
        n += 1
        kind = rng.choice(kinds)
        u, v = rng.choice(users), rng.choice(videos)
        more: dict[str, Any] = {}
        if kind in ("view", "skip"):
            more["wm"] = rng.randrange(300, 30_000)
        if kind == "follow" and rng.random() < 0.5:
            first.append(entry(n, kind, u, None, c=creator))
            continue
        first.append(entry(n, kind, u, v, **more))
    # Twenty likes of one video then skips: its tags' weights hit MAX_WEIGHT, then step down.
    hot_user, hot_video = users[0], videos[0]
    for _ in range(20):
        n += 1
        first.append(entry(n, "like", hot_user, hot_video))
    for _ in range(3):
        n += 1
        first.append(entry(n, "skip", hot_user, hot_video, wm=400))
    first.append(entry(n + 1, "view", "no-such-user", videos[1], wm=500))
    first.append(entry(n + 2, "like", users[1], "no-such-video"))
    first.append(entry(n + 3, "follow", users[1], None, c="no-such-creator"))
    n += 3
    # The second batch: replays of the first (a consumer killed after commit), new events on
    # the same users and videos (weights move from where the first left them).
    second = first[::7] + [
        entry(n + i, rng.choice(kinds[:6]), rng.choice(users), rng.choice(videos), wm=1000)
        for i in range(1, 120)
    ]
    served = Entry("s", f"{T}-0", {"k": "served", "u": users[2], "at": str(T), "f": "feed1",
                                   "v": ",".join(videos[:5])})  # fmt: skip
    first = [served, *first]
    first.append(entry(n + 500, "impression", users[2], videos[1]))  # stamps the served SAW
    return [first, second], [*users, "no-such-user"], [*videos, "no-such-video"], {}


def embed(tx: Any, videos: list[str], users: list[str]) -> None:
    """Embeddings on half the videos and a learned one on some users (the rest have none)."""
    from graphrec.config import get_settings

    dim = get_settings().embedding_dim
    rng = random.Random(5)
    for v in videos[::2]:
        tx.run("MATCH (v:Video {id: $id}) SET v.embedding = $e", id=v,
               e=[rng.uniform(-1, 1) for _ in range(dim)]).consume()  # fmt: skip
    for u in users[:4]:
        tx.run("MATCH (u:User {id: $id}) SET u.embedding = $e", id=u,
               e=[rng.uniform(-1, 1) for _ in range(dim)]).consume()  # fmt: skip


def run_side(graph: Graph, apply: Any, batches: list[list[Entry]], users: list[str],
             videos: list[str]) -> tuple[list[Any], list[dict[str, Any]]]:  # fmt: skip
    with graph.driver.session(database=graph.database) as session:
        tx = session.begin_transaction()
        try:
            embed(tx, videos, users)
            results = [apply(tx, b) for b in batches]
            return results, snapshot(tx, users, videos)
        finally:
            tx.rollback()


def test_the_writer_leaves_the_graph_the_old_statements_left(
    loaded_graph: Graph, world_s: World
) -> None:
    batches, users, videos, _ = scenario(world_s)
    old, old_graph = run_side(loaded_graph, old_apply, batches, users, videos)
    new, new_graph = run_side(loaded_graph, new_apply, batches, users, videos)
    # The same counts: accepted, duplicates (the replayed second batch), served SAWs.
    for o, n in zip(old, new, strict=True):
        assert n["served"] == o["served"]
        assert n["events"] == len(o["statuses"].get("accepted", []))
        assert n["duplicates"] == len(o["statuses"].get("duplicate", []))
    assert old[0]["statuses"].get("unknown user") and old[0]["statuses"].get("unknown video")
    assert old[1]["statuses"].get("duplicate")
    # Something moved, of every kind the comparison covers.
    whats = {r["what"] for r in new_graph}
    assert {"INTERESTED_IN", "VIEWED", "LIKED", "SKIPPED", "SAW", "FOLLOWS"} <= whats
    embedded = [r for r in new_graph if r["what"] == "user" and "online_embedding" in r["props"]]
    assert embedded
    weights = [r["props"]["weight"] for r in new_graph if r["what"] == "INTERESTED_IN"]
    assert MAX_WEIGHT - 0.3 in weights or any(w < MAX_WEIGHT for w in weights)
    assert new_graph == old_graph  # exactly: floats to the last bit


def test_user_chunks_keep_each_users_entries_together_in_stream_order() -> None:
    entries = [entry(n, "view", f"u{n % 7}", "v1") for n in range(100)]
    chunks = user_chunks(entries, limit=30)
    assert sorted(e.id for c in chunks for e in c) == sorted(e.id for e in entries)  # each once
    assert all(len(c) <= 30 for c in chunks) and len(chunks) > 1
    for c in chunks:
        for u in {e.fields["u"] for e in c}:
            mine = [e.id for e in entries if e.fields["u"] == u]
            assert [e.id for e in c if e.fields["u"] == u] == mine  # all of them, in order
    big = [entry(n, "view", "u1", "v1") for n in range(50)]  # one user over the limit: whole
    assert [len(c) for c in user_chunks(big, limit=30)] == [50]


def test_the_apply_benchmark_makes_entries_as_the_events_api_appends_them() -> None:
    from graphrec.bench.apply import event_entries

    entries = event_entries(["u1", "u2"], ["v1", "v2", "v3"], n=400, rng=random.Random(0),
                            tag="t", at=T)  # fmt: skip
    served, events, models = _rows(entries)
    assert not served and len(events) == len(models) == 400  # ids unique, none served
    kinds = {m.kind.value for m in models}
    assert kinds == {"view", "complete", "like", "skip", "share", "comment"}
    assert all(("wm" in e.fields) == (e.fields["k"] in ("view", "skip")) for e in entries)
