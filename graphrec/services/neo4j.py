"""A Neo4j 5.26 Community server graphrec launches itself, for machines without Docker.

The jars come from Maven Central (``pom.xml`` beside this file, fetched once into
``$GRAPHREC_HOME/jars/<version>``); ``Launcher.java`` starts the embedded database with its
Bolt connector on. One state directory holds data, logs, the pid and the password file, so a
restart keeps the data and ``stop`` finds the process again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from graphrec.config import Settings, get_settings, parse_size
from graphrec.db import Connection
from graphrec.errors import ConfigError, ServerStartError
from graphrec.services.processes import (
    log_tail,
    lower_group,
    niced,
    pid_alive,
    port_in_use,
    priority,
    terminate,
)

NEO4J_VERSION = "5.26.19"
HERE = Path(__file__).resolve().parent
JAVA_OPENS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
]


def _java_major(java: str) -> int:
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (FileNotFoundError, PermissionError) as e:
        raise ConfigError(
            f"Java was not found ({java!r}): install a Java 17 runtime "
            "(e.g. apt-get install openjdk-17-jre-headless) or set GRAPHREC_JAVA"
        ) from e
    text = out.stderr + out.stdout
    for token in text.replace('"', " ").split():
        head = token.split(".")[0]
        if head.isdigit() and "." in token:
            major = int(head)
            return 8 if major == 1 else major
    raise ConfigError(f"could not read the Java version from {java!r}: {text.strip()[:200]}")


@dataclass
class LocalNeo4j:
    """One locally launched server: its state directory, address and memory."""

    state_dir: Path
    jars_root: Path
    host: str = "127.0.0.1"
    port: int = 7687
    password: str = ""
    heap: str = "1g"
    pagecache: str = "512m"
    tx_memory: str = "768m"
    java: str = "java"
    mvn: str = "mvn"
    start_timeout_s: float = 120.0
    nice: int = 0

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: object) -> LocalNeo4j:
        s = settings or get_settings()
        values: dict[str, object] = {
            "state_dir": s.local_dir,
            "jars_root": s.home / "jars",
            "host": s.local_host,
            "port": s.local_bolt_port,
            "password": s.neo4j_password.get_secret_value(),
            "heap": s.local_heap,
            "pagecache": s.local_pagecache,
            "tx_memory": s.local_tx_memory,
            "java": s.java,
            "mvn": s.mvn,
            "start_timeout_s": s.local_start_timeout_s,
            "nice": s.local_nice,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    # --- paths ---------------------------------------------------------------------------
    @property
    def jars_dir(self) -> Path:
        return self.jars_root / NEO4J_VERSION

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "neo4j.pid"

    @property
    def info_file(self) -> Path:
        return self.state_dir / "server.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / "launcher.log"

    @property
    def uri(self) -> str:
        return f"neo4j://{self.host}:{self.port}"

    def connection(self) -> Connection:
        return Connection(uri=self.uri, user="neo4j", password=self.password)

    # --- jars --------------------------------------------------------------------------
    @property
    def launcher_classes(self) -> Path:
        """Where this Launcher.java is compiled: one folder per source text, so checkouts
        with different launchers sharing GRAPHREC_HOME never run each other's."""
        digest = hashlib.sha256((HERE / "Launcher.java").read_bytes()).hexdigest()[:12]
        return self.jars_dir / f"classes-{digest}"

    def ensure_jars(self) -> Path:
        """Fetch the server's jars with Maven once and compile the launcher; returns the dir."""
        lib, classes = self.jars_dir / "lib", self.launcher_classes
        marker = self.jars_dir / "complete"
        if not marker.exists():
            if shutil.which(self.mvn) is None:
                raise ConfigError(
                    f"Maven ({self.mvn!r}) is needed once to fetch the Neo4j jars: "
                    "apt-get install maven, or set NEO4J_URI to use an existing server"
                )
            tmp = self.jars_dir.with_name(self.jars_dir.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            cmd = [
                self.mvn,
                "-q",
                "-B",
                "-f",
                str(HERE / "pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp / 'lib'}",
                f"-Dneo4j.version={NEO4J_VERSION}",
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise ServerStartError(
                    "fetching the Neo4j jars with Maven failed:\n"
                    + (out.stdout + out.stderr)[-2000:]
                )
            (tmp / "plugins").mkdir()
            for jar in (tmp / "lib").glob("apoc-*.jar"):
                jar.rename(tmp / "plugins" / jar.name)
            shutil.rmtree(self.jars_dir, ignore_errors=True)
            tmp.rename(self.jars_dir)
            (self.jars_dir / "complete").write_text(NEO4J_VERSION)
        source = HERE / "Launcher.java"
        compiled = classes / "Launcher.class"
        if not compiled.exists():
            javac = shutil.which("javac") or str(Path(self.java).with_name("javac"))
            classes.mkdir(parents=True, exist_ok=True)
            out = subprocess.run(
                [javac, "-nowarn", "-cp", f"{lib}/*", "-d", str(classes), str(source)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                raise ServerStartError("compiling Launcher.java failed:\n" + out.stderr[-2000:])
        return self.jars_dir

    # --- lifecycle -----------------------------------------------------------------------
    def running_pid(self) -> int | None:
        """The pid of this state directory's server when it is alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def status(self) -> dict[str, object]:
        pid = self.running_pid()
        ready = pid is not None and (self.state_dir / "ready").exists()
        info: dict[str, object] = {}
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(self.info_file.read_text())
        return {
            "running": pid is not None,
            "ready": ready,
            "pid": pid,
            "uri": info.get("uri", self.uri),
            "state_dir": str(self.state_dir),
            "version": NEO4J_VERSION,
            **(priority(pid) if pid is not None else {}),
        }

    def start(self) -> Connection:
        """Start the server (or find it running) and wait until Bolt answers."""
        pid = self.running_pid()
        if pid is not None:
            # Already running for this state directory: adopt it where it listens.
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.port = int(json.loads(self.info_file.read_text())["uri"].rsplit(":", 1)[1])
            self._wait_ready(pid, proc=None)
            return self.connection()
        major = _java_major(self.java)
        if major < 17:
            raise ConfigError(
                f"Neo4j {NEO4J_VERSION} needs Java 17 or newer; {self.java!r} is {major}"
            )
        if port_in_use(self.host, self.port):
            raise ServerStartError(
                f"port {self.host}:{self.port} is already in use by another process; "
                "stop it or set GRAPHREC_LOCAL_BOLT_PORT to a free port"
            )
        jars = self.ensure_jars()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "logs").mkdir(exist_ok=True)
        plugins = self.state_dir / "plugins"
        plugins.mkdir(exist_ok=True)
        for jar in (jars / "plugins").glob("*.jar"):
            target = plugins / jar.name
            if not target.exists():
                shutil.copy2(jar, target)
        pw_file = self.state_dir / "password"
        pw_file.touch(mode=0o600)
        pw_file.write_text(self.password)
        (self.state_dir / "ready").unlink(missing_ok=True)
        classpath = os.pathsep.join(
            [str(self.launcher_classes), f"{jars / 'lib'}/*", f"{plugins}/*"]
        )
        cmd = [
            self.java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            *JAVA_OPENS,
            "-cp",
            classpath,
            "Launcher",
            str(self.state_dir),
            self.host,
            str(self.port),
            str(parse_size(self.pagecache)),
            str(parse_size(self.tx_memory)),
            str(pw_file),
        ]
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                niced(cmd, self.nice),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.state_dir,
            )
        # Its own session is its own scheduler group: lower the group's priority too (the
        # request path wins the cores; the graph's writes wait; docs/serving.md, round 19).
        lower_group(proc.pid, self.nice)
        self.pid_file.write_text(str(proc.pid))
        self.info_file.write_text(json.dumps({"uri": self.uri, "pid": proc.pid}))
        self._wait_ready(proc.pid, proc=proc)
        return self.connection()

    def _wait_ready(self, pid: int, proc: subprocess.Popen[bytes] | None) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        ready = self.state_dir / "ready"
        while time.monotonic() < deadline:
            alive = proc.poll() is None if proc is not None else pid_alive(pid)
            if not alive:
                self.pid_file.unlink(missing_ok=True)
                raise ServerStartError(
                    f"the local Neo4j server exited while starting; last lines of "
                    f"{self.log_file}:\n{self._log_tail()}"
                )
            if ready.exists() and port_in_use(self.host, self.port):
                return
            time.sleep(0.2)
        self.stop()
        raise ServerStartError(
            f"the local Neo4j server did not answer within {self.start_timeout_s:.0f}s; "
            f"last lines of {self.log_file}:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_file, lines)

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Shut the server down cleanly (SIGTERM, then SIGKILL after ``timeout_s``)."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        terminate(pid, timeout_s, poll_s=0.2)
        self.pid_file.unlink(missing_ok=True)
        (self.state_dir / "ready").unlink(missing_ok=True)
        return True
