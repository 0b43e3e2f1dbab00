"""``GET /users/{id}/feed``: the next n videos for a user, each with why it was chosen.

A feed from the user's queue (a hit) is one awaited Redis script: FastAPI's own work per
request (resolving the dependencies, validating the query with pydantic) cost the API as much
CPU as the rest of the hit. :class:`FeedRoute` answers a request whose query string is plain
(:func:`plain_query`: only ``n``, ``scenario`` and ``record``, each once, with values the
route accepts as they are) and whose key passes :func:`api.deps.require_read_key` directly;
any other request takes the FastAPI path, so every refusal (422, 401, 403) is the one it was.
Both answer through :func:`answer_feed`; the middlewares and exception handlers wrap both
alike (the fast path runs inside the route); the OpenAPI spec is written from the route's
declaration, which the fast path leaves as it is. docs/serving.md has the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator
from starlette.background import BackgroundTasks
from starlette.types import Receive, Scope, Send

from api.deps import ReadKey, RecommenderDep, fast_path_target, scope_key_matches
from api.errors import UNAVAILABLE, ErrorPublic
from graphrec.config import Settings
from graphrec.feed import SCENARIOS, Recommender
from graphrec.spine.feed import StreamRecommender

log = logging.getLogger(__name__)

_SCENARIOS = {name.encode(): name for name in SCENARIOS}
_RECORD = {b"true": True, b"false": False, b"1": True, b"0": False}


def plain_query(query: bytes, max_n: int) -> tuple[int | None, str | None, bool] | None:
    """(n, scenario, record) of a plain feed query, else None (the FastAPI path decides).

    Plain: ``name=value`` pairs joined by ``&``, each of ``n``, ``scenario``, ``record`` at
    most once, nothing escaped; ``n`` digits without a leading zero in ``1..max_n``, a known
    scenario, ``record`` one of true/false/1/0: values the FastAPI path accepts, read the
    same. Anything else (odd, malformed, repeated, unknown) is left to it."""
    n: int | None = None
    scenario: str | None = None
    record = True
    if not query:
        return n, scenario, record
    seen: set[bytes] = set()
    for part in query.split(b"&"):
        name, eq, value = part.partition(b"=")
        if not eq or name in seen:
            return None
        seen.add(name)
        if name == b"n":
            # bytes.isdigit: ASCII digits only
            if not (value.isdigit() and len(value) <= 9 and value[0] != 48):  # 48: "0"
                return None
            n = int(value)
            if n > max_n:
                return None
        elif name == b"scenario":
            scenario = _SCENARIOS.get(value)
            if scenario is None:
                return None
        elif name == b"record":
            got = _RECORD.get(value)
            if got is None:
                return None
            record = got
        else:
            return None
    return n, scenario, record


def _key_passes(scope: Scope, settings: Settings) -> bool:
    """Whether :func:`api.deps.require_read_key` lets the request through: no key needed, or
    the first ``X-API-Key`` header (the one it reads) holds the key."""
    return not settings.api_read_requires_key or scope_key_matches(scope["headers"], settings)


class FeedRoute(APIRoute):
    """The feed route, answering plain requests (:func:`plain_query`, the key passing) on the
    spine without FastAPI's dependency resolution and validation; the rest as declared."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        recommender = fast_path_target(scope, "GET", "recommender", StreamRecommender)
        if recommender is not None and _key_passes(scope, scope["app"].state.settings):
            plain = plain_query(scope["query_string"], recommender.settings.feed_max_n)
            if plain is not None:
                n, scenario, record = plain
                user_id = scope["path_params"]["user_id"]
                response = await answer_feed(
                    recommender, user_id, n=n, scenario=scenario, record=record
                )
                await response(scope, receive, send)
                return
        await super().handle(scope, receive, send)


router = APIRouter(tags=["feed"], dependencies=[ReadKey], route_class=FeedRoute)


def digits(value: Any) -> Any:
    """A query number is digits only: ``10.0``, ``+10``, ``1e1`` and `` 10`` are refused."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise ValueError("a whole number written in digits")
    return value


class FeedItemPublic(BaseModel):
    video_id: str
    creator_id: str
    tags: list[str]
    source: str
    reason: str
    score: float
    sources: list[str]
    exploration: bool


class FeedPublic(BaseModel):
    user_id: str
    scenario: str
    items: list[FeedItemPublic]
    candidates: dict[str, int]
    took_ms: float
    timings_ms: dict[str, float]


@router.get(
    "/users/{user_id}/feed",
    response_model=FeedPublic,
    responses={
        200: {
            "description": "the feed",
            "headers": {
                "X-Feed-Queue": {
                    "description": "on the serving spine: hit (served from the user's "
                    "precomputed queue) or why it was ranked instead: none, user, epoch, "
                    "shape, short (docs/serving.md)",
                    "schema": {"type": "string"},
                }
            },
        },
        **UNAVAILABLE,
        404: {"model": ErrorPublic, "description": "unknown user"},
        422: {"model": ErrorPublic, "description": "bad n or scenario"},
    },
)
async def read_feed(
    user_id: str,
    recommender: RecommenderDep,
    n: Annotated[
        int | None,
        BeforeValidator(digits),
        Query(ge=1, description="how many videos (at most Settings.feed_max_n)"),
    ] = None,
    scenario: Annotated[
        str | None,
        Query(
            description="one of: " + ", ".join(SCENARIOS),
            json_schema_extra={"enum": list(SCENARIOS)},
        ),
    ] = None,
    record: Annotated[
        bool, Query(description="false: a preview; no impressions recorded, nothing counted")
    ] = True,
) -> Response:
    """The next ``n`` videos; their impressions are recorded (budgets count down)."""
    return await answer_feed(recommender, user_id, n=n, scenario=scenario, record=record)


async def answer_feed(
    recommender: Recommender | StreamRecommender,
    user_id: str,
    *,
    n: int | None,
    scenario: str | None,
    record: bool,
) -> Response:
    """The feed's answer, for the FastAPI path and :class:`FeedRoute`'s alike."""
    size = n or recommender.settings.feed_default_n
    # The body as FeedPublic describes it, serialised once by orjson: returning the model
    # would have FastAPI validate it again and serialise it in Python (the hottest route).
    # On the spine a feed from the user's queue is joined from the script's answer.
    # The route is async: a queued feed is one awaited Redis script on the event loop (no
    # hop to a thread); ranking (a miss, or the graph's feed) runs in the thread pool (a
    # miss on the loop with ``feed_miss_inline``).
    # X-Feed-Queue says where a spine feed came from: "hit" (the user's queue) or why the
    # queue missed (none, user, epoch, shape, short: graphrec.spine.queue.MISSES).
    headers: dict[str, str] | None = None
    background = None
    if isinstance(recommender, StreamRecommender):
        # A miss answers first and stores the user's next pages (the queue) after the
        # response is sent: a background task, run in the thread pool.
        later: list[Callable[[], None]] = []
        body, queue = await recommender.feed_body_async(
            user_id, size, scenario=scenario, record=record, deferred=later
        )
        headers = {"X-Feed-Queue": queue} if queue else None
        if later:
            background = BackgroundTasks()
            for task in later:
                background.add_task(_store_queue, task)
    else:
        feed = await run_in_threadpool(
            recommender.feed, user_id, size, scenario=scenario, record=record
        )
        body = feed.to_json()
    return Response(
        content=body, media_type="application/json", headers=headers, background=background
    )


def _store_queue(task: Callable[[], None]) -> None:
    """Store a ranked feed's next pages; the feed was answered already, so a failure
    (Redis gone meanwhile) only costs the next feed a ranking: logged, not raised."""
    try:
        task()
    except Exception as e:
        log.warning("feed queue not stored after the answer: %s", e)
