"""``POST /events``: a batch of user events, appended at most once each (idempotent by id).

Acknowledged once Redis holds them (stream + online state, AOF); the graph writer stores them
in Neo4j soon after (docs/serving.md). The body is one event or a non-empty list of them.
Each event is validated on its own, so the route takes the body as parsed JSON and the spec
documents the exact shapes (below): a video event (every kind but ``follow``: ``video_id``
required, no ``creator_id``) or a follow (``creator_id``, or the ``video_id`` that won it).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SpineDep, WriteKey
from api.errors import BODY_ERRORS, KEY_ERRORS, UNAVAILABLE, ErrorPublic
from graphrec.config import Settings
from graphrec.events import MAX_WATCH_MS, EventKind
from graphrec.ids import Id
from graphrec.jsontypes import json_int
from graphrec.spine.append import append_events

router = APIRouter(tags=["events"], dependencies=[WriteKey])

VideoKind = Literal["impression", "view", "complete", "like", "comment", "share", "skip"]
# The documented kinds are the event kinds: a kind added to the product must appear here.
if set(get_args(VideoKind)) != {k.value for k in EventKind} - {"follow"}:
    raise RuntimeError("api/routes/events.py: VideoKind differs from graphrec's EventKind")
AT = "epoch ms; server time if absent; at most Settings.events_max_future_ms ahead of the server"


class VideoEvent(BaseModel):
    """An action on a video (documentation of the body; the server validates the same)."""

    model_config = ConfigDict(extra="forbid")

    event_id: Id = Field(description="client id; a repeat is acknowledged, never counted")
    user_id: Id
    kind: VideoKind
    video_id: Id
    watch_ms: json_int(ge=0, le=MAX_WATCH_MS) | None = None  # type: ignore[valid-type]
    at: json_int(ge=0) | None = Field(default=None, description=AT)  # type: ignore[valid-type]


class FollowEvent(BaseModel):
    """A follow: ``creator_id``, or the ``video_id`` whose creator is followed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": [f], "properties": {f: {"type": "string"}}}
                for f in ("creator_id", "video_id")
            ]
        },
    )

    event_id: Id = Field(description="client id; a repeat is acknowledged, never counted")
    user_id: Id
    kind: Literal["follow"]
    creator_id: Id | None = None
    video_id: Id | None = None
    watch_ms: json_int(ge=0, le=MAX_WATCH_MS) | None = None  # type: ignore[valid-type]
    at: json_int(ge=0) | None = Field(default=None, description=AT)  # type: ignore[valid-type]


EVENT_MODELS: dict[str, type[BaseModel]] = {"VideoEvent": VideoEvent, "FollowEvent": FollowEvent}


def request_body(settings: Settings) -> dict[str, Any]:
    """The exact body of ``POST /events`` for the spec."""
    one = {"oneOf": [{"$ref": f"#/components/schemas/{n}"} for n in EVENT_MODELS]}
    schema = {
        "oneOf": [
            one,
            {"type": "array", "items": one, "minItems": 1, "maxItems": settings.events_max_batch},
        ]
    }
    return {
        "required": True,
        "content": {
            "application/json": {"schema": schema, "examples": {"batch": {"value": EXAMPLE}}}
        },
    }


class RejectedPublic(BaseModel):
    index: int
    reason: str


class IngestPublic(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedPublic]


class EventsRefused(BaseModel):
    """422: the body is malformed (``detail`` only) or no event of it could be stored."""

    detail: str | list[dict[str, Any]]
    accepted: int | None = None
    duplicates: int | None = None
    rejected: list[RejectedPublic] | None = None


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
        **KEY_ERRORS,
        **BODY_ERRORS,
        **UNAVAILABLE,
        422: {
            "model": EventsRefused,
            "description": "an empty or malformed body, or a batch of which no event could be "
            "stored: each one's reason, naming the field",
        },
    },
)
def create_events(
    spine: SpineDep,
    events: list[Any] | dict[str, Any] = Body(..., description="one event or a list of them"),
) -> Any:
    """Store the good events, acknowledge repeated ids, report each bad one by index.

    200 when at least one event was stored or acknowledged; 422 when none was (every one is
    listed with the field at fault) and for an empty list. A repeated ``event_id`` is counted
    once, ever.
    """
    batch = events if isinstance(events, list) else [events]
    if not batch:
        return JSONResponse(
            status_code=422, content={"detail": "events: an empty batch; send at least one event"}
        )
    result = append_events(spine, batch)
    body = result.as_dict()
    if result.accepted == 0 and result.duplicates == 0:
        return JSONResponse(status_code=422, content={"detail": body["rejected"], **body})
    return body


__all__ = ["EVENT_MODELS", "ErrorPublic", "request_body", "router"]
