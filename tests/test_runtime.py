"""The locally launched Neo4j: start, stop, restart with data kept, clear failures."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from graphrec.config import Settings
from graphrec.db import Graph, migrate
from graphrec.errors import ConfigError, ServerStartError
from graphrec.services.neo4j import LocalNeo4j
from graphrec.services.processes import free_port
from graphrec.services.provide import ServerHandle

pytestmark = pytest.mark.slow


def _local(tmp_path: Path, settings: Settings, **kw: object) -> LocalNeo4j:
    return LocalNeo4j.from_settings(settings, state_dir=tmp_path / "state", port=free_port(), **kw)


def test_restart_keeps_data(tmp_path: Path, settings: Settings, neo4j_server: ServerHandle) -> None:
    if neo4j_server.backend != "local":
        pytest.skip("the local launcher is exercised only where it is the backend")
    server = _local(tmp_path, settings)
    try:
        conn = server.start()
        assert server.status()["ready"]
        with Graph.connect(conn, settings=settings) as g:
            migrate(g, settings=settings)
            g.write("world/merge_categories", rows=[{"id": "dance", "name": "dance"}])
            assert g.read("admin/apoc_version")[0]["version"].startswith("5.26")
        assert server.start() == conn  # a second start finds it running
        assert server.stop()
        assert not server.status()["running"]
        assert not server.stop()  # stopping a stopped server is harmless
        conn = server.start()
        with Graph.connect(conn, settings=settings) as g:
            rows = g.read("world/summary")
            counts = {r["name"]: r["count"] for r in rows if r["kind"] == "node"}
            assert counts["Category"] == 1
    finally:
        server.stop()


def test_port_in_use_is_a_clear_error(tmp_path: Path, settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        server = LocalNeo4j.from_settings(settings, state_dir=tmp_path / "s", port=port)
        with pytest.raises(ServerStartError, match=f"port 127.0.0.1:{port} is already in use"):
            server.start()


def test_missing_java_is_a_clear_error(tmp_path: Path, settings: Settings) -> None:
    server = _local(tmp_path, settings, java=str(tmp_path / "no-such-java"))
    with pytest.raises(ConfigError, match="Java was not found"):
        server.start()


def test_server_that_dies_while_starting_reports_its_log(
    tmp_path: Path, settings: Settings
) -> None:
    fake = tmp_path / "java"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = "-version" ]; then echo \'openjdk version "17.0.1"\' >&2; exit 0; fi\n'
        'echo "boom: cannot start" ; exit 3\n'
    )
    fake.chmod(0o755)
    server = _local(tmp_path, settings, java=str(fake), start_timeout_s=30)
    with pytest.raises(ServerStartError, match=r"exited while starting(.|\n)*boom: cannot start"):
        server.start()
    assert not server.status()["running"]
