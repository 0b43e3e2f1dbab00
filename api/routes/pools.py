"""``GET /pools``: each traffic pool's size, budgets and what has been served."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import GraphDep, ReadKey
from api.errors import UNAVAILABLE
from graphrec import accounts

router = APIRouter(prefix="/pools", tags=["pools"], dependencies=[ReadKey])


class PoolPublic(BaseModel):
    pool_id: str
    level: int | None
    name: str | None
    budget_min: int | None
    budget_max: int | None
    videos: int
    budget: int
    served: int
    under_budget: int


@router.get("", response_model=list[PoolPublic], responses={**UNAVAILABLE})
def read_pools(graph: GraphDep) -> list[PoolPublic]:
    return [PoolPublic(**r) for r in accounts.pools_overview(graph)]
