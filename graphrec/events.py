"""Real-time events: a batch of user actions into the graph, at most once each.

``ingest`` validates every event on its own (a bad one is reported by its index and the field
at fault, the good ones are stored), stores the good ones in one transaction
(``serving/ingest_events``: one relationship per event carrying its client ``event_id``, the
video's counters moved with it) and moves each user's profile at once
(``serving/update_profiles``: ``INTERESTED_IN`` weights and ``User.online_embedding``), so the
user's next feed reflects the events with no retrain. Everything lives in Neo4j: several API
workers and restarts agree.

Idempotency: each relationship type an event writes has a uniqueness constraint on
``event_id`` (``cypher/schema/*_event_id_unique``). The batch query first checks every type for
the id (an index seek each) and skips what is stored; the constraint catches the one race left
(two batches carrying one new id at once): that batch fails with a conflict and is retried once,
when the check then sees the id. A repeated id is acknowledged as a duplicate, never counted.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neo4j import ManagedTransaction
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from graphrec.config import Settings, get_settings
from graphrec.db import Graph, run_in
from graphrec.domain import INTERACTIONS, KIND_WEIGHTS, MAX_WEIGHT, MIN_WEIGHT, EventKind
from graphrec.errors import Conflict, InvalidInput
from graphrec.ids import Id
from graphrec.jsontypes import json_int

# kind -> (relationship type, video counter it moves)
KIND_TYPES: dict[EventKind, tuple[str, str | None]] = {
    EventKind(kind): types for kind, types in INTERACTIONS.items()
}

_INGEST_LOCK = threading.Lock()
_FOLLOW = EventKind.follow  # read once per event by the validator: a module global is cheaper
MAX_WATCH_MS = 24 * 3_600_000


class Event(BaseModel):
    """One user action, as a client sends it.

    Ids follow :mod:`graphrec.ids` (refused, never stripped); numbers are strict integers
    (``true``, ``"5400"`` and ``5400.0`` are refused); ``at`` may be at most
    ``Settings.events_max_future_ms`` ahead of the server's clock.
    """

    model_config = ConfigDict(extra="forbid")

    event_id: Id = Field(description="client id, unique; a repeat is acknowledged, not counted")
    user_id: Id
    kind: EventKind
    video_id: Id | None = Field(default=None, description="every kind but follow")
    creator_id: Id | None = Field(default=None, description="follow only")
    watch_ms: json_int(ge=0, le=MAX_WATCH_MS) | None = None  # type: ignore[valid-type]
    at: json_int(ge=0) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="epoch ms; server time if absent; at most Settings.events_max_future_ms "
        "(default 5 minutes) ahead of the server's clock",
    )

    @model_validator(mode="after")
    def _target(self, info: ValidationInfo) -> Event:
        if self.kind is _FOLLOW:
            if self.video_id is None and self.creator_id is None:
                raise ValueError(
                    "creator_id: a follow needs creator_id (or the video_id that won it)"
                )
        elif self.video_id is None:
            raise ValueError(f"video_id: required for a {self.kind.value} event")
        elif self.creator_id is not None:
            raise ValueError("creator_id: only a follow event takes a creator_id")
        if self.at is not None:
            ctx = info.context or {}
            now = ctx.get("now") or int(time.time() * 1000)
            skew = ctx.get("max_future_ms")
            skew = get_settings().events_max_future_ms if skew is None else skew
            if self.at > now + skew:
                raise ValueError(
                    f"at: {self.at} is more than {skew // 1000} s ahead of the server's clock "
                    f"({now} ms)"
                )
        return self


@dataclass
class IngestResult:
    """What happened to a batch: stored, repeats acknowledged, and each rejected one."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"index": i, "reason": r} for i, r in self.rejected],
        }


def describe_error(e: ValidationError) -> str:
    """One line naming each field at fault: ``kind: Input should be 'like', ...``."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)  # whole-event checks name their field
    return "; ".join(parts)


def validate(
    raw: Iterable[Any], *, now: int | None = None, max_future_ms: int | None = None
) -> tuple[list[tuple[int, Event]], list[tuple[int, str]]]:
    """Each event checked on its own: (index, event) for the good, (index, reason) for the bad.

    ``now`` (epoch ms, default the clock) and ``max_future_ms`` (default the setting) bound
    how far ahead an event's ``at`` may be.
    """
    context = {"now": now, "max_future_ms": max_future_ms}
    items = list(raw)
    if all(isinstance(x, Mapping) for x in items):
        # The common case, a whole batch of good events: one call into pydantic-core (4x
        # faster than one call per event); any error: each event on its own, for its reason.
        try:
            return list(enumerate(_BATCH.validate_python(items, context=context))), []
        except ValidationError:
            pass
    good: list[tuple[int, Event]] = []
    bad: list[tuple[int, str]] = []
    for i, item in enumerate(items):
        if isinstance(item, Event):
            good.append((i, item))
            continue
        if not isinstance(item, Mapping):
            bad.append((i, f"event: expected an object, got {type(item).__name__}"))
            continue
        try:
            good.append((i, Event.model_validate(item, context=context)))
        except ValidationError as e:
            bad.append((i, describe_error(e)))
    return good, bad


_BATCH: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def _row(i: int, e: Event, now: int) -> dict[str, Any]:
    rel, counter = KIND_TYPES[e.kind]
    return {
        "i": i,
        "event_id": e.event_id,
        "user_id": e.user_id,
        "video_id": e.video_id,
        "creator_id": e.creator_id,
        "type": rel,
        "counter": counter,
        "at": e.at if e.at is not None else now,
        "watch_ms": e.watch_ms,
    }


def row_statuses(grouped: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``serving/ingest_events``'s answer (one record per status, with its rows' ``i``) as one
    ``{i, status}`` per row."""
    return [{"i": i, "status": g["status"]} for g in grouped for i in g["rows"]]


def profile_rows(events: Sequence[Event], now: int) -> list[dict[str, Any]]:
    """Per user: one item (video, weight) per weighted event, in the events' order (each step
    is clamped in turn, as the online state in Redis moves)."""
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    last_at: dict[str, int] = {}
    for e in events:
        at = e.at if e.at is not None else now
        last_at[e.user_id] = max(last_at.get(e.user_id, 0), at)
        w = KIND_WEIGHTS[e.kind]
        mine = items[e.user_id]  # every user gets last_active_at, even with no weight
        if e.video_id is not None and w:
            mine.append({"video_id": e.video_id, "w": w})
    return [{"user_id": u, "at": last_at[u], "items": items[u]} for u in sorted(items)]


def ingest(
    graph: Graph,
    events: Iterable[Event | Mapping[str, Any]],
    *,
    settings: Settings | None = None,
    now: int | None = None,
) -> IngestResult:
    """Store a batch of events (the good ones), acknowledge repeats, report the bad ones."""
    s = settings or get_settings()
    started = time.perf_counter()
    raw = list(events)
    if len(raw) > s.events_max_batch:
        raise InvalidInput(
            f"events: a batch holds at most {s.events_max_batch} events, got {len(raw)}"
        )
    now = now if now is not None else int(time.time() * 1000)
    good, bad = validate(raw, now=now, max_future_ms=s.events_max_future_ms)
    result = IngestResult(rejected=list(bad))
    rows: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    for i, e in good:
        if e.event_id in seen_ids:  # repeated inside this batch
            result.duplicates += 1
            continue
        seen_ids.add(e.event_id)
        rows.append(_row(i, e, now))
    if rows:
        # One lock order (by video) for every batch: fewer deadlocks between concurrent ones.
        rows.sort(key=lambda r: (r["video_id"] or "", r["user_id"]))
        by_index = dict(good)

        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            statuses = row_statuses(run_in(tx, "serving/ingest_events", rows=rows, any_type=True))
            accepted = {r["i"] for r in statuses if r["status"] == "accepted"}
            stored = [e for i, e in good if i in accepted]  # in the batch's order
            if stored:
                run_in(
                    tx,
                    "serving/update_profiles",
                    rows=profile_rows(stored, now),
                    rate=s.online_embedding_rate,
                    min_weight=MIN_WEIGHT,
                    max_weight=MAX_WEIGHT,
                )
            return statuses

        # One ingest transaction at a time per process: concurrent batches touching the same
        # users and videos deadlock (and are retried whole); queued, they simply follow.
        with _INGEST_LOCK:
            try:
                statuses = graph.transaction(work, what="storing events")
            except Conflict:
                # Another batch stored one of these ids meanwhile: the retry sees a duplicate.
                statuses = graph.transaction(work, what="storing events")
        for r in statuses:
            if r["status"] == "accepted":
                result.accepted += 1
            elif r["status"] == "duplicate":
                result.duplicates += 1
            else:
                ev = by_index[r["i"]]
                what = {
                    "unknown user": f"user_id: unknown user {ev.user_id!r}",
                    "unknown video": f"video_id: unknown video {ev.video_id!r}",
                    "unknown creator": f"creator_id: unknown creator {ev.creator_id!r}",
                }.get(r["status"], r["status"])
                result.rejected.append((r["i"], what))
    result.rejected.sort()
    result.seconds = time.perf_counter() - started
    return result


__all__ = ["KIND_TYPES", "KIND_WEIGHTS", "Event", "EventKind", "IngestResult", "ingest", "validate"]
