"""``POST /events``: a batch of user events, appended at most once each (idempotent by id).

Acknowledged once Redis holds them (stream + online state, AOF); the graph writer stores them
in Neo4j soon after (docs/serving.md). The body is one event or a non-empty list of them.
Each event is validated on its own, so the route takes the body as parsed JSON and the spec
documents the exact shapes (below): a video event (every kind but ``follow``: ``video_id``
required, no ``creator_id``) or a follow (``creator_id``, or the ``video_id`` that won it).

A batch's body is most of the request's cost: :class:`EventsRoute` reads a body sent as
``application/json`` with the key passing :func:`api.deps.require_write_key` itself and parses
it with orjson (half the stdlib's time); a body orjson refuses or that is not a list or an
object (the stdlib may still read it, or refuse it with FastAPI's own words), another content
type or a key that does not pass takes the FastAPI path, with the body handed on, so every
refusal is the one it was. Both answer through :func:`answer`; the spec is written from the
route's declaration, which the fast path leaves as it is.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import orjson
from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import Message, Receive, Scope, Send

from api.deps import SpineDep, WriteKey, fast_path_target, scope_key_matches
from api.errors import BODY_ERRORS, KEY_ERRORS, UNAVAILABLE, ErrorPublic
from graphrec.config import Settings
from graphrec.events import MAX_WATCH_MS, EventKind, FloatSeen
from graphrec.ids import Id
from graphrec.jsontypes import json_int
from graphrec.spine import Spine
from graphrec.spine.append import append_events

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


def _plain_json(scope: Scope) -> bool:
    """Whether the first ``Content-Type`` (the one FastAPI reads) is exactly JSON's."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value == b"application/json"
    return False


async def _read_body(receive: Receive) -> bytes:
    """The whole body, as FastAPI's ``request.body()`` reads it; a failure is its 400 (a 413
    from :class:`api.limits.BodyLimit` passes as it is)."""
    chunks: list[bytes] = []
    try:
        while True:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    return b"".join(chunks)
            else:  # http.disconnect: the client left
                raise ConnectionError("the client disconnected")
    except HTTPException:
        raise
    except Exception as e:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from e


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` with ``body`` (read already) handed out first."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class EventsRoute(APIRoute):
    """``POST /events``, answering a JSON body orjson reads as a list or an object (the key
    passing) without FastAPI's body parsing and dependency resolution; the rest as declared."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        spine = fast_path_target(scope, "POST", "spine", Spine)
        if (
            spine is not None
            and MAX_BODY_SIZE_SCOPE_KEY not in scope  # FastAPI's own limit: its path
            and _plain_json(scope)
            # as api.deps.require_write_key checks it
            and scope_key_matches(scope["headers"], scope["app"].state.settings)
        ):
            body = await _read_body(receive)
            try:
                events = orjson.loads(body)
            except orjson.JSONDecodeError:
                events = None
            if isinstance(events, list | dict):
                try:
                    response = await run_in_threadpool(_answer_fast, spine, events)
                except FloatSeen:  # maybe a big integer, which the stdlib reads exactly
                    pass
                else:
                    await response(scope, receive, send)
                    return
            receive = _replay(body, receive)
        await super().handle(scope, receive, send)


router = APIRouter(tags=["events"], dependencies=[WriteKey], route_class=EventsRoute)
_INGEST: TypeAdapter[IngestPublic] = TypeAdapter(IngestPublic)


def answer(
    spine: Spine, events: list[Any] | dict[str, Any], *, floats: bool = True
) -> dict[str, Any] | JSONResponse:
    """The route's answer: the result's body (200) or a 422 (``floats``: see
    :func:`~graphrec.spine.append.append_events`)."""
    batch = events if isinstance(events, list) else [events]
    if not batch:
        return JSONResponse(
            status_code=422, content={"detail": "events: an empty batch; send at least one event"}
        )
    result = append_events(spine, batch, floats=floats)
    body = result.as_dict()
    if result.accepted == 0 and result.duplicates == 0:
        return JSONResponse(status_code=422, content={"detail": body["rejected"], **body})
    return body


def _answer_fast(spine: Spine, events: list[Any] | dict[str, Any]) -> Response:
    """:func:`answer` as a response: a 200's body serialized as FastAPI does it for the
    declared ``response_model`` (validated, then pydantic's JSON), byte for byte. The body
    was read by orjson: a float the model would read raises :class:`FloatSeen`."""
    got = answer(spine, events, floats=False)
    if isinstance(got, Response):
        return got
    return Response(_INGEST.dump_json(_INGEST.validate_python(got)), media_type="application/json")


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
    return answer(spine, events)


__all__ = ["EVENT_MODELS", "ErrorPublic", "EventsRoute", "answer", "request_body", "router"]
