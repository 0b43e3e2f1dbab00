"""Admin: ``POST /admin/pools/cycle`` (one pool cycle) and ``POST /admin/train``.

Both always need the API key. CLI equivalents: ``graphrec pools cycle`` and ``graphrec train``
(+ ``graphrec communities``). Both first let the graph writer catch up (the cycle counts
impressions, training reads interactions) and refresh Redis from the graph afterwards.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import GraphDep, SettingsDep, SpineDep, WriteKey, WriterDep
from api.lifecycle import run_cycle, run_training
from graphrec.spine.state import sync_state

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[WriteKey])


@router.post("/pools/cycle", responses={409: {"description": "a cycle is running"}})
def create_pool_cycle(
    graph: GraphDep, settings: SettingsDep, spine: SpineDep, writer: WriterDep
) -> dict[str, Any]:
    """Run one pool cycle now: score spent budgets, promote, settle, look back, spill over."""
    writer.drain()
    result = run_cycle(graph, settings)
    sync_state(graph, spine, ("budgets", "lists"))
    return result


@router.post("/train")
def create_training(
    graph: GraphDep, settings: SettingsDep, spine: SpineDep, writer: WriterDep
) -> dict[str, Any]:
    """Train embeddings and communities now (blocks until done; the CLI suits long runs)."""
    writer.drain()
    result = run_training(graph, settings)
    sync_state(graph, spine, ("embeddings",))
    return result
