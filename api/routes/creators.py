"""``POST /creators`` (a creator account, or the creator role on a user) and
``GET /creators/{id}`` (the creator page, spillover effects included)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import GraphDep, ReadKey, SpineDep, WriteKey
from api.errors import BAD_PARAMS, BODY_ERRORS, KEY_ERRORS, UNAVAILABLE, ErrorPublic
from graphrec import accounts
from graphrec.ids import Id

router = APIRouter(prefix="/creators", tags=["creators"])


class CreatorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id | None = Field(
        default=None,
        description="a user's id gives that user the creator role (one :User:Creator node)",
    )
    name: str | None = Field(default=None, max_length=200)


class CreatorCreated(BaseModel):
    creator_id: str
    is_user: bool


class CreatorPublic(BaseModel):
    creator_id: str
    name: str | None
    followers: int
    strikes: int
    account_score: float | None
    joined_at: int | None
    is_user: bool
    verticals: list[dict[str, Any]]
    videos: int
    approved: int
    rejected: int
    total_impressions: int
    total_likes: int
    recent: list[dict[str, Any]]
    spillover: list[dict[str, Any]]


@router.post(
    "",
    status_code=201,
    response_model=CreatorCreated,
    dependencies=[WriteKey],
    responses={
        **KEY_ERRORS,
        **BODY_ERRORS,
        **UNAVAILABLE,
        409: {"model": ErrorPublic, "description": "a creator with this id exists"},
    },
)
def create_creator(body: CreatorCreate, graph: GraphDep, spine: SpineDep) -> CreatorCreated:
    """A new creator; with the id of an existing user, that user becomes a creator too."""
    created = CreatorCreated(**accounts.make_creator(graph, creator_id=body.id, name=body.name))
    spine.add_creator(created.creator_id)
    return created


@router.get(
    "/{creator_id}",
    response_model=CreatorPublic,
    dependencies=[ReadKey],
    responses={
        **BAD_PARAMS,
        **UNAVAILABLE,
        404: {"model": ErrorPublic, "description": "unknown creator"},
    },
)
def read_creator(creator_id: str, graph: GraphDep) -> CreatorPublic:
    """Account, verticals, recent videos with pools, and videos lifted by spillover."""
    return CreatorPublic(**accounts.creator_page(graph, creator_id))
