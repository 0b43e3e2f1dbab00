"""The feed's fast path and the queue pop's lean EVALSHA, against real Neo4j and Redis (world S).

:class:`api.routes.feed.FeedRoute` answers a plain feed request itself and leaves every other
to FastAPI's declared path: a hit it answers is the declared path's answer, and every refusal
(bad n or scenario, a missing or wrong key) is the one the API gave before, word for word
(the bodies below are those of the code before the fast path). Which path answered is seen
by watching ``APIRoute.handle`` (the declared path). :class:`graphrec.spine.queue.AsyncScript`
loads its script again after ``SCRIPT FLUSH`` and fails with redis-py's own errors, so Redis
down is still a 503.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio as aredis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.feed import FeedRoute, plain_query
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.services.processes import free_port
from graphrec.spine import Spine
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.queue import AsyncScript, Popped
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key"}
DIGITS = {
    "detail": [
        {"loc": ["query", "n"], "msg": "Value error, a whole number written in digits",
         "type": "value_error"}
    ]
}  # fmt: skip
AT_LEAST_1 = {
    "detail": [
        {"loc": ["query", "n"], "msg": "Input should be greater than or equal to 1",
         "type": "greater_than_equal"}
    ]
}  # fmt: skip
NOT_BOOL = {
    "detail": [
        {"loc": ["query", "record"],
         "msg": "Input should be a valid boolean, unable to interpret input",
         "type": "bool_parsing"}
    ]
}  # fmt: skip
SIDEWAYS = {
    "detail": "scenario: unknown scenario 'sideways'; one of default, morning, evening, night, "
    "commute, binge, tv"
}

# Refused as before: the query, the status, the body.
REFUSED: list[tuple[str, int, dict[str, Any]]] = [
    ("n=1e1", 422, DIGITS),
    ("n=0", 422, AT_LEAST_1),
    ("n=+10", 422, DIGITS),  # "+" is a space in a query string
    ("n=%2B10", 422, DIGITS),
    ("n=10.0", 422, DIGITS),
    ("n=", 422, DIGITS),
    ("n", 422, DIGITS),
    ("n=1234567890", 422, DIGITS),
    ("n=%EF%BC%91", 422, DIGITS),  # a full-width digit one
    ("n=51", 422, {"detail": "n: must be between 1 and 50, got 51"}),
    ("n=99999", 422, {"detail": "n: must be between 1 and 50, got 99999"}),
    ("scenario=sideways", 422, SIDEWAYS),
    ("record=maybe", 422, NOT_BOOL),
    ("record=", 422, NOT_BOOL),
]


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The query strings of the feed requests FastAPI's declared path answered."""
    seen: list[str] = []
    original = APIRoute.handle

    async def watched(self: APIRoute, scope: Any, receive: Any, send: Any) -> None:
        if isinstance(self, FeedRoute):
            seen.append(scope["query_string"].decode())
        await original(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", watched)
    return seen


def same_feed(a: dict[str, Any], b: dict[str, Any]) -> None:
    """The same answer but for the time it took."""
    assert list(a) == list(b)
    drop = {"took_ms", "timings_ms"}
    assert {k: v for k, v in a.items() if k not in drop} == {
        k: v for k, v in b.items() if k not in drop
    }
    assert list(a["timings_ms"]) == list(b["timings_ms"])


def test_plain_queries_are_only_those_read_the_same_by_both_paths() -> None:
    assert plain_query(b"", 50) == (None, None, True)
    assert plain_query(b"n=10&scenario=binge&record=false", 50) == (10, "binge", False)
    assert plain_query(b"record=0&n=50", 50) == (50, None, False)
    for odd in (b"n=010", b"n=0", b"n=51", b"n=1e1", b"n=+1", b"n=%31", b"n=", b"n", b"n=5&n=6",
                b"scenario=", b"scenario=Binge", b"record=yes", b"record=True", b"x=1",
                b"n=10&", b"&n=10", "n=\uff11".encode()):  # fmt: skip
        assert plain_query(odd, 50) is None, odd


def test_a_hit_on_the_fast_path_is_the_declared_paths_answer(
    loaded_graph: Graph, settings: Settings, redis_db: redis.Redis, world_s: World,
    declared: list[str],
) -> None:  # fmt: skip
    uid = world_s.users[5]["id"]
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        miss = c.get(f"/users/{uid}/feed?n=10&record=false")  # ranked; stores the queue
        fast = c.get(f"/users/{uid}/feed?n=10&record=false")
        slow = c.get(f"/users/{uid}/feed?record=false&n=10&also=1")  # not plain: declared
        served = c.get(f"/users/{uid}/feed?n=10")  # recorded: the same page, now consumed
        after = c.get(f"/users/{uid}/feed?n=10&record=false")
        # The middlewares wrap the fast path too: the dashboard's meter timed all five.
        assert len(c.app.state.meter.feed_latencies()) == 5  # type: ignore[attr-defined]
    assert declared == ["record=false&n=10&also=1"]
    assert [r.headers["X-Feed-Queue"] for r in (miss, fast, slow, served, after)] == ["none"] + [
        "hit"
    ] * 4
    assert {r.headers["content-type"] for r in (miss, fast, slow)} == {"application/json"}
    same_feed(fast.json(), slow.json())
    same_feed(fast.json(), served.json())
    assert {i["video_id"] for i in after.json()["items"]}.isdisjoint(
        i["video_id"] for i in served.json()["items"]
    )


def test_refusals_are_answered_as_before(
    loaded_graph: Graph, settings: Settings, redis_db: redis.Redis, world_s: World,
    declared: list[str],
) -> None:  # fmt: skip
    uid = world_s.users[0]["id"]
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        for query, status, body in REFUSED:
            r = c.get(f"/users/{uid}/feed?{query}")
            assert (r.status_code, r.json()) == (status, body), query
        assert declared == [q for q, _, _ in REFUSED]
        # Valid but not plain: the declared path, as before.
        declared.clear()
        for query, size in (("n=010&record=false", 10), ("n=5&n=7&record=false", 7),
                            ("scenario=&record=false", 10), ("record=false&x=1", 10)):  # fmt: skip
            r = c.get(f"/users/{uid}/feed?{query}")
            assert r.status_code == 200 and len(r.json()["items"]) == size, query
        assert len(declared) == 4
        # A plain request for an unknown user: the fast path, the same 404.
        declared.clear()
        r = c.get("/users/nobody/feed")
        assert (r.status_code, r.json()) == (404, {"detail": "user_id: unknown user 'nobody'"})
        assert declared == []
        assert c.post(f"/users/{uid}/feed").status_code == 405


def test_keys_are_checked_as_before(
    loaded_graph: Graph, settings: Settings, redis_db: redis.Redis, world_s: World,
    declared: list[str],
) -> None:  # fmt: skip
    s = settings.model_copy(update={"api_read_requires_key": True})
    uid = world_s.users[1]["id"]
    with TestClient(create_app(s, graph=loaded_graph)) as c:
        for headers, status, detail in (
            ({}, 401, "X-API-Key: header missing"),
            ({"X-API-Key": ""}, 401, "X-API-Key: header missing"),
            ({"X-API-Key": "wrong"}, 403, "X-API-Key: wrong key"),
        ):
            r = c.get(f"/users/{uid}/feed?n=10", headers=headers)
            assert (r.status_code, r.json()) == (status, {"detail": detail}), headers
        assert len(declared) == 3
        declared.clear()
        assert c.get(f"/users/{uid}/feed?n=10", headers=KEY).status_code == 200
        assert declared == []


def test_redis_down_is_the_same_503_on_the_fast_path(
    loaded_graph: Graph, settings: Settings, tmp_path: Path, declared: list[str]
) -> None:
    from graphrec.services.redis import provide_redis

    private = settings.model_copy(update={"redis_url": None})  # a Redis of its own to stop
    handle = provide_redis(private, state_dir=tmp_path / "redis", ephemeral_port=True)
    own = settings.model_copy(update={"redis_url": handle.url})
    try:
        with TestClient(create_app(own, graph=loaded_graph)) as c:
            uid = "u0000001"
            c.get(f"/users/{uid}/feed?record=false")  # ranked; stores the queue
            assert c.get(f"/users/{uid}/feed?record=false").headers["X-Feed-Queue"] == "hit"
            handle.close()
            r = c.get(f"/users/{uid}/feed?record=false")
            assert (r.status_code, r.json()) == (
                503,
                {"detail": "Redis is unavailable; retry shortly"},
            )
        assert declared == []
    finally:
        handle.close()


def test_the_pop_loads_its_script_again_after_a_flush(spine: Spine, world_s: World) -> None:
    uid = world_s.users[3]["id"]
    rec = StreamRecommender(spine)
    first = rec.feed(uid, 10, record=False)  # ranked; stores the queue
    assert first.queue == "none"
    want = [it.as_dict() for it in first.items]

    async def pops() -> list[Any]:
        got = []
        try:
            for _ in range(2):
                got.append(
                    await rec.queue.pop_async(uid, 10, "default", record=False, at=1, feed_id="f")
                )
                spine.r.script_flush()  # as a restarted Redis: the server knows no script
        finally:
            await rec.queue.aclose()
        return got

    for popped in asyncio.run(pops()):
        assert isinstance(popped, Popped)
        assert [orjson.loads(x) for x in popped.items] == want


def test_async_script_answers_reloads_and_fails_as_redis_py_does(
    settings: Settings, redis_db: redis.Redis
) -> None:
    assert settings.redis_url is not None
    lua = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}"

    async def run(url: str) -> list[Any]:
        pool = aredis.BlockingConnectionPool.from_url(url, timeout=1, socket_timeout=1,
                                                      socket_connect_timeout=1)  # fmt: skip
        script = AsyncScript(pool, lua, numkeys=1)
        try:
            one = await script(["k"], ["a", 41])
            redis_db.script_flush()
            two = await script(["k"], ["b", 1])
            return [one, two, redis_db.script_exists(script.sha.decode())]
        finally:
            await pool.disconnect()

    assert asyncio.run(run(settings.redis_url)) == [[b"k", b"a", 42], [b"k", b"b", 2], [True]]
    # Lua errors are redis-py's ResponseError; nothing listening is its ConnectionError (a
    # RedisError: the API's 503).
    with pytest.raises(redis.exceptions.ResponseError):

        async def bad() -> None:
            pool = aredis.BlockingConnectionPool.from_url(settings.redis_url or "")
            try:
                await AsyncScript(pool, "return redis.call('NOPE')", numkeys=0)([], [])
            finally:
                await pool.disconnect()

        asyncio.run(bad())
    dead = f"redis://127.0.0.1:{free_port('127.0.0.1')}/0"
    with pytest.raises(redis.exceptions.ConnectionError):
        asyncio.run(run(dead))
