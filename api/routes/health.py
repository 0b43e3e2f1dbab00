"""``GET /health``: the service, its two servers and the graph writer's lag."""

from __future__ import annotations

import concurrent.futures
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import GraphDep, SpineDep
from graphrec.spine.stream import group_status
from graphrec.spine.writer import GROUP

router = APIRouter(tags=["health"])
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")
TIMEOUT_S = 1.5


class HealthPublic(BaseModel):
    status: str
    neo4j: str
    redis: str = "up"
    stream: dict[str, Any] | None = None


class HealthDown(HealthPublic):
    """503: Redis is down."""

    detail: str


@router.get("/ping")
def read_ping() -> dict[str, bool]:
    """A trivial JSON route (no I/O): the benchmarks' baseline for the app's own overhead."""
    return {"ok": True}


def _within(fn: Any) -> bool:
    try:
        _pool.submit(fn).result(timeout=TIMEOUT_S)
        return True
    except Exception:
        return False


@router.get(
    "/health",
    response_model=HealthPublic,
    responses={503: {"model": HealthDown, "description": "Redis is down (feeds and events stop)"}},
)
def read_health(graph: GraphDep, spine: SpineDep) -> Any:
    """200 ``ok`` when both servers answer; 200 ``degraded`` when only Neo4j is down (feeds
    and events go on from Redis, the graph writer catches up later); 503 when Redis is down.
    Each check gives up after 1.5 s. ``stream``: the graph writer's pending entries, lag and
    the age of the oldest entry not yet in the graph."""
    neo4j = _within(lambda: graph.read("admin/ping"))
    redis_up = _within(spine.r.ping)
    if not redis_up:
        body = {"status": "down", "neo4j": "up" if neo4j else "down", "redis": "down"}
        return JSONResponse(status_code=503, content={"detail": "Redis is unavailable", **body})
    stream = group_status(spine, GROUP)
    return HealthPublic(
        status="ok" if neo4j else "degraded",
        neo4j="up" if neo4j else "down",
        redis="up",
        stream=stream,
    )
