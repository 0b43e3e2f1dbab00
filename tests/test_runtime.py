"""The locally launched Neo4j: start, stop, restart with data kept, clear failures."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from graphrec.config import Settings
from graphrec.db import Graph, migrate
from graphrec.errors import ConfigError, ServerStartError
from graphrec.services.neo4j import LocalNeo4j
from graphrec.services.processes import free_port, lower_group, niced, priority
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
        st = server.status()
        assert st["ready"]
        assert st["nice"] == min(19, os.getpriority(os.PRIO_PROCESS, 0) + settings.local_nice)
        if _autogroups():
            assert st["group_nice"] == settings.local_nice
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


def _autogroups() -> bool:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


@pytest.mark.parametrize("nice", [19, 0])
def test_the_server_runs_at_its_priority_in_a_group_of_its_own(
    tmp_path: Path, settings: Settings, nice: int
) -> None:
    # A stand-in "java" that reports its own nice value and scheduler group, then exits: the
    # launcher's error quotes its log, so the priority it was started with is seen from inside.
    fake = tmp_path / "java"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = "-version" ]; then echo \'openjdk version "17.0.1"\' >&2; exit 0; fi\n'
        'sleep 1; echo "niceness $(nice)"; cat /proc/self/autogroup 2>/dev/null; exit 3\n'
    )
    fake.chmod(0o755)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    server = _local(tmp_path, settings, java=str(fake), start_timeout_s=30, nice=nice)
    with pytest.raises(ServerStartError) as err:
        server.start()
    text = str(err.value)
    assert f"niceness {min(19, mine + nice)}\n" in text
    if _autogroups():
        group = re.search(r"/autogroup-(\d+) nice (\d+)", text)
        assert group is not None, text
        assert int(group.group(2)) == nice
        # pytest's own group: the file is empty where pytest runs in the root group (a
        # container's first session, as on CI), which is no autogroup and so never the server's
        own = re.search(r"/autogroup-(\d+)", Path("/proc/self/autogroup").read_text())
        assert own is None or own.group(1) != group.group(1)  # its own session's group


def test_priority_helpers_on_a_child(tmp_path: Path) -> None:
    assert niced(["sleep", "1"], 0) == ["sleep", "1"]
    ours = priority(os.getpid())["group_nice"]
    proc = subprocess.Popen(niced(["sleep", "30"], 5), start_new_session=True)
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        for _ in range(200):  # `nice` sets the priority, then runs sleep in its place
            if Path(f"/proc/{proc.pid}/comm").read_text().strip() == "sleep":
                break
            time.sleep(0.01)
        applied = lower_group(proc.pid, 7)
        got = priority(proc.pid)
        assert got["nice"] == min(19, mine + 5)
        if _autogroups():
            assert applied == 7 and got["group_nice"] == 7
            assert priority(os.getpid())["group_nice"] == ours  # ours is untouched
        assert lower_group(proc.pid, 0) is None
    finally:
        proc.kill()
        proc.wait()
    assert lower_group(proc.pid, 3) is None  # gone: nothing to change, no error
