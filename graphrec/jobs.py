"""Background jobs (training): one of a kind at a time, their progress kept in the graph.

The job's state is a ``(:Job)`` node, so every API worker answers ``GET /admin/jobs/{id}``
alike and a restart loses nothing but the running thread (a job not updated for
:data:`STALE_MS` no longer blocks a new one). Starting takes the kind's ``JobLock`` write lock
first, so two concurrent starts cannot both run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from graphrec.config import Settings, get_settings
from graphrec.db import Graph
from graphrec.errors import Conflict, NotFound

log = logging.getLogger(__name__)
STALE_MS = 30 * 60_000
Report = Callable[[str, int, int], None]


def now_ms() -> int:
    return int(time.time() * 1000)


def start(graph: Graph, kind: str) -> str:
    """A new running job of ``kind``; a Conflict naming the running one when there is one."""
    job_id = f"{kind}-{uuid.uuid4().hex[:12]}"
    now = now_ms()
    row = graph.write("jobs/start", kind=kind, job_id=job_id, now=now, stale_before=now - STALE_MS)[
        0
    ]
    if not row["started"]:
        raise Conflict(f"a {kind} job is already running: {row['running']}")
    return str(row["job_id"])


def progress(graph: Graph, job_id: str, stage: str, done: int, total: int) -> None:
    graph.write("jobs/progress", job_id=job_id, stage=stage, done=done, total=total, now=now_ms())


def finish(
    graph: Graph, job_id: str, *, result: dict[str, Any] | None = None, error: str | None = None
) -> None:
    graph.write(
        "jobs/finish",
        job_id=job_id,
        status="failed" if error else "succeeded",
        result=json.dumps(result, default=str) if result is not None else None,
        error=error,
        now=now_ms(),
    )


def get(graph: Graph, job_id: str) -> dict[str, Any]:
    rows = graph.read("jobs/get", job_id=job_id)
    if not rows:
        raise NotFound(f"job_id: unknown job {job_id!r}")
    row = dict(rows[0])
    row["result"] = json.loads(row["result"]) if row["result"] else None
    return row


def run_in_background(
    graph: Graph, job_id: str, work: Callable[[Report], dict[str, Any]]
) -> threading.Thread:
    """Run ``work(progress)`` in a thread; its result or error ends the job."""

    def report(stage: str, done: int, total: int) -> None:
        try:
            progress(graph, job_id, stage, done, total)
        except Exception:  # progress is best effort; the work goes on
            log.warning("could not record progress of %s", job_id, exc_info=True)

    def target() -> None:
        try:
            result = work(report)
        except Exception as e:
            log.exception("job %s failed", job_id)
            finish(graph, job_id, error=f"{type(e).__name__}: {e}")
        else:
            finish(graph, job_id, result=result)

    thread = threading.Thread(target=target, name=f"job-{job_id}", daemon=True)
    thread.start()
    return thread


def training_work(
    graph: Graph, settings: Settings | None = None
) -> Callable[[Report], dict[str, Any]]:
    """The training job: export, LightGCN, write-back, item-to-item, communities."""
    s = settings or get_settings()

    def work(report: Report) -> dict[str, Any]:
        from graphrec.learn.pipeline import learn

        run = learn(
            graph,
            settings=s,
            progress=report,
            on_epoch=lambda e: report("train", e.epoch, s.learn_epochs),
        )
        best = run.result.best
        return {
            "checkpoint": str(run.checkpoint),
            "best_epoch": run.result.best_epoch,
            "best": best.as_dict() if best is not None else None,
            "written": run.writeback.counts if run.writeback is not None else {},
            "item_item": {k: v for k, v in run.similar.items() if k != "validation"},
            "spectral": run.spectral,
            "blend": {"g": run.blend.g, "w": run.blend.w} if run.blend is not None else None,
            "communities": run.communities_written,
            "seconds": run.seconds,
        }

    return work
