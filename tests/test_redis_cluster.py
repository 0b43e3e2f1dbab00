"""The serving spine on a real Redis Cluster (three primaries started here, ``redis_cluster``
on): the state spread over the shards, events stored once through the HTTP app, feeds that
reflect them, the graph writer's reads per partition, a node that lost its scripts, a reset
that empties every node, and the feed queues (their pop in three calls: reserve, grant,
record), with the single node's queue tests run again here on the Cluster. Neo4j is the
session's real server, as everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from support.redis_cluster import HOST, local_cluster, wait_for
from test_spine import approved

# The single node's queue tests, collected again in this module: their ``spine`` is this
# module's, on the Cluster.
from test_spine_queue import (  # noqa: F401  (collected by pytest)
    from_queue,
    queued_ids,
    test_a_preview_consumes_nothing,
    test_a_queued_feed_is_the_ranked_feed,
    test_a_sync_hands_the_filler_only_users_holding_a_queue,
    test_an_event_outdates_the_queue_and_the_next_feed_reflects_it,
    test_fifty_concurrent_feeds_from_queues_never_overrun_a_budget,
    test_seen_videos_never_come_back_from_a_queue,
    test_the_filler_recomputes_outdated_queues,
)

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.spine import Spine
from graphrec.spine.append import append_events
from graphrec.spine.state import sync_state
from graphrec.spine.stream import is_cluster
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key"}


@pytest.fixture(scope="module")
def cluster_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    with local_cluster(Path(tmp_path_factory.mktemp("redis-cluster"))) as cluster:
        yield cluster.ports


@pytest.fixture
def nodes(cluster_ports: list[int]) -> Iterator[list[redis.Redis]]:
    """A plain client on each primary, every node emptied first."""
    out = [redis.Redis(host=HOST, port=p) for p in cluster_ports]
    for c in out:
        c.flushall()
    yield out
    for c in out:
        c.close()


@pytest.fixture
def cluster_settings(settings: Settings, cluster_ports: list[int]) -> Settings:
    return settings.model_copy(
        update={"redis_url": f"redis://{HOST}:{cluster_ports[0]}/0", "redis_cluster": True}
    )


@pytest.fixture
def spine(
    loaded_graph: Graph, cluster_settings: Settings, nodes: list[redis.Redis]
) -> Iterator[Spine]:
    """The spine on the Cluster, synced from world S (this module's ``spine``: the queue
    tests imported above run on it)."""
    assert cluster_settings.redis_url is not None
    sp = Spine.connect(cluster_settings.redis_url, cluster_settings)
    sync_state(loaded_graph, sp)
    yield sp
    sp.close()


def graphrec_keys(node: redis.Redis) -> list[bytes]:
    return list(node.scan_iter(match="gr:*", count=1_000))


def test_the_api_on_a_cluster_stores_events_once_and_serves_feeds_that_reflect_them(
    loaded_graph: Graph, cluster_settings: Settings, nodes: list[redis.Redis], world_s: World
) -> None:
    with TestClient(create_app(cluster_settings, graph=loaded_graph)) as client:
        spine: Spine = client.app.state.spine  # type: ignore[attr-defined]
        assert is_cluster(spine.r)
        # The API's start synced the graph into Redis, over every shard: the partitions,
        # each on its own slot, land on more than one node.
        held = [graphrec_keys(n) for n in nodes]
        assert all(held), [len(h) for h in held]
        partitions = [{k.split(b"}")[0] for k in h if k.startswith(b"gr:{p")} for h in held]
        assert sum(1 for p in partitions if p) >= 2, partitions

        uid = world_s.users[5]["id"]
        vid, other = approved(world_s, 2)
        before = client.get(f"/videos/{vid}").json()["counters"]
        tags_key = spine.keys.user(uid, "tags")
        tags_before = {k.decode(): float(v) for k, v in spine.r.hgetall(tags_key).items()}
        batch = [
            {"event_id": "c1", "user_id": uid, "kind": "like", "video_id": vid},
            {"event_id": "c2", "user_id": uid, "kind": "view", "video_id": vid, "watch_ms": 3_000},
            {"event_id": "c3", "user_id": uid, "kind": "share", "video_id": other},
        ]
        r = client.post("/events", json=batch, headers=KEY)
        assert r.status_code == 200, r.text
        assert r.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
        r = client.post("/events", json=batch, headers=KEY)
        assert r.json() == {"accepted": 0, "duplicates": 3, "rejected": []}

        # The next feed reflects the events at once: the liked video's tags weigh more, and
        # the videos engaged with are seen (never served again).
        tags_after = {k.decode(): float(v) for k, v in spine.r.hgetall(tags_key).items()}
        liked_tags = set(next(v["hashtags"] for v in world_s.videos if v["id"] == vid))
        assert any(tags_after[t] > tags_before.get(t, 0.0) for t in liked_tags & set(tags_after))
        feed = client.get(f"/users/{uid}/feed", params={"n": 10})
        assert feed.status_code == 200, feed.text
        served = [it["video_id"] for it in feed.json()["items"]]
        assert len(served) == 10 and not {vid, other} & set(served)

        # The graph writer reads every partition (one XREADGROUP each on a Cluster) and
        # stores each event and each served impression once.
        health = client.get("/health").json()
        assert health["stream"] is not None
        client.app.state.writer.drain()  # type: ignore[attr-defined]
        after = client.get(f"/videos/{vid}").json()["counters"]
        assert after["likes"] == before["likes"] + 1
        assert after["views"] == before["views"] + 1
        assert after["watch_ms"] == before["watch_ms"] + 3_000
        first = served[0]
        shown = client.get(f"/videos/{first}").json()["counters"]["impressions"]
        r = client.post("/events", json=batch, headers=KEY)  # a late retry: nothing moves
        assert r.json()["duplicates"] == 3
        client.app.state.writer.drain()  # type: ignore[attr-defined]
        assert client.get(f"/videos/{vid}").json()["counters"] == after
        assert client.get(f"/videos/{first}").json()["counters"]["impressions"] == shown
        assert client.get("/health").json()["stream"]["pending"] == 0


def test_a_node_that_lost_its_scripts_gets_them_again(
    spine: Spine, nodes: list[redis.Redis], world_s: World
) -> None:
    # A restarted or failed-over primary has no scripts: a Cluster pipeline cannot load
    # them, so the append loads them on every node and runs the refused partitions again.
    for n in nodes:
        n.script_flush()
    uid_of = [u["id"] for u in world_s.users[:40]]
    vid = approved(world_s, 1)[0]
    events = [
        {"event_id": f"lost-{i}", "user_id": u, "kind": "view", "video_id": vid}
        for i, u in enumerate(uid_of)
    ]
    got = append_events(spine, events)
    assert (got.accepted, got.duplicates, got.rejected) == (40, 0, [])
    assert all(n.script_exists(spine.append_script.sha)[0] for n in nodes)
    again = append_events(spine, events)
    assert (again.accepted, again.duplicates) == (0, 40)
    length = sum(
        int(spine.r.xlen(s)) for s in spine.keys.streams()
    )  # each event in the stream once
    assert length == 40


def test_resetting_the_state_empties_every_node(spine: Spine, nodes: list[redis.Redis]) -> None:
    from graphrec.cli.spine_cmd import reset_state

    assert all(graphrec_keys(n) for n in nodes)
    gone = reset_state(spine)
    assert gone > 0
    assert not any(graphrec_keys(n) for n in nodes)


def test_a_cluster_pop_passes_over_spent_budgets_with_its_spares_or_grants_nothing(
    spine: Spine, world_s: World
) -> None:
    """On a Cluster the pop learns of spent budgets after its walk (the budgets are on
    another slot): up to n spent entries are passed over with the n spares it took; more
    spent than that is a ``short`` miss that counts no budget down."""
    from graphrec.spine.feed import StreamRecommender
    from graphrec.spine.queue import fill

    rec = StreamRecommender(spine)
    a, b = world_s.users[12]["id"], world_s.users[13]["id"]
    fill(rec, [a, b])
    ids = queued_ids(spine, a)
    spent = ids[1:8]  # seven of the first page's ten: the spares cover them
    live = ids[8:12]
    spine.r.hset(spine.keys.budget, mapping={**dict.fromkeys(spent, 0), **dict.fromkeys(live, 5)})
    feed = rec.feed(a, 10)
    served = [i.video_id for i in feed.items]
    assert from_queue(feed) and served == [ids[0], *ids[8:17]]
    assert [int(spine.r.hget(spine.keys.budget, v)) for v in live] == [4, 4, 4, 4]
    assert [int(spine.r.hget(spine.keys.budget, v)) for v in spent] == [0] * 7
    # Eleven of the next twenty unseen entries spent: fewer than ten can be granted.
    ids_b = queued_ids(spine, b)
    spine.r.hset(
        spine.keys.budget,
        mapping={**dict.fromkeys(ids_b[:11], 0), **dict.fromkeys(ids_b[11:20], 3)},
    )
    missed = rec.feed(b, 10)
    assert not from_queue(missed) and missed.queue == "short"
    # The pop counted nothing down; the feed ranked instead granted what it served, once.
    shown = {i.video_id for i in missed.items}
    assert not shown & set(ids_b[:11])
    assert [int(spine.r.hget(spine.keys.budget, v)) for v in ids_b[11:20]] == [
        3 - (v in shown) for v in ids_b[11:20]
    ]


def test_a_shard_down_is_a_503_with_a_reason_and_service_resumes_by_itself(
    loaded_graph: Graph, settings: Settings, world_s: World, tmp_path: Path
) -> None:
    """One primary killed (SIGKILL): the events and feeds of the users on its slots answer
    503 with a reason, nothing of theirs is acknowledged; the node started again on its own
    files, the same app serves them again without a restart (its scripts are loaded again,
    the event acknowledged before the kill is still there), and the graph gets each event
    once."""
    with local_cluster(tmp_path / "cluster") as cluster:
        own = settings.model_copy(
            update={"redis_url": f"redis://{HOST}:{cluster.ports[0]}/0", "redis_cluster": True}
        )
        with TestClient(create_app(own, graph=loaded_graph)) as client:
            spine: Spine = client.app.state.spine  # type: ignore[attr-defined]

            def port_of(uid: str) -> int:
                return int(spine.r.get_node_from_key(spine.keys.user(uid, "tags")).port)

            uid = next(u["id"] for u in world_s.users if port_of(u["id"]) == cluster.ports[2])
            vid = approved(world_s, 1)[0]
            views = client.get(f"/videos/{vid}").json()["counters"]["views"]

            def view(eid: str) -> Any:
                event = {"event_id": eid, "user_id": uid, "kind": "view", "video_id": vid}
                return client.post("/events", json=[event], headers=KEY)

            assert view("down-0").json()["accepted"] == 1
            cluster.kill(2)
            for r in (view("down-1"), client.get(f"/users/{uid}/feed", params={"n": 5})):
                assert r.status_code == 503, r.text
                assert "Redis is unavailable" in r.json()["detail"]
            cluster.start(2)
            wait_for(cluster.healthy, "the cluster whole again", timeout_s=60)
            wait_for(lambda: view("down-1").status_code == 200, "events taken again", 60)
            assert view("down-1").json() == {"accepted": 0, "duplicates": 1, "rejected": []}
            assert client.get(f"/users/{uid}/feed", params={"n": 5}).status_code == 200
            client.app.state.writer.drain()  # type: ignore[attr-defined]
            assert client.get(f"/videos/{vid}").json()["counters"]["views"] == views + 2
