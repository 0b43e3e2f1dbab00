"""A real Redis Cluster for the tests: three redis-server processes (the binary graphrec
itself finds or fetches), each a primary holding a third of the 16,384 slots, joined with
``CLUSTER MEET``. Started in a temporary folder and stopped with the context; a node can be
killed and started again (its ``nodes.conf`` and AOF kept)."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from graphrec.config import Settings
from graphrec.services.processes import port_in_use
from graphrec.services.redis import RedisBinary, find_redis_binary

SLOTS = 16_384
HOST = "127.0.0.1"


def _ports(n: int) -> list[int]:
    """``n`` ports free with their cluster bus ports (port + 10,000), both below Linux's
    ephemeral range (32,768 up), where an outgoing connection could take one meanwhile."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    out: list[int] = []
    while len(out) < n:
        p = rng.randrange(11_000, 22_000)
        if p not in out and not port_in_use(HOST, p) and not port_in_use(HOST, p + 10_000):
            out.append(p)
    return out


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> float:
    """Seconds until ``check`` holds (Redis errors count as not yet)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        with contextlib.suppress(redis.RedisError):
            if check():
                return time.monotonic() - t0
        time.sleep(0.1)
    raise TimeoutError(f"local Redis Cluster: {what} within {timeout_s:.0f} s")


class LocalCluster:
    """The nodes of a running local cluster, by index."""

    def __init__(self, binary: RedisBinary, folder: Path, ports: list[int]) -> None:
        self.binary, self.folder, self.ports = binary, folder, ports
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * len(ports)

    def start(self, i: int) -> None:
        p = self.ports[i]
        d = self.folder / str(p)
        d.mkdir(parents=True, exist_ok=True)
        self.procs[i] = subprocess.Popen(
            [str(self.binary.path), "--bind", HOST, "--port", str(p), "--dir", str(d),
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--appendonly", "yes", "--save", "", "--logfile", str(d / "redis.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.binary.env},
        )  # fmt: skip
        node = redis.Redis(host=HOST, port=p, socket_timeout=5)

        def up() -> bool:
            proc = self.procs[i]
            if proc is not None and proc.poll() is not None:
                log = (d / "redis.log").read_text(errors="replace")[-400:]
                raise RuntimeError(f"node {p} exited ({proc.returncode}): {log}")
            return bool(node.ping())

        wait_for(up, f"node {p} answers PING")
        node.close()

    def kill(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            proc.kill()
            proc.wait()
            self.procs[i] = None

    def healthy(self) -> bool:
        """Every node sees every slot served by every other node."""
        for p in self.ports:
            with redis.Redis(host=HOST, port=p, socket_timeout=2) as c:
                info = c.cluster("info")
                if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != len(
                    self.ports
                ):
                    return False
        return True

    def stop(self) -> None:
        for i in range(len(self.ports)):
            proc = self.procs[i]
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                self.procs[i] = None


@contextlib.contextmanager
def local_cluster(folder: Path, shards: int = 3) -> Iterator[LocalCluster]:
    """A running cluster of ``shards`` primaries."""
    cluster = LocalCluster(find_redis_binary(Settings(environment="test")), folder, _ports(shards))
    try:
        for i in range(shards):
            cluster.start(i)
        nodes = [redis.Redis(host=HOST, port=p, socket_timeout=5) for p in cluster.ports]
        for i, c in enumerate(nodes):
            lo, hi = i * SLOTS // shards, (i + 1) * SLOTS // shards - 1
            c.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        for c in nodes[1:]:
            c.execute_command("CLUSTER", "MEET", HOST, cluster.ports[0])
        for c in nodes:
            c.close()
        wait_for(cluster.healthy, "every node sees every slot served")
        yield cluster
    finally:
        cluster.stop()
