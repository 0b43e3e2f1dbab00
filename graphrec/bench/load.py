"""The load benchmark: a generated world into an empty Neo4j, timed by stage."""

from __future__ import annotations

import platform
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from graphrec.config import get_settings
from graphrec.db import Graph
from graphrec.errors import Conflict
from graphrec.services.provide import provide_server
from graphrec.world.generate import generate
from graphrec.world.load import load_world, summary


class PeakRss:
    """Samples the resident memory of a process every 0.2 s; keeps the peak."""

    def __init__(self, pid: int | None) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if self.pid is None:
            return
        proc = psutil.Process(self.pid)
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, proc.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def machine() -> dict[str, Any]:
    return {
        "cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
    }


def bench_load(*, size: str, seed: int, batch_size: int) -> dict[str, Any]:
    """Load world ``size`` into a fresh local server (or an empty NEO4J_URI database)."""
    settings = get_settings()
    t0 = time.perf_counter()
    world = generate(size, seed)
    gen_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="graphrec-bench-") as tmp:
        handle = provide_server(settings, state_dir=Path(tmp) / "neo4j", ephemeral_port=True)
        try:
            with Graph.connect(handle.connection, settings=settings) as graph:
                before = summary(graph)
                if sum(before["node"].values()) > 0:
                    raise Conflict("the benchmark needs an empty database; NEO4J_URI's is not")
                pid = _server_pid(handle)
                with PeakRss(pid) as neo4j_mem:
                    report = load_world(graph, world, batch_size=batch_size)
                after = summary(graph)
        finally:
            handle.close()
    n_inter = len(world.interactions)
    inter_s = report.seconds["interactions"]
    return {
        "benchmark": "load",
        "size": size,
        "seed": seed,
        "batch_size": batch_size,
        "machine": machine(),
        "backend": handle.backend,
        "headline": {
            "nodes": sum(v for k, v in after["node"].items() if k != "LoadBatch"),
            "relationships": sum(after["relationship"].values()),
            "interactions": n_inter,
            "load_s": round(report.total_seconds, 2),
            "interactions_s": round(inter_s, 2),
            "interactions_per_s": round(n_inter / inter_s) if inter_s else None,
            "target_s": 60,
            "python_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "neo4j_peak_mib": round(neo4j_mem.peak / 2**20),
        },
        "stages_s": {
            "generate": round(gen_s, 2),
            **{k: round(v, 2) for k, v in report.seconds.items()},
        },
        "graph": after,
    }


def _server_pid(handle: Any) -> int | None:
    if handle.backend != "local":
        return None
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info.get("cmdline") or []
        if "Launcher" in cmd and str(handle.connection.uri.rsplit(":", 1)[1]) in cmd:
            return int(p.info["pid"])
    return None
