"""Adapters from the API to the lifecycle and learning areas' library functions.

Upload and the pool cycle come from :mod:`graphrec.lifecycle`, training and communities from
:mod:`graphrec.learn.pipeline` (imported when called: torch loads only for training). Library
results become JSON through their ``as_dict()`` (the one conversion convention).
"""

from __future__ import annotations

from typing import Any

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.errors import NotFound
from graphrec.lifecycle.cycle import run_cycle as lifecycle_cycle
from graphrec.lifecycle.upload import upload_video as lifecycle_upload


def upload_video(graph: Graph, settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """Upload through the lifecycle: validated, tagged, audited, cold start or rejected.

    An unknown creator is a 404 naming the request's field, as every unknown id in the API.
    """
    try:
        return lifecycle_upload(graph, body, settings=settings).as_dict()
    except NotFound as e:
        raise NotFound(f"creator_id: unknown creator {body.get('creator_id')!r}") from e


def run_cycle(graph: Graph, settings: Settings) -> dict[str, Any]:
    return lifecycle_cycle(graph, settings=settings).as_dict()
