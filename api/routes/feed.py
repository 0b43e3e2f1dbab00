"""``GET /users/{id}/feed``: the next n videos for a user, each with why it was chosen."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator
from starlette.background import BackgroundTasks

from api.deps import ReadKey, RecommenderDep
from api.errors import UNAVAILABLE, ErrorPublic
from graphrec.feed import SCENARIOS
from graphrec.spine.feed import StreamRecommender

log = logging.getLogger(__name__)
router = APIRouter(tags=["feed"], dependencies=[ReadKey])


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
    size = n or recommender.settings.feed_default_n
    # The body as FeedPublic describes it, serialised once by orjson: returning the model
    # would have FastAPI validate it again and serialise it in Python (the hottest route).
    # On the spine a feed from the user's queue is joined from the script's answer.
    # The route is async: a queued feed is one awaited Redis script on the event loop (no
    # hop to a thread); ranking (a miss, or the graph's feed) runs in the thread pool.
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
