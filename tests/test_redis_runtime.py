"""The local redis-server graphrec launches: AOF on, data kept across a kill, clean errors."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis

from graphrec.config import Settings
from graphrec.errors import ConfigError
from graphrec.services.processes import free_port, pid_alive
from graphrec.services.redis import LocalRedis, find_redis_binary, provide_redis, redis_client


def test_acknowledged_writes_survive_a_killed_server(tmp_path: Path) -> None:
    s = Settings(environment="test")
    server = LocalRedis.from_settings(s, state_dir=tmp_path / "r", port=free_port())
    url = server.start()
    try:
        st = server.status()
        assert st["running"] and st["ready"] and st["url"] == url
        client = redis_client(url, s)
        assert client.config_get("appendonly")["appendonly"] == "yes"
        client.xadd("gr:{t}:s", {"k": "v"})
        client.set("gr:{t}:x", "1")
        pid = server.running_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # no shutdown hook: only the AOF keeps the data
        client.close()
        deadline = time.monotonic() + 30
        while pid_alive(pid) and time.monotonic() < deadline:  # SIGKILL lands asynchronously
            time.sleep(0.05)
        server.start()
        client = redis_client(server.url, s)
        assert client.get("gr:{t}:x") == b"1" and client.xlen("gr:{t}:s") == 1
        client.close()
    finally:
        assert server.stop()
    assert not server.status()["running"]
    assert server.stop() is False


def test_a_dead_server_fails_fast(tmp_path: Path) -> None:
    s = Settings(environment="test")
    handle = provide_redis(s, state_dir=tmp_path / "r", ephemeral_port=True)
    client = redis_client(handle.url, s)
    assert client.ping()
    handle.close()
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_a_configured_binary_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GRAPHREC_REDIS_SERVER"):
        find_redis_binary(Settings(redis_server=str(tmp_path / "nope")))


def test_the_url_wins(redis_server) -> None:  # type: ignore[no-untyped-def]
    handle = provide_redis(Settings(redis_url=redis_server.url))
    assert handle.backend == "uri" and handle.url == redis_server.url
    handle.close()  # nothing of ours to stop: the server still answers
    assert redis.Redis.from_url(redis_server.url).ping()
