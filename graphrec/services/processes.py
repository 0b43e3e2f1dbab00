"""Local server processes: ports and pids (the locally launched Neo4j and Redis share them)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import time
from pathlib import Path


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); /proc tells it apart.
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/status").read_text()
        if "\nState:\tZ" in status:
            return False
    return True


def terminate(pid: int, timeout_s: float, poll_s: float = 0.1) -> None:
    """SIGTERM ``pid`` (a server's clean shutdown), SIGKILL it after ``timeout_s``; reaps it
    when it is our child."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(poll_s)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` of a server's log (for an error message)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def niced(cmd: list[str], nice: int) -> list[str]:
    """``cmd`` run under ``nice -n nice`` (every thread the server starts inherits it), or
    unchanged when ``nice`` is 0 or there is no ``nice`` program."""
    tool = shutil.which("nice") if nice > 0 else None
    return [tool, "-n", str(nice), *cmd] if tool else cmd


def lower_group(pid: int, nice: int) -> int | None:
    """Give the scheduler group of ``pid``'s session the nice value ``nice`` (Linux with
    ``sched_autogroup``: each session is a group, and the CPU is shared between groups before
    a thread's own nice counts, so a server started in its own session, as the local ones
    are, took a full group's share whatever its threads' nice). Its nice value afterwards,
    or None where the kernel has no such groups or refuses."""
    if nice <= 0:
        return None
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:
        return None
    return priority(pid)["group_nice"]


def priority(pid: int) -> dict[str, int | None]:
    """``pid``'s nice value and its scheduler group's (None where not known)."""
    out: dict[str, int | None] = {"nice": None, "group_nice": None}
    with contextlib.suppress(OSError):
        out["nice"] = os.getpriority(os.PRIO_PROCESS, pid)
    with contextlib.suppress(OSError, ValueError, IndexError):
        out["group_nice"] = int(Path(f"/proc/{pid}/autogroup").read_text().rsplit("nice", 1)[1])
    return out
