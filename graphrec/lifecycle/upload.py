"""Uploading a video: validate -> tag -> audit -> store (cold-start pool or rejected) -> embed.

Input errors (malformed JSON, non-UTF-8, no creator, an empty caption, an absurd number of
hashtags) raise :class:`InvalidInput` or :class:`NotFound` and store nothing. An upload that
is well-formed but breaks an audit rule (banned term, hashtag stuffing, link bait, repeated
characters, a duplicate caption, a creator under strikes) is stored as ``rejected`` with its
reasons: never served, and it counts against the creator's account score.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graphrec import cypher
from graphrec.config import Settings, get_settings
from graphrec.db import Graph
from graphrec.errors import Conflict, GraphrecError, InvalidInput, NotFound
from graphrec.ids import check_id
from graphrec.lifecycle.audit import AuditRules, CreatorFacts, audit, rules_from_settings
from graphrec.lifecycle.budgets import budget_draw, now_ms
from graphrec.lifecycle.tagging import (
    candidate_tags,
    caption_key,
    normalise_hashtags,
    tag_upload,
)

log = logging.getLogger(__name__)
MAX_CAPTION = 2_200
MAX_DURATION_MS = 10 * 60_000
EMBED_QUERY = "learn/embed_new_video"


@dataclass(frozen=True)
class Upload:
    """A validated upload (hashtags normalised, caption's own #words included)."""

    id: str
    creator: str
    caption: str
    hashtags: list[str]
    duration_ms: int
    created_at: int


@dataclass
class UploadResult:
    video_id: str
    status: str
    reasons: list[str]
    pool: str | None
    budget: int | None
    tags: list[dict[str, Any]] = field(default_factory=list)
    embedded: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid UTF-8 text (lone surrogate)") from None
    return value


def parse_uploads(raw: bytes | str) -> list[dict[str, Any]]:
    """One upload (a JSON object) or several (a list of objects) from raw JSON bytes."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidInput(f"upload is not valid UTF-8 (byte {e.start}): {e.reason}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"upload is not valid JSON: {e.msg} (line {e.lineno})") from None
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(x, dict) for x in items):
        raise InvalidInput("an upload is a JSON object (or a non-empty list of objects)")
    return items


def validate(
    data: Mapping[str, Any], *, settings: Settings | None = None, now: int | None = None
) -> Upload:
    """Check one upload's fields; raises InvalidInput with what is wrong."""
    s = settings or get_settings()
    if not isinstance(data, Mapping):
        raise InvalidInput("an upload is a JSON object")
    creator = data.get("creator", data.get("creator_id"))
    if creator is None or (isinstance(creator, str) and not creator.strip()):
        raise InvalidInput("creator is required (the id of an existing creator)")
    creator = check_id(creator, "creator")
    caption = data.get("caption")
    if caption is None or (isinstance(caption, str) and not caption.strip()):
        raise InvalidInput("caption is required and must not be empty")
    caption = _text(caption, "caption").strip()
    if len(caption) > MAX_CAPTION:
        raise InvalidInput(f"caption is longer than {MAX_CAPTION} characters")
    raw_tags = data.get("hashtags", [])
    if not isinstance(raw_tags, list):
        raise InvalidInput("hashtags must be a list of strings")
    if len(raw_tags) > s.upload_max_hashtags:
        raise InvalidInput(
            f"{len(raw_tags)} hashtags: at most {s.upload_max_hashtags} are accepted"
        )
    tags = normalise_hashtags([_text(h, "hashtag") for h in raw_tags], caption)
    if len(tags) > s.upload_max_hashtags:
        raise InvalidInput(f"{len(tags)} hashtags: at most {s.upload_max_hashtags} are accepted")
    duration = data.get("duration_ms", 15_000)
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise InvalidInput("duration_ms must be an integer (milliseconds)")
    if not 0 < duration <= MAX_DURATION_MS:
        raise InvalidInput(f"duration_ms must be in 1..{MAX_DURATION_MS}, not {duration}")
    vid = data.get("id")
    vid = check_id(vid, "id") if vid is not None else f"v-{uuid.uuid4().hex[:16]}"
    return Upload(
        id=vid,
        creator=creator,
        caption=caption,
        hashtags=tags,
        duration_ms=duration,
        created_at=now if now is not None else now_ms(),
    )


def creator_facts(graph: Graph, creator_id: str, caption: str) -> CreatorFacts:
    rows = graph.read(
        "lifecycle/creator_facts", creator_id=creator_id, caption_key=caption_key(caption)
    )
    if not rows:
        raise NotFound(f"no creator {creator_id!r}")
    r = rows[0]
    return CreatorFacts(
        creator_id=r["creator_id"],
        strikes=int(r["strikes"]),
        account_score=float(r["account_score"]),
        duplicate_of=r["duplicate_of"],
    )


def upload_video(
    graph: Graph,
    data: Mapping[str, Any],
    *,
    settings: Settings | None = None,
    rules: AuditRules | None = None,
    now: int | None = None,
) -> UploadResult:
    """Validate, tag, audit and store one upload; approved ones enter the cold-start pool."""
    s = settings or get_settings()
    up = validate(data, settings=s, now=now)
    return _store(graph, up, settings=s, rules=rules or rules_from_settings(s))


def upload_many(
    graph: Graph,
    items: Sequence[Mapping[str, Any]],
    *,
    settings: Settings | None = None,
    rules: AuditRules | None = None,
    now: int | None = None,
) -> list[UploadResult]:
    """Several uploads: every one is validated before the first is stored."""
    s = settings or get_settings()
    ups = [validate(d, settings=s, now=now) for d in items]
    ids = [u.id for u in ups]
    if len(set(ids)) != len(ids):
        raise InvalidInput("the same video id appears twice in one upload")
    r = rules or rules_from_settings(s)
    for creator in dict.fromkeys(u.creator for u in ups):  # unknown creators: store nothing
        creator_facts(graph, creator, "")
    return [_store(graph, u, settings=s, rules=r) for u in ups]


def upload_file(graph: Graph, path: Path, **kwargs: Any) -> list[UploadResult]:
    """Upload what a JSON file holds (one object or a list)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}") from None
    return upload_many(graph, parse_uploads(raw), **kwargs)


def _store(graph: Graph, up: Upload, *, settings: Settings, rules: AuditRules) -> UploadResult:
    facts = creator_facts(graph, up.creator, up.caption)
    lookup = candidate_tags(up.hashtags, up.caption)
    known = {r["tag"]: r["category"] for r in graph.read("lifecycle/tag_categories", tags=lookup)}
    tagging = tag_upload(up.hashtags, up.caption, known)
    reasons = audit(caption=up.caption, hashtags=up.hashtags, facts=facts, rules=rules)
    status = "rejected" if reasons else "approved"
    try:
        rows = _create(
            graph, up, tagging=tagging, status=status, reasons=reasons, settings=settings
        )
    except Conflict as e:  # the id's uniqueness constraint: nothing was stored
        raise Conflict(f"id: a video {up.id!r} exists already") from e
    if not rows:  # the creator vanished between the check and the write
        raise NotFound(f"no creator {up.creator!r}")
    row = rows[0]
    result = UploadResult(
        video_id=row["video_id"],
        status=row["status"],
        reasons=list(row["reasons"] or []),
        pool=row["pool"],
        budget=row["budget"],
        tags=[
            {"tag": t.tag, "category": t.category, "source": t.source, "new": t.new}
            for t in tagging
        ],
    )
    if status == "approved":
        result.embedded = embed_new_video(graph, up.id)
    return result


def _create(
    graph: Graph,
    up: Upload,
    *,
    tagging: Sequence[Any],
    status: str,
    reasons: list[str],
    settings: Settings,
) -> list[dict[str, Any]]:
    return graph.write(
        "lifecycle/create_video",
        video={
            "id": up.id,
            "creator": up.creator,
            "caption": up.caption,
            "caption_key": caption_key(up.caption),
            "hashtags": up.hashtags,
            "duration_ms": up.duration_ms,
            "created_at": up.created_at,
            "status": status,
            "reasons": reasons,
        },
        tags=[{"tag": t.tag, "category": t.category, "source": t.source} for t in tagging],
        budget_min=settings.cold_start_budget_min,
        budget_max=settings.cold_start_budget_max,
        draw=budget_draw(settings, up.id),
        penalty=settings.rejection_penalty,
        at=up.created_at,
    )


def embed_new_video(graph: Graph, video_id: str) -> bool:
    """Give a new video an embedding from its tags and creator, when learning provides it."""
    if EMBED_QUERY not in cypher.library():
        return False
    try:
        return bool(graph.write(EMBED_QUERY, video_id=video_id))
    except GraphrecError as e:  # the upload stands; retrieval waits for the next training
        log.warning("could not embed new video %s: %s", video_id, e)
        return False
