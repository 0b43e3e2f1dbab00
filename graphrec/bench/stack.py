"""A private Neo4j, Redis and ``graphrec serve`` for benchmarks that kill or soak servers.

Each server runs from its own temporary state directory on a free port, so killing one
never touches a developer's or another run's servers. World S is loaded and Redis is filled
from the graph by the API at start (state sync).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from graphrec.config import Settings, get_settings
from graphrec.db import Graph, migrate
from graphrec.services.neo4j import LocalNeo4j
from graphrec.services.processes import free_port
from graphrec.services.redis import LocalRedis


@dataclass
class Stack:
    """The servers under test and where they answer."""

    settings: Settings
    neo4j: LocalNeo4j
    redis: LocalRedis
    graph: Graph
    redis_url: str
    uri: str
    user: str
    password: str

    def pids(self) -> dict[str, int | None]:
        return {"neo4j": self.neo4j.running_pid(), "redis": self.redis.running_pid()}


@contextmanager
def private_stack(size: str = "S", seed: int = 0) -> Iterator[Stack]:
    """Start Neo4j and Redis in a temporary folder, migrate, load world ``size``."""
    from graphrec.world.generate import generate
    from graphrec.world.load import load_world

    s = get_settings()
    with tempfile.TemporaryDirectory(prefix="graphrec-bench-") as tmp:
        root = Path(tmp)
        neo4j = LocalNeo4j.from_settings(s, state_dir=root / "neo4j", port=free_port(s.local_host))
        redis = LocalRedis.from_settings(s, state_dir=root / "redis", port=free_port(s.local_host))
        conn = neo4j.start()
        redis_url = redis.start()
        graph = Graph.connect(conn, settings=s)
        try:
            migrate(graph, settings=s)
            load_world(graph, generate(size, seed))
            yield Stack(s, neo4j, redis, graph, redis_url, conn.uri, conn.user, conn.password)
        finally:
            graph.close()
            redis.stop()
            neo4j.stop()


@contextmanager
def api_env(stack: Stack) -> Iterator[None]:
    """The environment ``graphrec serve`` reads, pointed at the stack (restored after)."""
    keep = {k: os.environ.get(k) for k in ("GRAPHREC_REDIS_URL",)}
    os.environ["GRAPHREC_REDIS_URL"] = stack.redis_url
    try:
        yield
    finally:
        for k, v in keep.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def rss_mib(pids: dict[str, int | None]) -> dict[str, Any]:
    """Resident memory (MiB) of each named process and its children."""
    out: dict[str, Any] = {}
    for name, pid in pids.items():
        if pid is None:
            out[name] = None
            continue
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
            out[name] = {
                str(p.pid): round(p.memory_info().rss / 2**20, 1) for p in procs if p.is_running()
            }
        except psutil.Error:
            out[name] = None
    return out
