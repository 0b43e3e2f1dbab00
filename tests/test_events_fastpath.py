"""``POST /events``'s fast path and the plain-event check, against real Neo4j and Redis (world S).

:class:`api.routes.events.EventsRoute` reads a JSON body with orjson and
:func:`graphrec.events.validate_fields` checks a plain event without the model; every answer
must stay the one the route gave before. ``support/events_answers.json`` holds the answers of
the code before both (main 6e37e6b) to the bodies of ``support/events_bodies.py``, posted in
order on a fresh world S: status and body byte for byte (the server's clock in a refused
``at`` aside), and the spec's ``/events`` operation and its schemas. Which path answered is
seen by watching ``APIRoute.handle`` (the declared path).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from support.events_bodies import cases

from api.main import create_app
from api.routes.events import EventsRoute
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.events import FloatSeen, validate, validate_fields

KEY = {"X-API-Key": "graphrec-dev-api-key"}
BEFORE = json.loads((Path(__file__).parent / "support" / "events_answers.json").read_text())
NOW = 1_780_000_000_000

# The bodies the declared path still answers: what orjson refuses or reads as neither a list
# nor an object, a float where the model reads (a big integer, NaN, 1e400), another content
# type, no key.
DECLARED = {
    *(f"raw-{n}" for n in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 18, 21, 24, 25, 26)),
    *(f"content-type-{n}" for n in range(7)),
    "at-0", "at-1", "watch_ms-0", "watch_ms-1", "watch_ms-9",
    "no-key", "wrong-key",
}  # fmt: skip


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests to /events FastAPI's declared path answered, as a running count."""
    seen: list[int] = []
    original = APIRoute.handle

    async def watched(self: APIRoute, scope: Any, receive: Any, send: Any) -> None:
        if isinstance(self, EventsRoute):
            seen.append(1)
        await original(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", watched)
    return seen


def test_every_answer_is_the_one_before(
    loaded_graph: Graph, settings: Settings, redis_db: redis.Redis, declared: list[int]
) -> None:
    answers: dict[str, list[Any]] = BEFORE["answers"]
    slow: set[str] = set()
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        posts = [(n, b, {**KEY, **h}) for n, b, h in cases(settings.events_max_batch)]
        posts += [("no-key", b"[]", {"Content-Type": "application/json"}),
                  ("wrong-key", b"[]", {"X-API-Key": "nope", "Content-Type": "application/json"})]  # fmt: skip
        assert [n for n, _, _ in posts] == list(answers)
        for name, body, headers in posts:
            before = len(declared)
            r = c.post("/events", content=body, headers=headers)
            text = re.sub(r"\(\d+ ms\)", "(NOW ms)", r.text)
            assert [r.status_code, text] == answers[name], name
            assert r.headers["content-type"] == "application/json", name
            if len(declared) > before:
                slow.add(name)
        spec = c.get("/openapi.json").json()
    assert slow == DECLARED
    assert spec["paths"]["/events"] == BEFORE["openapi"]["paths"]["/events"]
    for name, schema in BEFORE["openapi"]["schemas"].items():
        assert spec["components"]["schemas"][name] == schema, name


GOOD: dict[str, Any] = {"event_id": "e1", "user_id": "u1", "kind": "view", "video_id": "v1"}
ODD: list[Any] = [None, "", "x", "u1", " u1", "x" * 128, "x" * 129, 0, 1, -1, 5400, 5400.0,
                  0.5, True, False, "5400", [], {}, "view", "follow", "View", NOW, NOW + 300_000,
                  NOW + 300_001, 86_400_000, 86_400_001, 2**70, float("nan"), float("inf")]  # fmt: skip


def variants() -> list[Any]:
    """The good event with each field set to each odd value, removed, and the kinds with
    each target: several thousand events, good and bad."""
    out: list[Any] = [GOOD, {}, [], None, 5, 1.5, "e"]
    for field in (*GOOD, "creator_id", "watch_ms", "at", "extra"):
        out.append({k: v for k, v in GOOD.items() if k != field})
        out += [{**GOOD, field: v} for v in ODD]
    for kind in ("view", "follow", "like", "skip"):
        for target in ({}, {"video_id": "v1"}, {"creator_id": "c1"},
                       {"video_id": "v1", "creator_id": "c1"}, {"video_id": None},
                       {"creator_id": None, "video_id": "v2"}):  # fmt: skip
            out.append({"event_id": "e2", "user_id": "u2", "kind": kind, **target})
    return out


def test_the_plain_check_gives_the_models_verdicts_and_values() -> None:
    items = variants()
    for chunk in ([x] for x in items):  # one at a time: validate's own fallback
        good, bad = validate_fields(chunk, now=NOW, max_future_ms=300_000)
        mgood, mbad = validate(chunk, now=NOW, max_future_ms=300_000)
        assert bad == mbad, chunk
        expect = [(i, (e.event_id, e.user_id, e.kind.value, e.video_id, e.creator_id,
                       e.watch_ms, e.at)) for i, e in mgood]  # fmt: skip
        assert good == expect, chunk
        for _, f in good:  # the same types too: 5400.0 became 5400
            assert [type(x) for x in f] == [type(x) for x in expect[0][1]]
    # A whole batch: indices and reasons as the model gives them.
    good, bad = validate_fields(items, now=NOW, max_future_ms=300_000)
    mgood, mbad = validate(items, now=NOW, max_future_ms=300_000)
    assert bad == mbad and [i for i, _ in good] == [i for i, _ in mgood]


def test_a_float_the_model_reads_stops_a_body_read_by_orjson() -> None:
    plain = [GOOD, {**GOOD, "watch_ms": 5400, "at": NOW}]
    assert len(validate_fields(plain, now=NOW, max_future_ms=0, floats=False)[0]) == 2
    for odd in ([*plain, 1.5], [{**GOOD, "at": 1.7e12}], [{**GOOD, "extra": 2.0}]):
        with pytest.raises(FloatSeen):
            validate_fields(odd, now=NOW, max_future_ms=0, floats=False)
        validate_fields(odd, now=NOW, max_future_ms=0)  # else the model decides
