"""The serving spine on a real Redis Cluster (three primaries started here, ``redis_cluster``
on): the state spread over the shards, events stored once through the HTTP app, feeds that
reflect them, the graph writer's reads per partition, a node that lost its scripts, and a
reset that empties every node. Neo4j is the session's real server, as everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from support.redis_cluster import HOST, local_cluster

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
    with local_cluster(Path(tmp_path_factory.mktemp("redis-cluster"))) as ports:
        yield ports


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
def cluster_spine(
    loaded_graph: Graph, cluster_settings: Settings, nodes: list[redis.Redis]
) -> Iterator[Spine]:
    assert cluster_settings.redis_url is not None
    sp = Spine.connect(cluster_settings.redis_url, cluster_settings)
    sync_state(loaded_graph, sp)
    yield sp
    sp.close()


def graphrec_keys(node: redis.Redis) -> list[bytes]:
    return list(node.scan_iter(match="gr:*", count=1_000))


def approved(world: World, k: int) -> list[str]:
    return [v["id"] for v in world.videos if v["status"] == "approved"][:k]


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
    cluster_spine: Spine, nodes: list[redis.Redis], world_s: World
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
    got = append_events(cluster_spine, events)
    assert (got.accepted, got.duplicates, got.rejected) == (40, 0, [])
    assert all(n.script_exists(cluster_spine.append_script.sha)[0] for n in nodes)
    again = append_events(cluster_spine, events)
    assert (again.accepted, again.duplicates) == (0, 40)
    length = sum(
        int(cluster_spine.r.xlen(s)) for s in cluster_spine.keys.streams()
    )  # each event in the stream once
    assert length == 40


def test_resetting_the_state_empties_every_node(
    cluster_spine: Spine, nodes: list[redis.Redis]
) -> None:
    from graphrec.cli.spine_cmd import reset_state

    assert all(graphrec_keys(n) for n in nodes)
    gone = reset_state(cluster_spine)
    assert gone > 0
    assert not any(graphrec_keys(n) for n in nodes)
