"""``POST /users`` (sign-up with declared interests) and ``GET /users/{id}`` (the profile)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import GraphDep, ReadKey, SpineDep, WriteKey
from api.errors import BAD_PARAMS, BODY_ERRORS, KEY_ERRORS, UNAVAILABLE, ErrorPublic
from graphrec import accounts
from graphrec.ids import Id
from graphrec.jsontypes import json_int

router = APIRouter(prefix="/users", tags=["users"])


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id | None = Field(default=None, description="or generated (see the id rule)")
    name: str | None = Field(default=None, max_length=200)
    interests: list[str] = Field(default_factory=list, max_length=50, description="tag ids")
    active_hour: json_int(ge=0, le=23) | None = None  # type: ignore[valid-type]


class UserCreated(BaseModel):
    user_id: str
    interests: list[str]
    embedded: bool


class InterestPublic(BaseModel):
    tag: str
    weight: float
    declared: bool


class UserPublic(BaseModel):
    user_id: str
    name: str | None
    created_at: int | None
    last_active_at: int | None
    active_hour: int | None
    is_creator: bool
    interests: list[InterestPublic]
    communities: list[dict[str, Any]]
    follows: list[str]
    seen: int
    liked: int
    skipped: int
    has_embedding: bool
    has_online_embedding: bool


@router.post(
    "",
    status_code=201,
    response_model=UserCreated,
    dependencies=[WriteKey],
    responses={
        **KEY_ERRORS,
        **BODY_ERRORS,
        **UNAVAILABLE,
        409: {"model": ErrorPublic, "description": "the id is taken"},
        422: {"model": ErrorPublic, "description": "malformed, or an unknown tag in interests"},
    },
)
def create_user(body: UserCreate, graph: GraphDep, spine: SpineDep) -> UserCreated:
    """Sign up; declared interests (existing tag ids) make the first feed personal."""
    created = UserCreated(
        **accounts.sign_up(
            graph,
            user_id=body.id,
            name=body.name,
            interests=body.interests,
            active_hour=body.active_hour,
        )
    )
    spine.add_user(created.user_id, created.interests)  # known to events and feeds at once
    return created


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    dependencies=[ReadKey],
    responses={
        **BAD_PARAMS,
        **UNAVAILABLE,
        404: {"model": ErrorPublic, "description": "unknown user"},
    },
)
def read_user(user_id: str, graph: GraphDep) -> UserPublic:
    """Profile: strongest interests (declared or learned from events), communities, counts."""
    return UserPublic(**accounts.user_profile(graph, user_id))
