"""Fixtures: one real Neo4j and one real Redis per test session, a clean graph per test.

The server comes from :func:`graphrec.services.provide.provide_server`, as for the demo: ``NEO4J_URI``
when set, else a testcontainers Neo4j where Docker answers, else a private local server in a
temporary folder on a free port (stopped at the end of the session). Redis likewise comes from
:func:`graphrec.services.redis.provide_redis` (``GRAPHREC_REDIS_URL``, a container, or a
private redis-server with AOF on); the session's settings point at it, and every test that
empties the graph also empties Redis (the online state mirrors the graph).

Order-independent state: a test that needs an empty graph takes ``graph`` (wiped before it);
a costly state several tests read (world S with its pool cycles, a trained model, a simulated
day) comes from :meth:`SharedGraph.holding`, which builds it on an empty graph and builds it
again whenever another test has emptied or changed the graph in between. So a test sees the
same graph whatever ran before it, and in the usual order each state is built once.

Queries only the tests run (scaffolding such as ``lifecycle/sandbox_videos``, state checks
such as ``world/check_counters``) live in ``tests/cypher/``, registered here beside
``cypher/``; production reads ``cypher/`` only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from support.shared import SharedGraph

from graphrec import cypher
from graphrec.config import Settings
from graphrec.db import Graph, migrate
from graphrec.lifecycle.cycle import CycleReport
from graphrec.services.provide import ServerHandle, provide_server
from graphrec.services.redis import RedisHandle, provide_redis, redis_client
from graphrec.spine import Spine
from graphrec.world.generate import World, generate

TEST_QUERIES = Path(__file__).resolve().parent / "cypher"
cypher.add_root(TEST_QUERIES)


@pytest.fixture(autouse=True)
def no_consumer_outlives_its_test() -> Iterator[None]:
    """A stream consumer (graph writer, filler, online trainer) a test or its app started
    must be stopped by the end of the test: one left running writes into the next test's
    graph (a wipe then meets its transactions)."""
    yield
    from graphrec.spine.stream import running_loops

    leaked = [x for x in running_loops() if not x.stopping]
    for loop in leaked:
        loop.stop()
    assert not leaked, f"stream consumers never stopped: {[x.thread_name for x in leaked]}"
    # A stopped loop ends after its current tick (a large batch on a busy machine: seconds).
    deadline = time.monotonic() + 120
    while running_loops() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [x.thread_name for x in running_loops()]
    assert not left, f"stream consumers still running 120 s after their stop: {left}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    state = tmp_path_factory.mktemp("redis") / "state"
    handle = provide_redis(Settings(environment="test"), state_dir=state, ephemeral_port=True)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def settings(redis_server: RedisHandle, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Models (the LightGCN checkpoint, the learned feed ranker beside it) go to a temporary
    # folder, never the repository's out/.
    model = tmp_path_factory.mktemp("model") / "lightgcn.pt"
    return Settings(environment="test", redis_url=redis_server.url, learn_checkpoint=model)


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


@pytest.fixture(scope="session")
def shared_graph(session_graph: Graph) -> SharedGraph:
    return SharedGraph(session_graph)


@pytest.fixture
def graph(shared_graph: SharedGraph, redis_db: redis.Redis) -> Graph:
    """The session's graph, emptied before the test (schema kept), and an empty Redis."""
    return shared_graph.wipe()


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
def spine(loaded_graph: Graph, settings: Settings, redis_db: redis.Redis) -> Iterator[Spine]:
    """The serving spine on a clean Redis, its state synced from world S's graph."""
    from graphrec.spine.state import sync_state

    assert settings.redis_url is not None
    sp = Spine.connect(settings.redis_url, settings)
    sync_state(loaded_graph, sp)
    yield sp
    sp.close()


@pytest.fixture
def tmp_world_dir(tmp_path: Path, world_s: World) -> Path:
    from graphrec.world.files import write_world

    folder = tmp_path / "world"
    write_world(world_s, folder)
    return folder


@dataclass
class AnalystWorld:
    graph: Graph
    cycles: list[CycleReport]


@pytest.fixture
def analyst_world(shared_graph: SharedGraph, world_s: World, settings: Settings) -> AnalystWorld:
    """World S with its users in their true interest communities (as training would put
    them) and two pool cycles run by the lifecycle (at its clock, then 10 days later), so the
    analysts' queries over communities and the pool history have real data to read."""

    def build(graph: Graph) -> AnalystWorld:
        from graphrec.lifecycle.cycle import run_cycle
        from graphrec.world.load import load_world

        load_world(graph, world_s)
        truth = world_s.latent["user_community"]
        rows = [
            {"user": u["id"], "community": f"k{int(truth[i])}", "score": 1.0}
            for i, u in enumerate(world_s.users)
        ]
        graph.write("lifecycle/sandbox_members", rows=rows)
        day = 86_400_000
        cycles = [
            run_cycle(graph, settings=settings, now=world_s.now_ms),
            run_cycle(graph, settings=settings, now=world_s.now_ms + 10 * day),
        ]
        return AnalystWorld(graph, cycles)

    return shared_graph.holding("analyst: world S, true communities, two cycles", build)


@pytest.fixture
def world_graph(analyst_world: AnalystWorld) -> Graph:
    return analyst_world.graph


@pytest.fixture
def cycles(analyst_world: AnalystWorld) -> list[CycleReport]:
    return analyst_world.cycles
