"""Bad input, keys, pages and a database outage, through the real HTTP app."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Connection, Graph
from graphrec.services.provide import ServerHandle
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key"}


@pytest.fixture
def client(loaded_graph: Graph, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        yield c


def test_unknown_ids_and_bad_parameters(client: TestClient, world_s: World) -> None:
    for path, field in [
        ("/users/nobody/feed", "user_id"),
        ("/users/nobody", "user_id"),
        ("/videos/v-nothing", "video_id"),
        ("/creators/c-nothing", "creator_id"),
    ]:
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["detail"].startswith(f"{field}: unknown"), r.json()
    uid = world_s.users[0]["id"]
    r = client.get(f"/users/{uid}/feed", params={"n": 0})
    assert r.status_code == 422 and "n" in str(r.json()["detail"])
    r = client.get(f"/users/{uid}/feed", params={"n": 51})
    assert r.status_code == 422 and r.json()["detail"].startswith("n:")
    r = client.get(f"/users/{uid}/feed", params={"scenario": "sideways"})
    assert r.status_code == 422 and r.json()["detail"].startswith("scenario:")
    r = client.post("/users", json={"id": "x", "interests": ["nosuchtag"]}, headers=KEY)
    assert r.status_code == 422 and "interests" in r.json()["detail"]
    r = client.post("/users", json={"id": "x", "active_hour": 30}, headers=KEY)
    assert r.status_code == 422 and "active_hour" in str(r.json()["detail"])
    assert client.post("/users", json={"id": uid}, headers=KEY).status_code == 409
    r = client.post(
        "/videos", json={"creator_id": "c-nothing", "caption": "hi #dance"}, headers=KEY
    )
    assert r.status_code == 404
    assert r.json()["detail"] == "creator_id: unknown creator 'c-nothing'"


def test_a_taken_video_id_is_409_and_stores_nothing(client: TestClient, world_s: World) -> None:
    taken = world_s.videos[0]
    before = client.get(f"/videos/{taken['id']}").json()
    creator = world_s.creators[1]["id"]
    r = client.post(
        "/videos",
        json={"id": taken["id"], "creator_id": creator, "caption": "a new #dance"},
        headers=KEY,
    )
    assert r.status_code == 409
    assert r.json()["detail"] == f"id: a video {taken['id']!r} exists already"
    assert client.get(f"/videos/{taken['id']}").json() == before
    assert client.get(f"/creators/{creator}").json()["videos"] == sum(
        v["creator"] == creator for v in world_s.videos
    )


def test_a_cycle_already_running_is_409(client: TestClient, loaded_graph: Graph) -> None:
    # Another cycle (a CLI run, another worker) has begun and not finished.
    begun = loaded_graph.write("pools/cycle_begin", now=int(time.time() * 1000), stale_ms=1)
    assert begun[0]["cycle"] is not None
    r = client.post("/admin/pools/cycle", headers=KEY)
    assert r.status_code == 409
    assert "another pool cycle is running" in r.json()["detail"]


def test_creators_uploads_pages_and_docs(client: TestClient, world_s: World) -> None:
    uid = world_s.users[1]["id"]
    r = client.post("/creators", json={"id": uid, "name": "now posting"}, headers=KEY)
    assert r.status_code == 201 and r.json() == {"creator_id": uid, "is_user": True}
    assert client.get(f"/users/{uid}").json()["is_creator"] is True
    assert client.post("/creators", json={"id": uid}, headers=KEY).status_code == 409
    r = client.post(
        "/videos",
        json={
            "creator_id": uid,
            "caption": "my first #dance",
            "hashtags": ["dance"],
            "duration_ms": 12_000,
        },
        headers=KEY,
    )
    assert r.status_code == 201, r.text
    video = r.json()
    assert video["status"] == "approved" and video["pool"]["id"] == "cold_start"
    assert 200 <= video["pool"]["budget"] <= 300 and "dance" in video["tags"]
    page = client.get(f"/creators/{uid}").json()
    assert page["is_user"] and page["videos"] == 1 and page["recent"][0]["pool"] == "cold_start"
    assert page["spillover"] == []  # no viral video of theirs has lifted anything
    pools = {p["pool_id"] for p in client.get("/pools").json()}
    assert {"review", "cold_start", "boost", "trending", "long_tail"} <= pools
    health = client.get("/health").json()
    assert (health["status"], health["neo4j"], health["redis"]) == ("ok", "up", "up")
    assert {"pending", "lag", "oldest_unapplied_age_ms"} <= set(health["stream"])
    assert client.get("/docs").status_code == 200
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/users/{user_id}/feed", "/events", "/videos", "/admin/pools/cycle"} <= paths


def test_write_and_admin_routes_need_the_key(loaded_graph: Graph, settings: Settings) -> None:
    strict = settings.model_copy(update={"api_read_requires_key": True})
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        for method, path in [
            ("post", "/events"),
            ("post", "/users"),
            ("post", "/creators"),
            ("post", "/videos"),
            ("post", "/admin/pools/cycle"),
            ("post", "/admin/train"),
        ]:
            r = c.request(method.upper(), path, json={})
            assert r.status_code == 401 and "X-API-Key" in r.json()["detail"], path
            r = c.request(method.upper(), path, json={}, headers={"X-API-Key": "wrong"})
            assert r.status_code == 403, path
        assert c.get("/pools").status_code == 200  # reads open by default
        r = c.post("/admin/pools/cycle", headers=KEY)
        assert r.status_code == 200, r.text
        body = r.json()
        cycles = loaded_graph.read("lifecycle/sandbox_cycles")
        assert cycles[-1]["cycle"] == body["cycle"] and cycles[-1]["status"] == "done"
        assert cycles[-1]["moved"] == sum(body["moves"].values())
    with TestClient(create_app(strict, graph=loaded_graph)) as c:
        assert c.get("/pools").status_code == 401
        assert c.get("/pools", headers=KEY).status_code == 200


class Proxy:
    """A TCP relay to Neo4j that can be cut and restored (a database outage)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):  # shutdown wakes the thread blocked in accept()
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns = []


def test_neo4j_down_feeds_and_events_go_on_and_the_graph_catches_up(
    loaded_graph: Graph, neo4j_server: ServerHandle, settings: Settings
) -> None:
    conn = neo4j_server.connection
    host, port = conn.uri.split("://", 1)[1].rsplit(":", 1)
    proxy = Proxy((host, int(port)))
    proxy.start()
    quick = settings.model_copy(update={"neo4j_connection_timeout_s": 0.25})
    direct = Connection(f"bolt://127.0.0.1:{proxy.port}", conn.user, conn.password)
    graph = Graph.connect(direct, settings=quick)
    try:
        with TestClient(create_app(quick, graph=graph)) as c:
            assert c.get("/health").json()["status"] == "ok"
            uid = "u0000001"
            assert c.get(f"/users/{uid}/feed").status_code == 200
            proxy.cut()
            health = c.get("/health")
            assert health.status_code == 200 and health.json()["neo4j"] == "down"
            assert health.json()["status"] == "degraded"
            r = c.get("/pools")  # a page read from the graph: 503 with the reason
            assert r.status_code == 503 and "Neo4j" in r.json()["detail"]
            # Feeds and events keep working from Redis; events wait on the stream.
            served = c.get(f"/users/{uid}/feed")
            assert served.status_code == 200
            vid = served.json()["items"][0]["video_id"]
            r = c.post(
                "/events",
                json=[{"event_id": "o1", "user_id": uid, "kind": "like", "video_id": vid}],
                headers=KEY,
            )
            assert r.status_code == 200 and r.json()["accepted"] == 1
            proxy.start()  # the database is back: no restart, no intervention
            c.app.state.writer.drain()  # type: ignore[attr-defined]
            assert c.get("/health").json()["status"] == "ok"
            rows = graph.read("serving/user_seen", user_id=uid, limit=10_000)
            assert vid in {x["video_id"] for x in rows}
            assert c.get(f"/videos/{vid}").json()["counters"]["likes"] >= 1
    finally:
        proxy.cut()
        graph.close()


def test_redis_down_is_503_with_a_reason(
    loaded_graph: Graph, settings: Settings, tmp_path: Path
) -> None:
    from graphrec.services.redis import provide_redis

    private = settings.model_copy(update={"redis_url": None})  # a Redis of its own to stop
    handle = provide_redis(private, state_dir=tmp_path / "redis", ephemeral_port=True)
    own = settings.model_copy(update={"redis_url": handle.url})
    try:
        with TestClient(create_app(own, graph=loaded_graph)) as c:
            uid = "u0000001"
            assert c.get(f"/users/{uid}/feed").status_code == 200
            handle.close()  # Redis stops: nothing is acknowledged, every answer says why
            like = {"event_id": "rd1", "user_id": uid, "kind": "like", "video_id": "v00000001"}
            for r in (
                c.get(f"/users/{uid}/feed"),
                c.post("/events", json=[like], headers=KEY),
                c.get("/health"),
            ):
                assert r.status_code == 503, r.text
                assert "Redis is unavailable" in r.json()["detail"]
    finally:
        handle.close()
