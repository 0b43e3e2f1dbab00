"""A real Redis Cluster for the tests: three redis-server processes (the binary graphrec
itself finds or fetches), each a primary holding a third of the 16,384 slots, joined with
``CLUSTER MEET``. Started in a temporary folder and stopped with the context."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from graphrec.config import Settings
from graphrec.services.processes import port_in_use
from graphrec.services.redis import find_redis_binary

SLOTS = 16_384
HOST = "127.0.0.1"


def _ports(n: int) -> list[int]:
    """``n`` ports free with their cluster bus ports (port + 10,000, so at most 55,535)."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    out: list[int] = []
    while len(out) < n:
        p = rng.randrange(20_000, 45_000)
        if p not in out and not port_in_use(HOST, p) and not port_in_use(HOST, p + 10_000):
            out.append(p)
    return out


def _wait(check: object, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.1)
    raise TimeoutError(f"local Redis Cluster: {what} within {timeout_s:.0f} s")


@contextlib.contextmanager
def local_cluster(folder: Path, shards: int = 3) -> Iterator[list[int]]:
    """A running cluster of ``shards`` primaries; yields their ports."""
    binary = find_redis_binary(Settings(environment="test"))
    ports = _ports(shards)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for p in ports:
            d = folder / str(p)
            d.mkdir(parents=True)
            procs.append(
                subprocess.Popen(
                    [str(binary.path), "--bind", HOST, "--port", str(p), "--dir", str(d),
                     "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--appendonly", "yes", "--save", "", "--logfile", str(d / "redis.log")],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **binary.env},
                )
            )  # fmt: skip
        nodes = [redis.Redis(host=HOST, port=p, socket_timeout=5) for p in ports]
        for c in nodes:
            _wait(c.ping, "a node answers PING")
        for i, c in enumerate(nodes):
            lo, hi = i * SLOTS // shards, (i + 1) * SLOTS // shards - 1
            c.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        for c in nodes[1:]:
            c.execute_command("CLUSTER", "MEET", HOST, ports[0])

        def ready() -> bool:
            return all(
                c.cluster("info")["cluster_state"] == "ok"
                and int(c.cluster("info")["cluster_known_nodes"]) == shards
                for c in nodes
            )

        _wait(ready, "every node sees every slot served")
        for c in nodes:
            c.close()
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
