"""Admin: ``POST /admin/pools/cycle`` (one pool cycle), ``POST /admin/train`` (a background
job: 202 with its id) and ``GET /admin/jobs/{id}`` (its progress).

Both always need the API key. CLI equivalents: ``graphrec pools cycle`` and ``graphrec train``
(+ ``graphrec communities``). Both first let the graph writer catch up (the cycle counts
impressions, training reads interactions) and refresh Redis from the graph afterwards.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import GraphDep, SettingsDep, SpineDep, WriteKey, WriterDep
from api.errors import KEY_ERRORS, UNAVAILABLE, ErrorPublic
from api.lifecycle import run_cycle
from graphrec import jobs
from graphrec.spine.state import sync_state

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[WriteKey],
    responses={**KEY_ERRORS, **UNAVAILABLE},
)


@router.post(
    "/pools/cycle",
    responses={409: {"model": ErrorPublic, "description": "a cycle is running"}},
)
def create_pool_cycle(
    graph: GraphDep, settings: SettingsDep, spine: SpineDep, writer: WriterDep
) -> dict[str, Any]:
    """Run one pool cycle now: score spent budgets, promote, settle, look back, spill over."""
    writer.drain()
    result = run_cycle(graph, settings)
    sync_state(graph, spine, ("budgets", "lists"))
    return result


class JobStarted(BaseModel):
    job_id: str
    status: str
    url: str


class JobPublic(BaseModel):
    job_id: str
    kind: str
    status: str  # running | succeeded | failed
    stage: str | None
    done: int | None
    total: int | None
    started_at: int
    updated_at: int | None
    finished_at: int | None
    result: dict[str, Any] | None
    error: str | None


@router.post(
    "/train",
    status_code=202,
    response_model=JobStarted,
    responses={409: {"model": ErrorPublic, "description": "a training job is already running"}},
)
def create_training(
    graph: GraphDep, settings: SettingsDep, spine: SpineDep, writer: WriterDep
) -> JobStarted:
    """Start training in the background (export, LightGCN, item-to-item, communities, Redis
    refreshed); follow it at ``GET /admin/jobs/{job_id}``. One training job at a time."""
    job_id = jobs.start(graph, "train")
    work = jobs.training_work(graph, settings)

    def run(report: jobs.Report) -> dict[str, Any]:
        report("catch up", 0, 1)
        writer.drain()  # training reads the interactions the writer has applied
        result = work(report)
        report("state sync", 0, 1)
        sync_state(graph, spine, ("embeddings",))
        return result

    jobs.run_in_background(graph, job_id, run)
    return JobStarted(job_id=job_id, status="running", url=f"/admin/jobs/{job_id}")


@router.get(
    "/jobs/{job_id}",
    response_model=JobPublic,
    responses={404: {"model": ErrorPublic, "description": "unknown job"}},
)
def read_job(job_id: str, graph: GraphDep) -> JobPublic:
    """A background job's stage, progress and, once finished, its result or error."""
    return JobPublic(**jobs.get(graph, job_id))
