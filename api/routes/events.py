"""``POST /events``: a batch of user events, appended at most once each (idempotent by id).

Acknowledged once Redis holds them (stream + online state, AOF); the graph writer stores them
in Neo4j soon after (docs/serving.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import SpineDep, WriteKey
from graphrec.events import Event
from graphrec.spine.append import append_events

router = APIRouter(tags=["events"], dependencies=[WriteKey])


class RejectedPublic(BaseModel):
    index: int
    reason: str


class IngestPublic(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedPublic]


EXAMPLE = [
    {
        "event_id": "e-1",
        "user_id": "u0000001",
        "kind": "view",
        "video_id": "v00000001",
        "watch_ms": 5400,
    },
    {"event_id": "e-2", "user_id": "u0000001", "kind": "like", "video_id": "v00000001"},
]


@router.post(
    "/events",
    response_model=IngestPublic,
    responses={
        422: {"description": "no event could be stored: each one's reason, naming the field"},
        503: {"description": "Redis is unavailable: nothing was acknowledged"},
    },
)
def create_events(
    spine: SpineDep,
    events: list[Any] | dict[str, Any] = Body(
        ...,
        description="one event or a list; each: " + ", ".join(Event.model_fields),
        examples=[EXAMPLE],
    ),
) -> Any:
    """Store the good events, acknowledge repeated ids, report each bad one by index.

    200 when at least one event was stored or acknowledged; 422 when none was (every one is
    listed with the field at fault). A repeated ``event_id`` is counted once, ever.
    """
    batch = events if isinstance(events, list) else [events]
    result = append_events(spine, batch)
    body = result.as_dict()
    if batch and result.accepted == 0 and result.duplicates == 0:
        return JSONResponse(status_code=422, content={"detail": body["rejected"], **body})
    return body
