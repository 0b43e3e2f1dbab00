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

import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
from graphrec.ids import ID_PATTERN, Id
from graphrec.jsontypes import json_int

# kind -> (relationship type, video counter it moves)
KIND_TYPES: dict[EventKind, tuple[str, str | None]] = {
    EventKind(kind): types for kind, types in INTERACTIONS.items()
}

_INGEST_LOCK = threading.Lock()
_FOLLOW = EventKind.follow  # read once per event by the validator: a module global is cheaper
MAX_WATCH_MS = 24 * 3_600_000
_match = re.compile(ID_PATTERN).fullmatch  # the rule of graphrec.ids


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


class Fields(NamedTuple):
    """An event as the spine appends it (no model instance), the kind as its str value."""

    event_id: str
    user_id: str
    kind: str
    video_id: str | None
    creator_id: str | None
    watch_ms: int | None
    at: int | None


_KINDS = frozenset(k.value for k in EventKind)
_KEYS = frozenset(Event.model_fields)


def _plain(item: Any, limit: int, ok: set[str]) -> Fields | None:
    """``item``'s fields when it is a plain event that :class:`Event` accepts unchanged: a
    dict of known keys, ids that are ``str`` and follow the rule, a known kind as ``str``,
    ``int`` numbers in range, ``at`` at most ``limit``, the target the kind needs. None for
    anything else (a float, a bool, a str subclass, an error): the model then decides, in its
    own words. What this accepts the model accepts, with the same values. ``ok`` holds the
    user and video ids already found good (a batch repeats them: a set look-up, not a regex)."""
    if type(item) is not dict or not item.keys() <= _KEYS:
        return None
    get = item.get
    eid, uid, kind, vid, cid = (
        get("event_id"),
        get("user_id"),
        get("kind"),
        get("video_id"),
        get("creator_id"),
    )
    if type(eid) is not str or type(uid) is not str or type(kind) is not str:
        return None
    if kind not in _KINDS or not _match(eid):
        return None
    if uid not in ok:
        if not _match(uid):
            return None
        ok.add(uid)
    if vid is not None:
        if type(vid) is not str:
            return None
        if vid not in ok:
            if not _match(vid):
                return None
            ok.add(vid)
    if cid is not None and (type(cid) is not str or not _match(cid)):
        return None
    if kind == "follow":
        if vid is None and cid is None:
            return None
    elif vid is None or cid is not None:
        return None
    wm, at = get("watch_ms"), get("at")
    if wm is not None and (type(wm) is not int or not 0 <= wm <= MAX_WATCH_MS):
        return None
    if at is not None and (type(at) is not int or not 0 <= at <= limit):
        return None
    return Fields(eid, uid, kind, vid, cid, wm, at)


class FloatSeen(ValueError):
    """A float in an event the model had to read, where the caller asked for none: orjson
    reads an integer past 64 bits as a float (the stdlib as an int), and the model's answer
    may tell the two apart (``got float``, a fraction refused)."""


def validate_fields(
    raw: Sequence[Any], *, now: int, max_future_ms: int | None = None, floats: bool = True
) -> tuple[list[tuple[int, Fields]], list[tuple[int, str]]]:
    """:func:`validate` for the spine: the same verdicts and reasons, each good event as its
    :data:`Fields` (no model instance). A plain event is checked in Python (about a third of
    the model's time, its Python validators included); anything else goes through
    :class:`Event`, so every refusal keeps the model's words. ``floats=False``: such an event
    that is a float or holds one raises :class:`FloatSeen` (a plain event holds none)."""
    skew = get_settings().events_max_future_ms if max_future_ms is None else max_future_ms
    limit = (now or int(time.time() * 1000)) + skew  # the model's bound, read once
    context = {"now": now, "max_future_ms": max_future_ms}
    good: list[tuple[int, Fields]] = []
    bad: list[tuple[int, str]] = []
    ok: set[str] = set()
    for i, item in enumerate(raw):
        f = _plain(item, limit, ok)
        if f is not None:
            good.append((i, f))
            continue
        if not floats and (
            type(item) is float
            or (isinstance(item, Mapping) and any(type(v) is float for v in item.values()))
        ):
            raise FloatSeen(f"event {i} holds a float")
        if isinstance(item, Event):
            e = item
        elif not isinstance(item, Mapping):
            bad.append((i, f"event: expected an object, got {type(item).__name__}"))
            continue
        else:
            try:
                e = Event.model_validate(item, context=context)
            except ValidationError as err:
                bad.append((i, describe_error(err)))
                continue
        fields = Fields(
            e.event_id, e.user_id, e.kind.value, e.video_id, e.creator_id, e.watch_ms, e.at
        )
        good.append((i, fields))
    return good, bad


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


class Stepped(NamedTuple):
    """What :func:`profile_rows` reads of a stored event (the graph writer builds these from
    stream entries: a pydantic ``model_construct`` per event cost it 11 us)."""

    user_id: str
    kind: EventKind
    video_id: str | None
    at: int | None


def profile_rows(events: Sequence[Event | Stepped], now: int) -> list[dict[str, Any]]:
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


def step_profiles(tx: ManagedTransaction, rows: list[dict[str, Any]], *, rate: float) -> None:
    """The graph writer's profile step: move the profiles of :func:`profile_rows` in ``tx``:
    last_active_at and tag weights (``serving/step_interests``), then the online embeddings of
    users with weighted events (``serving/step_embeddings``). ``serving/update_profiles``'
    arithmetic (which :func:`ingest` runs), batch-wide rather than two subqueries per user
    (``graphrec bench apply``: less Neo4j CPU per event)."""
    run_in(tx, "serving/step_interests", rows=rows, min_weight=MIN_WEIGHT, max_weight=MAX_WEIGHT)
    moving = [r for r in rows if r["items"]]
    if moving:
        run_in(tx, "serving/step_embeddings", rows=moving, rate=rate)


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


__all__ = [
    "KIND_TYPES",
    "KIND_WEIGHTS",
    "Event",
    "EventKind",
    "Fields",
    "FloatSeen",
    "IngestResult",
    "ingest",
    "validate",
    "validate_fields",
]
