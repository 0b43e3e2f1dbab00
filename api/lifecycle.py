"""Adapters from the API to the lifecycle and learning areas' library functions.

Upload and the pool cycle come from :mod:`graphrec.lifecycle`. Training is looked up when
called, so the API answers 501 with a reason while the learning area has not landed it.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.lifecycle.cycle import run_cycle as lifecycle_cycle
from graphrec.lifecycle.upload import upload_video as lifecycle_upload

TRAIN = [
    ("graphrec.learn.pipeline", "train_graph"),
    ("graphrec.learn.train", "train_graph"),
    ("graphrec.learn", "train_graph"),
]


def find(candidates: list[tuple[str, str]], what: str) -> Callable[..., Any]:
    for module, name in candidates:
        try:
            fn = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if callable(fn):
            return fn
    raise HTTPException(status_code=501, detail=f"{what} is not available in this installation")


def plain(result: Any) -> dict[str, Any]:
    """A report object as a JSON-able dict."""
    for method in ("to_dict", "as_dict", "model_dump"):
        if hasattr(result, method):
            return getattr(result, method)()
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    return result if isinstance(result, dict) else {"result": result}


def upload_video(graph: Graph, settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """Upload through the lifecycle: validated, tagged, audited, cold start or rejected."""
    return plain(lifecycle_upload(graph, body, settings=settings))


def run_cycle(graph: Graph, settings: Settings) -> dict[str, Any]:
    return plain(lifecycle_cycle(graph, settings=settings))


def run_training(graph: Graph, settings: Settings) -> dict[str, Any]:
    return plain(find(TRAIN, "training (the learning area)")(graph, settings=settings))
