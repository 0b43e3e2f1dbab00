"""Adapters from the API to the lifecycle and learning areas' library functions.

Upload and the pool cycle come from :mod:`graphrec.lifecycle`, training and communities from
:mod:`graphrec.learn.pipeline` (imported when called: torch loads only for training).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.lifecycle.cycle import run_cycle as lifecycle_cycle
from graphrec.lifecycle.upload import upload_video as lifecycle_upload


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
