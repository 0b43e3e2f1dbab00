"""``GET /users/{id}/feed``: the next n videos for a user, each with why it was chosen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import ReadKey, RecommenderDep
from graphrec.feed import SCENARIOS

router = APIRouter(tags=["feed"], dependencies=[ReadKey])


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
    responses={404: {"description": "unknown user"}, 422: {"description": "bad n or scenario"}},
)
def read_feed(
    user_id: str,
    recommender: RecommenderDep,
    n: Annotated[int | None, Query(ge=1, le=200, description="how many videos")] = None,
    scenario: Annotated[str | None, Query(description="one of: " + ", ".join(SCENARIOS))] = None,
    record: Annotated[
        bool, Query(description="false: a preview; no impressions recorded, nothing counted")
    ] = True,
) -> FeedPublic:
    """The next ``n`` videos; their impressions are recorded (budgets count down)."""
    feed = recommender.feed(
        user_id, n or recommender.settings.feed_default_n, scenario=scenario, record=record
    )
    return FeedPublic(
        user_id=feed.user_id,
        scenario=feed.scenario,
        items=[FeedItemPublic(**it.as_dict()) for it in feed.items],
        candidates=feed.candidates,
        took_ms=round(feed.took_ms, 3),
        timings_ms=feed.timings_ms,
    )
