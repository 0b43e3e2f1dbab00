"""``GET /health``: the service and its database."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import GraphDep

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: str
    neo4j: str


@router.get("/health", response_model=HealthPublic)
def read_health(graph: GraphDep) -> HealthPublic:
    """Answers 200 when Neo4j answers; a GraphrecError (503) otherwise."""
    graph.read("admin/ping")
    return HealthPublic(status="ok", neo4j="up")
