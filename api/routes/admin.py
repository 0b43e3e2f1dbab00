"""Admin: ``POST /admin/pools/cycle`` (one pool cycle) and ``POST /admin/train``.

Both always need the API key. CLI equivalents: ``graphrec pools cycle`` and ``graphrec train``
(+ ``graphrec communities``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import GraphDep, SettingsDep, WriteKey
from api.lifecycle import run_cycle, run_training

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[WriteKey])


@router.post("/pools/cycle", responses={409: {"description": "a cycle is running"}})
def create_pool_cycle(graph: GraphDep, settings: SettingsDep) -> dict[str, Any]:
    """Run one pool cycle now: score spent budgets, promote, settle, look back, spill over."""
    return run_cycle(graph, settings)


@router.post("/train")
def create_training(graph: GraphDep, settings: SettingsDep) -> dict[str, Any]:
    """Train embeddings and communities now (blocks until done; the CLI suits long runs)."""
    return run_training(graph, settings)
