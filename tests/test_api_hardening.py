"""Defects found by attacking the API (issue 12), each kept fixed by a test here.

One id rule everywhere, strict types, bounded clock skew, a body limit answered before
parsing, errors that never echo odd or large input nor the database's internals, bounded
caches and a production start that refuses weak keys with a non-zero exit.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.errors import ConfigError
from graphrec.events import validate
from graphrec.feed.sources import SharedLists
from graphrec.ids import check_id, problem
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key", "Content-Type": "application/json"}


@pytest.fixture
def client(loaded_graph: Graph, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        yield c


# --- 2: one id rule -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad", [" wsX", "wsX ", "ws X", "ws\x00X", "ws\tX", "ws\u200bX", "ws\u202eX", "ws\ufeffX",
            "ws/X", "", "x" * 129, "-wsX", "wsé"],
)  # fmt: skip
def test_an_id_outside_the_rule_is_refused_everywhere(
    bad: str, client: TestClient, world_s: World
) -> None:
    assert problem(bad) is not None
    uid, vid = world_s.users[0]["id"], world_s.videos[0]["id"]
    for path, body in [
        ("/users", {"id": bad}),
        ("/creators", {"id": bad}),
        ("/videos", {"id": bad, "creator_id": world_s.creators[0]["id"], "caption": "hi"}),
        ("/videos", {"creator_id": bad, "caption": "hi"}),
    ]:
        r = client.post(path, json=body, headers=KEY)
        assert r.status_code == 422, (path, body, r.text)
    for field, value in [("user_id", bad), ("event_id", bad), ("video_id", bad)]:
        event = {"event_id": "e1", "user_id": uid, "kind": "like", "video_id": vid, field: value}
        r = client.post("/events", json=[event], headers=KEY)
        assert r.status_code == 422 and r.json()["rejected"][0]["reason"].startswith(field), r.text
    assert client.get(f"/users/{uid}").json()["liked"] == 0  # nothing landed on the real id


def test_the_id_rule_names_the_character() -> None:
    assert check_id("u-1.a_b:c@d+e=f~g") == "u-1.a_b:c@d+e=f~g"
    assert "U+200B" in (problem("a\u200bb") or "")
    assert "U+0000" in (problem("a\x00b") or "")


# --- 3 and 7: nothing echoed, nothing unencodable, a body limit ---------------------------
def test_a_lone_surrogate_is_a_422_not_a_500(client: TestClient) -> None:
    body = b'{"id": "s\\ud800"}'
    for path in ("/users", "/creators", "/videos"):
        r = client.post(path, content=body, headers=KEY)
        assert r.status_code == 422, (path, r.text)
        assert "\\ud800" not in r.text and "s\ud800" not in r.text.encode().decode("utf-8")


def test_errors_never_echo_a_large_input(client: TestClient) -> None:
    big = "x" * 2_000_000
    r = client.post("/users", json={"id": "u-big", "name": big}, headers=KEY)
    assert r.status_code == 422
    assert len(r.content) < 2_000 and big[:1000] not in r.text


def test_a_body_over_the_limit_is_413_before_parsing(
    loaded_graph: Graph, settings: Settings
) -> None:
    small = settings.model_copy(update={"api_max_body_bytes": 4096})
    with TestClient(create_app(small, graph=loaded_graph)) as c:
        junk = b"[" + b"{" * 10_000  # not even JSON: parsing it would give 422
        for headers in (KEY, {}):  # with or without the key: refused before either
            r = c.post("/events", content=junk, headers=headers)
            assert r.status_code == 413, r.text
            assert "at most 4096 bytes" in r.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(100):
                yield b" " * 1024

        r = c.post("/events", content=chunks(), headers=KEY)
        assert r.status_code == 413, r.text
        r = c.post("/users", json={"id": "u-fits"}, headers=KEY)
        assert r.status_code == 201


# --- 9: strict types ----------------------------------------------------------------------
@pytest.mark.parametrize("watch", [True, "5400", 5400.5, "5400.0"])
def test_loose_numbers_are_refused(watch: object, client: TestClient, world_s: World) -> None:
    uid, vid = world_s.users[0]["id"], world_s.videos[0]["id"]
    event = {"event_id": "e1", "user_id": uid, "kind": "view", "video_id": vid, "watch_ms": watch}
    r = client.post("/events", json=[event], headers=KEY)
    assert r.status_code == 422 and "watch_ms" in r.json()["rejected"][0]["reason"]
    r = client.post("/users", json={"id": "u-x", "active_hour": str(5)}, headers=KEY)
    assert r.status_code == 422
    # 5400.0 is the JSON integer 5400 (JSON Schema says so too): accepted as 5400.
    event["watch_ms"], event["event_id"] = 5400.0, "e-whole"
    assert client.post("/events", json=[event], headers=KEY).json()["accepted"] == 1


@pytest.mark.parametrize("n", ["10.0", "+10", "1e1", " 10", "10 "])
def test_feed_n_is_digits_only(n: str, client: TestClient, world_s: World) -> None:
    uid = world_s.users[0]["id"]
    r = client.get(f"/users/{uid}/feed", params={"n": n, "record": "false"})
    assert r.status_code == 422, r.text
    assert (
        client.get(f"/users/{uid}/feed", params={"n": "10", "record": "false"}).status_code == 200
    )


# --- 8: bounded future clock skew ---------------------------------------------------------
def test_an_event_from_the_future_is_refused() -> None:
    now = 1_700_000_000_000
    base = {"event_id": "e1", "user_id": "u1", "kind": "like", "video_id": "v1"}
    good, bad = validate(
        [{**base, "at": now + 60_000}, {**base, "at": now + 600_000}, {**base, "at": 4_102_444_800_000}],
        now=now,
        max_future_ms=300_000,
    )  # fmt: skip
    assert [i for i, _ in good] == [0]
    assert [i for i, _ in bad] == [1, 2] and "ahead of the server's clock" in bad[0][1]


def test_an_event_in_2100_does_not_make_a_user_active_in_2100(
    client: TestClient, world_s: World
) -> None:
    uid, vid = world_s.users[0]["id"], world_s.videos[0]["id"]
    event = {"event_id": "e-2100", "user_id": uid, "kind": "like", "video_id": vid,
             "at": 4_102_444_800_000}  # fmt: skip
    r = client.post("/events", json=[event], headers=KEY)
    assert r.status_code == 422 and r.json()["rejected"][0]["reason"].startswith("at:")
    last = client.get(f"/users/{uid}").json()["last_active_at"]
    assert last is None or last <= time.time() * 1000 + 300_000


# --- 10: clean messages -------------------------------------------------------------------
def test_a_conflict_names_no_internals(client: TestClient, world_s: World) -> None:
    vid, cid = world_s.videos[0]["id"], world_s.creators[0]["id"]
    r = client.post("/videos", json={"id": vid, "creator_id": cid, "caption": "again"}, headers=KEY)
    assert r.status_code == 409, r.text
    assert "Node(" not in r.text and "label" not in r.text and "exists already" in r.text


# --- 11: an empty batch -------------------------------------------------------------------
def test_an_empty_batch_is_422(client: TestClient) -> None:
    r = client.post("/events", json=[], headers=KEY)
    assert r.status_code == 422 and "empty" in r.json()["detail"]


# --- 12: production start -----------------------------------------------------------------
def _serve(key: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GRAPHREC_ENVIRONMENT": "production",
        "GRAPHREC_API_KEY": key,
        "NEO4J_PASSWORD": "a-real-password-for-this-test",
        "NEO4J_URI": "bolt://127.0.0.1:9",  # never reached: the check comes first
    }
    cli = os.path.join(os.path.dirname(sys.executable), "graphrec")
    return subprocess.run(
        [cli, "serve", "--workers", "2", "--port", "9"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("key", "says"),
    [("graphrec-dev-api-key", "development key"), ("k", "too weak"), ("a" * 40, "too weak")],
)
def test_production_refuses_weak_keys_with_a_non_zero_exit(key: str, says: str) -> None:
    done = _serve(key)
    assert done.returncode != 0
    assert says in " ".join(done.stderr.split()), done.stderr
    strong = Settings(
        environment="production",
        api_key="Zq3-k9Lw_e2Rt7Yp0Ux4Vb8Nm1Ac6Sd5",  # type: ignore[arg-type]
        neo4j_password="a-real-password",  # type: ignore[arg-type]
    )
    strong.check_serving()
    with pytest.raises(ConfigError):
        strong.model_copy(update={"api_key_min_length": 64}).check_serving()


# --- 13: bounded caches -------------------------------------------------------------------
def test_shared_lists_keep_at_most_max_entries() -> None:
    lists = SharedLists(ttl_s=60, max_entries=8)
    for minute in range(100):  # a key per minute, as the look-back and spillover lists have
        assert lists.get(f"lookback:{minute}", functools.partial(list, [minute])) == [minute]
    assert len(lists) == 8
    assert lists.get("lookback:99", lambda: ["reloaded"]) == [99]  # the newest are kept


# --- 1: a repeated follow -----------------------------------------------------------------
def test_a_repeated_follow_is_acknowledged_and_counted_once(
    client: TestClient, world_s: World
) -> None:
    uid, cid = world_s.users[3]["id"], world_s.creators[3]["id"]
    follow = {"event_id": "f-once", "user_id": uid, "kind": "follow", "creator_id": cid}
    first = client.post("/events", json=[follow], headers=KEY).json()
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    for _ in range(2):
        again = client.post("/events", json=[follow], headers=KEY).json()
        assert (again["accepted"], again["duplicates"]) == (0, 1)
