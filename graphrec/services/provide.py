"""Finding a real Neo4j: ``NEO4J_URI``, else a container, else the locally launched server.

The demo, the tests and CI all call :func:`provide_server`, so they reach Neo4j the same way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from graphrec.config import Settings, get_settings
from graphrec.db import Connection, connection_from_settings
from graphrec.services.neo4j import LocalNeo4j
from graphrec.services.processes import free_port

log = logging.getLogger(__name__)

Backend = Literal["uri", "docker", "local"]


@dataclass
class ServerHandle:
    """A reachable server and how it was obtained; ``close`` stops what we started."""

    connection: Connection
    backend: Backend
    _stop: Any = field(default=None, repr=False)

    def close(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def docker_available(timeout_s: float = 3.0) -> bool:
    """True when a Docker engine answers (testcontainers can then run Neo4j)."""
    try:
        import docker  # testcontainers depends on it

        client = docker.from_env(timeout=int(timeout_s))  # type: ignore[attr-defined]
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _start_container(settings: Settings) -> ServerHandle:
    from testcontainers.community.neo4j import Neo4jContainer

    password = settings.neo4j_password.get_secret_value()
    container = Neo4jContainer(image=settings.neo4j_image, password=password)
    container.with_env("NEO4J_PLUGINS", '["apoc"]')
    container.with_env("NEO4J_server_memory_heap_max__size", settings.local_heap)
    container.with_env("NEO4J_server_memory_pagecache_size", settings.local_pagecache)
    container.start()
    host = container.get_container_host_ip()
    port = container.get_exposed_port(7687)
    conn = Connection(uri=f"neo4j://{host}:{port}", user="neo4j", password=password)
    return ServerHandle(conn, "docker", container.stop)


def provide_server(
    settings: Settings | None = None,
    *,
    state_dir: Path | None = None,
    ephemeral_port: bool = False,
) -> ServerHandle:
    """A running Neo4j, found or started in the documented order.

    ``state_dir`` and ``ephemeral_port`` let tests run a private local server beside a
    developer's own; a local server started here is stopped by ``close`` only when
    ``state_dir`` was given (the default one is meant to outlive the process).
    """
    s = settings or get_settings()
    conn = connection_from_settings(s)
    if conn is not None:
        return ServerHandle(conn, "uri")
    if s.neo4j_backend in ("auto", "docker") and docker_available():
        log.info("starting Neo4j %s with testcontainers", s.neo4j_image)
        return _start_container(s)
    if s.neo4j_backend == "docker":
        from graphrec.errors import ConfigError

        raise ConfigError("GRAPHREC_NEO4J_BACKEND=docker but no Docker engine answers")
    overrides: dict[str, object] = {}
    if state_dir is not None:
        overrides["state_dir"] = state_dir
    if ephemeral_port:
        overrides["port"] = free_port(s.local_host)
    server = LocalNeo4j.from_settings(s, **overrides)
    conn = server.start()
    return ServerHandle(conn, "local", server.stop if state_dir is not None else None)


@contextlib.contextmanager
def running_server(settings: Settings | None = None, **kwargs: Any) -> Iterator[ServerHandle]:
    handle = provide_server(settings, **kwargs)
    try:
        yield handle
    finally:
        handle.close()
