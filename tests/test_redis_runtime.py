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
from graphrec.services.redis import (
    LocalRedis,
    find_redis_binary,
    plain_packer,
    provide_redis,
    redis_client,
)


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


def test_plain_arguments_are_packed_to_the_bytes_redis_py_writes(redis_server) -> None:  # type: ignore[no-untyped-def]
    """The client's packer sends plain str, bytes, int and float arguments straight to
    hiredis: the same bytes as redis-py's own packer for every such command, redis-py's
    errors for what it refuses, and its path for the rest (a two-word command name)."""
    import math
    import random

    from redis.connection import Connection

    own = Connection()  # redis-py's default packer
    mine = plain_packer()
    assert mine is not None
    rng = random.Random(4)

    def arg() -> object:
        kind = rng.randrange(6)
        if kind == 0:
            return "".join(
                rng.choice("ab é\t\u4e2d\U0001f600{}:,;") for _ in range(rng.randrange(12))
            )
        if kind == 1:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(12)))
        if kind == 2:
            return rng.choice([0, -1, 7, 2**63, -(2**70), rng.randrange(-(10**9), 10**9)])
        if kind == 3:
            return rng.choice(
                [
                    0.1,
                    -0.0,
                    1e-05,
                    1e300,
                    5e-324,
                    math.inf,
                    -math.inf,
                    1.0,
                    rng.uniform(-1e6, 1e6),
                    rng.random() * 10 ** rng.randrange(-20, 20),
                ]
            )
        return rng.choice(["HMGET", "k", "gr:{p1}:u:x:q", ""])

    for _ in range(2_000):
        args = (
            rng.choice(["HMGET", "EVALSHA", "SET", "XADD"]),
            *[arg() for _ in range(rng.randrange(0, 30))],
        )
        assert b"".join(mine.pack(*args)) == b"".join(own.pack_command(*args))
    for refused in (("SET", "k", True), ("SET", "k", None), ("SET", "k", [1])):
        with pytest.raises(redis.DataError):
            own.pack_command(*refused)
        with pytest.raises(redis.DataError):
            mine.pack(*refused)
    assert b"".join(mine.pack("CONFIG GET", "x")) == b"".join(own.pack_command("CONFIG GET", "x"))
    assert (
        b"".join(mine.pack("SET", "k", memoryview(b"v")))
        == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    )
    # And through a client of the project: what goes in comes back.
    client = redis_client(redis_server.url)
    fields = {f"f{i}é": rng.choice([b"\x00\xff", "x y", 3, 2.5]) for i in range(400)}
    client.hset("plain-packer-test", mapping=fields)
    got = client.hmget("plain-packer-test", list(fields))
    assert got == [v if isinstance(v, bytes) else str(v).encode() for v in fields.values()]
    client.delete("plain-packer-test")
    client.close()
