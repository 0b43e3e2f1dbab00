"""``POST /videos`` (upload: tagging, audit, cold-start pool) and ``GET /videos/{id}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import GraphDep, ReadKey, SettingsDep, SpineDep, WriteKey
from api.errors import BAD_PARAMS, BODY_ERRORS, KEY_ERRORS, UNAVAILABLE, ErrorPublic
from api.lifecycle import upload_video
from graphrec import accounts
from graphrec.ids import Id
from graphrec.jsontypes import JsonInt

router = APIRouter(prefix="/videos", tags=["videos"])


class VideoCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creator_id: Id
    caption: str = Field(min_length=1, max_length=2_200)
    hashtags: list[str] = Field(default_factory=list)
    duration_ms: JsonInt = Field(default=15_000, ge=1, le=600_000)
    id: Id | None = Field(default=None, description="or generated (see the id rule)")


class VideoPoolPublic(BaseModel):
    """The pool a video is in: its budget there, what was served, since when, which cycle."""

    id: str
    budget: int | None
    served: int | None
    since: int | None
    cycle: int | None


class VideoPublic(BaseModel):
    video_id: str
    creator_id: str | None
    caption: str | None
    hashtags: list[str] | None
    tags: list[str]
    duration_ms: int | None
    created_at: int | None
    status: str | None
    reasons: list[str]
    pool: VideoPoolPublic | None
    counters: dict[str, int]
    score: float | None
    spillover_boost: float | None
    spillover_from: str | None
    spillover_at: int | None
    revived_at: int | None
    has_embedding: bool


@router.post(
    "",
    status_code=201,
    response_model=VideoPublic,
    dependencies=[WriteKey],
    responses={
        **KEY_ERRORS,
        **BODY_ERRORS,
        **UNAVAILABLE,
        404: {"model": ErrorPublic, "description": "unknown creator"},
        409: {"model": ErrorPublic, "description": "a video with this id exists"},
    },
)
def create_video(
    body: VideoCreate, graph: GraphDep, settings: SettingsDep, spine: SpineDep
) -> VideoPublic:
    """Upload: tagged, audited (a rejection keeps its reasons), approved ones enter cold start."""
    result = upload_video(graph, settings, body.model_dump(exclude_none=True))
    video = VideoPublic(**accounts.video_detail(graph, result["video_id"]))
    pool = video.pool.model_dump() if video.pool is not None else {}
    budget = int(pool.get("budget") or 0)
    spine.add_video(
        {
            "video_id": video.video_id,
            "creator_id": video.creator_id,
            "tags": video.tags,
            "status": video.status,
            "reasons": video.reasons,
            "duration_ms": video.duration_ms,
        },
        budget=budget - int(pool.get("served") or 0) if budget > 0 else None,
        entry=f"{pool.get('id')}:{pool.get('since')}" if budget > 0 else None,
    )
    spine.lists_stale()  # the graph writer refreshes the cold-start list on its next round
    return video


@router.get(
    "/{video_id}",
    response_model=VideoPublic,
    dependencies=[ReadKey],
    responses={
        **BAD_PARAMS,
        **UNAVAILABLE,
        404: {"model": ErrorPublic, "description": "unknown video"},
    },
)
def read_video(video_id: str, graph: GraphDep) -> Any:
    """Status (and rejection reasons), pool with budget and served, counters, score."""
    return VideoPublic(**accounts.video_detail(graph, video_id))
