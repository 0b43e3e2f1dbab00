"""Finding a real Redis 7: ``GRAPHREC_REDIS_URL``, else a container, else a local server.

Reached the three ways Neo4j is (:mod:`graphrec.services.provide`):

1. ``GRAPHREC_REDIS_URL`` (``redis://host:port/db``): any Redis 7, used as is.
2. A ``redis:7`` container through testcontainers where a Docker engine answers.
3. A ``redis-server`` graphrec starts itself on ``GRAPHREC_REDIS_PORT`` (tests: a free port)
   with its state directory (AOF on). The binary is ``GRAPHREC_REDIS_SERVER``, else
   ``redis-server`` on PATH (``.ci/run`` installs it with apt-get when it runs as root), else
   Debian's own packages fetched without root: ``apt-get download redis-tools libjemalloc2
   liblzf1`` into ``~/.cache/graphrec/redis/<version>``, unpacked with ``dpkg-deb -x`` and run
   with ``LD_LIBRARY_PATH``. Debian ships the server binary in ``redis-tools`` as
   ``redis-check-rdb``; the ``redis-server`` package only adds a ``redis-server`` symlink to
   it (the binary picks its role from its name), so we make that symlink ourselves.

Durability: ``appendonly yes`` with ``appendfsync`` from the settings (``everysec`` by
default). Redis writes a command to the AOF file (``write(2)``) before it replies, so an
acknowledged write survives the Redis process being killed in every mode; ``everysec`` may lose
the last second only if the whole machine loses power; ``always`` also survives that, at one
fsync per event-loop round.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import redis

from graphrec.config import Settings, get_settings
from graphrec.errors import ConfigError, ServerStartError
from graphrec.services.processes import log_tail, terminate

log = logging.getLogger(__name__)

Backend = Literal["uri", "docker", "local"]
DEBIAN_PACKAGES = ("redis-tools", "libjemalloc2", "liblzf1")


def _default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "graphrec" / "redis"


@dataclass
class RedisBinary:
    """A runnable redis-server and the environment it needs."""

    path: Path
    env: dict[str, str] = field(default_factory=dict)

    def version(self) -> str:
        out = subprocess.run(
            [str(self.path), "--version"],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            check=False,
            timeout=10,
        )
        return out.stdout.strip()


def _debian_version() -> str:
    """The candidate version of redis-tools apt would fetch (``7.0.15-1~deb12u10``)."""
    try:
        out = subprocess.run(
            ["apt-cache", "policy", "redis-tools"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except FileNotFoundError as e:
        raise ConfigError(
            "redis-server was not found and apt-get is not available to fetch it: install "
            "Redis 7, set GRAPHREC_REDIS_SERVER to its redis-server, or GRAPHREC_REDIS_URL"
        ) from e
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                return version.split(":", 1)[-1]  # drop the epoch
    raise ConfigError(
        "apt knows no redis-tools package (run apt-get update once, or install Redis 7 / set "
        "GRAPHREC_REDIS_SERVER or GRAPHREC_REDIS_URL)"
    )


def fetch_debian_redis(cache: Path | None = None) -> RedisBinary:
    """Debian's Redis unpacked into the cache without root (``apt-get download``)."""
    version = _debian_version()
    root = (cache or _default_cache()) / version
    lib = root / "usr" / "lib" / "x86_64-linux-gnu"
    binary = root / "usr" / "bin" / "redis-server"
    if not (root / "complete").exists():
        if shutil.which("dpkg-deb") is None:
            raise ConfigError("dpkg-deb is needed to unpack Debian's redis-tools package")
        with tempfile.TemporaryDirectory() as tmp:
            got = subprocess.run(
                ["apt-get", "download", *DEBIAN_PACKAGES],
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            if got.returncode != 0:
                raise ServerStartError(
                    "apt-get download of Redis failed:\n" + (got.stdout + got.stderr)[-1500:]
                )
            partial = root.with_name(root.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            for deb in sorted(Path(tmp).glob("*.deb")):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
            link = partial / "usr" / "bin" / "redis-server"
            link.unlink(missing_ok=True)
            link.symlink_to("redis-check-rdb")  # the redis-server package's only file we need
            shutil.rmtree(root, ignore_errors=True)
            partial.rename(root)
            (root / "complete").write_text(version)
    env = {
        "LD_LIBRARY_PATH": os.pathsep.join(
            filter(None, [str(lib), os.environ.get("LD_LIBRARY_PATH")])
        )
    }
    return RedisBinary(binary, env)


def find_redis_binary(settings: Settings | None = None) -> RedisBinary:
    """GRAPHREC_REDIS_SERVER, else redis-server on PATH, else Debian's package (no root)."""
    s = settings or get_settings()
    if s.redis_server:
        path = Path(s.redis_server)
        if not path.exists():
            raise ConfigError(f"GRAPHREC_REDIS_SERVER={s.redis_server!r} does not exist")
        return RedisBinary(path)
    found = shutil.which("redis-server")
    if found:
        return RedisBinary(Path(found))
    log.info("redis-server not on PATH: fetching Debian's redis-tools without root")
    return fetch_debian_redis()


# Argument types hiredis packs exactly as redis-py's encoder writes them (UTF-8 text, bytes,
# and numbers by repr); anything else (bool, memoryview, ...) goes through redis-py.
_PLAIN = frozenset((str, bytes, int, float))


class PlainPacker:
    """redis-py's command packer, minus its Python-level encoding of every argument when each
    is a plain str, bytes, int or float and the command name is one word: those go to
    ``hiredis.pack_command`` as they are (it writes the same bytes). redis-py's hiredis
    packer encodes argument by argument in Python first: 505 us for an ``HMGET`` of 400
    fields against 59 us straight through hiredis, most of the client's CPU for the large
    commands of a fill (the budgets' ``HMGET``, the queue's store script). Anything else
    (a bool, a memoryview, ``"CONFIG GET"``) takes redis-py's own path, errors included
    (``tests/test_redis_runtime.py`` compares the bytes)."""

    def __init__(self, hiredis: Any, fallback: Any) -> None:
        self._pack = hiredis.pack_command
        self._fallback = fallback

    def pack(self, *args: Any) -> list[bytes]:
        first = args[0] if args else None
        if type(first) is str and " " not in first and all(type(a) in _PLAIN for a in args):
            return [self._pack(args)]
        return self._fallback.pack(*args)


def plain_packer() -> PlainPacker | None:
    """A :class:`PlainPacker` over redis-py's default packer; None without hiredis."""
    try:
        import hiredis
    except ImportError:  # redis-py's own packer then
        return None
    from redis._parsers import Encoder
    from redis.connection import HiredisRespSerializer, PythonRespSerializer

    enc = Encoder("utf-8", "strict", False)  # redis-py's defaults (no decode_responses)
    fallback = HiredisRespSerializer(PythonRespSerializer(6000, enc.encode).pack, enc.encode)
    return PlainPacker(hiredis, fallback)


def redis_client(url: str, settings: Settings | None = None) -> Any:
    """A client whose every call fails within the configured timeouts (no hang on a dead
    server): connect and socket timeouts, no retries, a bounded blocking pool; plain
    arguments packed straight through hiredis (:class:`PlainPacker`). A ``redis.Redis``, or
    with ``redis_cluster`` a ``RedisCluster`` (:func:`cluster_client`)."""
    s = settings or get_settings()
    if s.redis_cluster:
        return cluster_client(url, s)
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=s.redis_max_connections,
        timeout=s.redis_timeout_s,
        socket_timeout=s.redis_timeout_s,
        socket_connect_timeout=s.redis_timeout_s,
        health_check_interval=30,
        command_packer=plain_packer(),
    )
    return redis.Redis(connection_pool=pool)


def cluster_client(url: str, settings: Settings | None = None) -> Any:
    """A Redis Cluster client (``redis_cluster``): ``url`` names any node, the others are
    found from it; the same timeouts, no retries and the same packer as
    :func:`redis_client`. A slot that moved (``MOVED``/``ASK``) is still followed."""
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    s = settings or get_settings()
    return RedisCluster.from_url(
        url,
        retry=Retry(NoBackoff(), 0),  # no retries, as one node: a dead shard is a 503 at once
        max_connections=s.redis_max_connections,
        socket_timeout=s.redis_timeout_s,
        socket_connect_timeout=s.redis_timeout_s,
        health_check_interval=30,
        command_packer=plain_packer(),
    )


@dataclass
class LocalRedis:
    """One locally launched redis-server: its state directory (AOF, pid, log) and port."""

    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 6390
    appendfsync: str = "everysec"
    maxmemory: str = "0"
    start_timeout_s: float = 30.0
    settings: Settings | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> LocalRedis:
        s = settings or get_settings()
        values: dict[str, Any] = {
            "state_dir": s.home / "redis",
            "host": s.local_host,
            "port": s.redis_port,
            "appendfsync": s.redis_appendfsync,
            "maxmemory": s.redis_maxmemory,
            "settings": s,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "redis.pid"

    @property
    def info_file(self) -> Path:
        return self.state_dir / "server.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def running_pid(self) -> int | None:
        from graphrec.services.processes import pid_alive

        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def status(self) -> dict[str, object]:
        pid = self.running_pid()
        info: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(self.info_file.read_text())
        url = info.get("url", self.url)
        ready = False
        if pid is not None:
            with contextlib.suppress(redis.RedisError):
                ready = bool(redis.Redis.from_url(url, socket_timeout=1).ping())
        return {
            "running": pid is not None,
            "ready": ready,
            "pid": pid,
            "url": url,
            "state_dir": str(self.state_dir),
            "appendfsync": info.get("appendfsync", self.appendfsync),
            "version": info.get("version", ""),
        }

    def config_text(self) -> str:
        """redis.conf for this server: AOF on, no RDB snapshots, no eviction."""
        return "\n".join(
            [
                f"bind {self.host}",
                f"port {self.port}",
                "protected-mode yes",
                f"dir {self.state_dir}",
                f"logfile {self.log_file}",
                "daemonize no",
                'save ""',
                "appendonly yes",
                f"appendfsync {self.appendfsync}",
                "aof-use-rdb-preamble yes",
                f"maxmemory {self.maxmemory}",
                "maxmemory-policy noeviction",
                "",
            ]
        )

    def start(self) -> str:
        """Start the server (or adopt the one running for this state dir); returns its URL."""
        from graphrec.services.processes import port_in_use

        pid = self.running_pid()
        if pid is not None:
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.port = int(json.loads(self.info_file.read_text())["port"])
            self._wait_ready(pid, None)
            return self.url
        if port_in_use(self.host, self.port) and not self._port_freed_by_last_server():
            raise ServerStartError(
                f"port {self.host}:{self.port} is already in use by another process; "
                "stop it or set GRAPHREC_REDIS_PORT to a free port"
            )
        binary = find_redis_binary(self.settings)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        conf = self.state_dir / "redis.conf"
        conf.write_text(self.config_text())
        proc = subprocess.Popen(
            [str(binary.path), str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.state_dir,
            env={**os.environ, **binary.env},
        )
        self.pid_file.write_text(str(proc.pid))
        self.info_file.write_text(
            json.dumps(
                {
                    "url": self.url,
                    "port": self.port,
                    "pid": proc.pid,
                    "appendfsync": self.appendfsync,
                    "binary": str(binary.path),
                    "version": binary.version(),
                }
            )
        )
        self._wait_ready(proc.pid, proc)
        return self.url

    def _port_freed_by_last_server(self, wait_s: float = 10.0) -> bool:
        """When this state dir's last server (now dead) listened on our port, a child it
        forked (an AOF rewrite) may hold the socket a moment longer: wait for it to go."""
        from graphrec.services.processes import port_in_use

        with contextlib.suppress(OSError, ValueError, KeyError):
            if int(json.loads(self.info_file.read_text())["port"]) == self.port:
                deadline = time.monotonic() + wait_s
                while time.monotonic() < deadline:
                    if not port_in_use(self.host, self.port):
                        return True
                    time.sleep(0.1)
        return False

    def _wait_ready(self, pid: int, proc: subprocess.Popen[bytes] | None) -> None:
        from graphrec.services.processes import pid_alive

        deadline = time.monotonic() + self.start_timeout_s
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline:
                alive = proc.poll() is None if proc is not None else pid_alive(pid)
                if not alive:
                    self.pid_file.unlink(missing_ok=True)
                    raise ServerStartError(
                        f"redis-server exited while starting; last lines of {self.log_file}:\n"
                        + self._log_tail()
                    )
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise ServerStartError(
            f"redis-server did not answer within {self.start_timeout_s:.0f}s:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_file, lines)

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM (Redis flushes the AOF and exits), SIGKILL after ``timeout_s``."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        terminate(pid, timeout_s, poll_s=0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


@dataclass
class RedisHandle:
    """A reachable Redis and how it was obtained; ``close`` stops what we started."""

    url: str
    backend: Backend
    _stop: Any = field(default=None, repr=False)

    def close(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def _start_container(settings: Settings) -> RedisHandle:
    from testcontainers.redis import RedisContainer

    container = RedisContainer(image=settings.redis_image)
    container.with_command(
        f"redis-server --appendonly yes --appendfsync {settings.redis_appendfsync}"
    )
    container.start()
    host = container.get_container_host_ip()
    port = container.get_exposed_port(6379)
    return RedisHandle(f"redis://{host}:{port}/0", "docker", container.stop)


def provide_redis(
    settings: Settings | None = None,
    *,
    state_dir: Path | None = None,
    ephemeral_port: bool = False,
) -> RedisHandle:
    """A running Redis, found or started in the documented order.

    As for Neo4j, a local server started with ``state_dir`` is stopped by ``close``; the
    default one (``~/.graphrec/redis``) outlives the process (``graphrec redis stop``).
    """
    from graphrec.services.provide import docker_available

    s = settings or get_settings()
    if s.redis_url:
        return RedisHandle(s.redis_url, "uri")
    if s.redis_backend in ("auto", "docker") and docker_available():
        log.info("starting %s with testcontainers", s.redis_image)
        return _start_container(s)
    if s.redis_backend == "docker":
        raise ConfigError("GRAPHREC_REDIS_BACKEND=docker but no Docker engine answers")
    overrides: dict[str, Any] = {}
    if state_dir is not None:
        overrides["state_dir"] = state_dir
    if ephemeral_port:
        from graphrec.services.processes import free_port

        overrides["port"] = free_port(s.local_host)
    server = LocalRedis.from_settings(s, **overrides)
    url = server.start()
    return RedisHandle(url, "local", server.stop if state_dir is not None else None)


@contextlib.contextmanager
def running_redis(settings: Settings | None = None, **kwargs: Any) -> Iterator[RedisHandle]:
    handle = provide_redis(settings, **kwargs)
    try:
        yield handle
    finally:
        handle.close()
