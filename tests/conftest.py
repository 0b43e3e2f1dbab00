"""Fixtures: one real Neo4j and one real Redis per test session, a clean graph per test.

The server comes from :func:`graphrec.server.provide_server`, as for the demo: ``NEO4J_URI``
when set, else a testcontainers Neo4j where Docker answers, else a private local server in a
temporary folder on a free port (stopped at the end of the session). Redis likewise comes from
:func:`graphrec.services.redis.provide_redis` (``GRAPHREC_REDIS_URL``, a container, or a
private redis-server with AOF on); the session's settings point at it, and every test that
empties the graph also empties Redis (the online state mirrors the graph).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from graphrec.config import Settings
from graphrec.db import Graph, migrate
from graphrec.server import ServerHandle, provide_server
from graphrec.services.redis import RedisHandle, provide_redis, redis_client
from graphrec.world.generate import World, generate


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    state = tmp_path_factory.mktemp("redis") / "state"
    handle = provide_redis(Settings(environment="test"), state_dir=state, ephemeral_port=True)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def settings(redis_server: RedisHandle) -> Settings:
    return Settings(environment="test", redis_url=redis_server.url)


@pytest.fixture
def redis_db(settings: Settings) -> Iterator[redis.Redis]:
    """The session's Redis, emptied before the test."""
    assert settings.redis_url is not None
    client = redis_client(settings.redis_url, settings)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def neo4j_server(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[ServerHandle]:
    state = tmp_path_factory.mktemp("neo4j") / "state"
    handle = provide_server(settings, state_dir=state, ephemeral_port=True)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def session_graph(neo4j_server: ServerHandle, settings: Settings) -> Iterator[Graph]:
    graph = Graph.connect(neo4j_server.connection, settings=settings)
    migrate(graph, settings=settings)
    yield graph
    graph.close()


@pytest.fixture
def graph(session_graph: Graph, redis_db: redis.Redis) -> Graph:
    """The session's graph, emptied before the test (schema kept), and an empty Redis."""
    session_graph.wipe()
    return session_graph


@pytest.fixture(scope="session")
def world_s() -> World:
    """World S, seed 7: small and deterministic."""
    return generate("S", seed=7)


@pytest.fixture
def loaded_graph(graph: Graph, world_s: World) -> Graph:
    """A clean graph with world S loaded."""
    from graphrec.world.load import load_world

    load_world(graph, world_s)
    return graph


@pytest.fixture
def tmp_world_dir(tmp_path: Path, world_s: World) -> Path:
    from graphrec.world.files import write_world

    folder = tmp_path / "world"
    write_world(world_s, folder)
    return folder
