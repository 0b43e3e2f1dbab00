"""Adapters from the API to the lifecycle and learning areas' library functions.

They are looked up when called, so the API works (answering 501 with a reason) while an area
has not landed its function yet, and picks it up as soon as it has.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException

from graphrec import cypher
from graphrec.config import Settings
from graphrec.db import Graph

UPLOAD = [("graphrec.lifecycle.upload", "upload"), ("graphrec.lifecycle", "upload")]
CYCLE = [
    ("graphrec.lifecycle.cycle", "run_cycle"),
    ("graphrec.lifecycle.cycle", "cycle"),
    ("graphrec.lifecycle", "run_cycle"),
]
TRAIN = [("graphrec.learn.train", "train_graph"), ("graphrec.learn.pipeline", "train_graph")]


def find(candidates: list[tuple[str, str]], what: str) -> Callable[..., Any]:
    for module, name in candidates:
        try:
            fn = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    raise HTTPException(status_code=501, detail=f"{what} is not available in this installation")


def _plain(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return result
    if hasattr(result, "as_dict"):
        return result.as_dict()  # type: ignore[no-any-return]
    if hasattr(result, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(result)
    if hasattr(result, "model_dump"):
        return result.model_dump()  # type: ignore[no-any-return]
    return {"result": result}


def upload_video(graph: Graph, settings: Settings, body: dict[str, Any]) -> str:
    """Upload through the lifecycle; returns the new video's id."""
    fn = find(UPLOAD, "upload (the lifecycle area)")
    result = _plain(fn(graph, settings=settings, **body))
    video_id = str(result.get("video_id") or result.get("id"))
    if "learn/embed_new_video" in cypher.library():
        graph.write("learn/embed_new_video", video_id=video_id)
    return video_id


def run_cycle(graph: Graph, settings: Settings) -> dict[str, Any]:
    return _plain(find(CYCLE, "the pool cycle (the lifecycle area)")(graph, settings=settings))


def run_training(graph: Graph, settings: Settings) -> dict[str, Any]:
    return _plain(find(TRAIN, "training (the learning area)")(graph, settings=settings))
