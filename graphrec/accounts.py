"""Sign-up and creator accounts, and the read pages the API serves (users, creators, videos,
pools). Thin wrappers over named queries in ``cypher/serving/`` raising graphrec errors."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from graphrec import cypher
from graphrec.db import Graph
from graphrec.errors import Conflict, DatabaseError, InvalidInput, NotFound
from graphrec.ids import check_id

NEW_CREATOR_ACCOUNT_SCORE = 0.5
log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


def sign_up(
    graph: Graph,
    *,
    user_id: str | None = None,
    name: str | None = None,
    interests: Sequence[str] = (),
    active_hour: int | None = None,
    at: int | None = None,
) -> dict[str, Any]:
    """A new user with declared interests (tags that must exist); 409 when the id is taken.

    The user's embedding is set from those interests at once (``learn/embed_new_user``, when
    the learning area provides it and tag embeddings exist), so the first feed is personal.
    """
    uid = check_id(user_id, "user_id") if user_id is not None else f"u-{uuid.uuid4().hex[:12]}"
    tags = list(dict.fromkeys(t.strip().lstrip("#").lower() for t in interests if t.strip()))
    if tags:
        known = {r["tag"] for r in graph.read("serving/known_tags", tags=tags)}
        unknown = [t for t in tags if t not in known]
        if unknown:
            raise InvalidInput(f"interests: unknown tags {unknown}")
    rows = graph.write(
        "serving/create_user",
        id=uid,
        display_name=name or uid,
        active_hour=active_hour,
        tags=tags,
        at=at if at is not None else now_ms(),
    )
    if not rows:
        raise Conflict(f"user_id: a user {uid!r} exists already")
    embedded = False
    if "learn/embed_new_user" in cypher.library():
        try:
            embedded = bool(graph.write("learn/embed_new_user", user_id=uid))
        except DatabaseError as e:  # the user exists; the embedding can come later
            log.warning("sign-up of %s: no embedding yet (%s)", uid, e)
    return {"user_id": uid, "interests": tags, "embedded": embedded}


def make_creator(
    graph: Graph, *, creator_id: str | None = None, name: str | None = None, at: int | None = None
) -> dict[str, Any]:
    """A new creator, or the creator role on the user with that id; 409 when one exists."""
    cid = (
        check_id(creator_id, "creator_id")
        if creator_id is not None
        else f"c-{uuid.uuid4().hex[:12]}"
    )
    rows = graph.write(
        "serving/create_creator",
        id=cid,
        display_name=name,
        at=at if at is not None else now_ms(),
        account_score=NEW_CREATOR_ACCOUNT_SCORE,
    )
    if not rows:
        raise Conflict(f"creator_id: a creator {cid!r} exists already")
    return {"creator_id": cid, "is_user": bool(rows[0]["is_user"])}


def user_profile(graph: Graph, user_id: str, *, top: int = 20) -> dict[str, Any]:
    rows = graph.read("serving/user_profile", user_id=user_id, top=top)
    if not rows:
        raise NotFound(f"user_id: unknown user {user_id!r}")
    return rows[0]


def video_detail(graph: Graph, video_id: str) -> dict[str, Any]:
    rows = graph.read("serving/video_detail", video_id=video_id)
    if not rows:
        raise NotFound(f"video_id: unknown video {video_id!r}")
    return rows[0]


def creator_page(graph: Graph, creator_id: str, *, recent: int = 20) -> dict[str, Any]:
    rows = graph.read("serving/creator_page", creator_id=creator_id, recent=recent)
    if not rows:
        raise NotFound(f"creator_id: unknown creator {creator_id!r}")
    return rows[0]


def pools_overview(graph: Graph) -> list[dict[str, Any]]:
    return graph.read("serving/pools_overview")


__all__ = [
    "creator_page",
    "make_creator",
    "pools_overview",
    "sign_up",
    "user_profile",
    "video_detail",
]
