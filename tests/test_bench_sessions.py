"""``graphrec bench sessions``: the events a session posts and the table it prints."""

from __future__ import annotations

import random

from graphrec.bench.sessions import page_events, rows
from graphrec.events import Event


def test_a_page_gets_one_valid_event_per_video_with_unique_ids() -> None:
    vids = [f"v{i:08d}" for i in range(10)]
    events = page_events("u0000001", vids, random.Random(3), "run-0-1")
    assert [e["video_id"] for e in events] == vids
    assert len({e["event_id"] for e in events}) == 10
    for e in events:
        ev = Event.model_validate(e)  # what POST /events checks
        assert ev.user_id == "u0000001"
        assert ("watch_ms" in e) == (e["kind"] in ("view", "skip"))
    kinds = {e["kind"] for i in range(30)
             for e in page_events("u1", vids, random.Random(i), f"r{i}")}  # fmt: skip
    assert {"view", "like", "skip", "complete"} <= kinds


def test_the_table_has_a_row_per_think_time_with_misses_by_reason() -> None:
    level = {
        "think_s": 1.0, "req_per_s": 9.8, "events_per_s": 98.0, "p50_ms": 2.8, "p99_ms": 108.0,
        "queue_hit_rate": 0.93, "queue": {"hit": 280, "user": 20}, "errors": 0,
        "cpu_us_per_feed": {"api": 9067.0, "total": 52667.0},
        "drain_cpu_us_per_request": {"neo4j": 10.0, "total": 12.0},
    }  # fmt: skip
    (row,) = rows({"levels": [level]})
    assert row["misses"] == "user 20" and row["hit_rate"] == 0.93
    assert row["cpu_us_per_feed"] == 52667.0 and row["drain_us_per_feed"] == 12.0


def test_a_bad_think_time_is_refused_before_anything_starts() -> None:
    from typer.testing import CliRunner

    from graphrec.cli import app

    for bad, why in (("abc", "separated by commas"), ("-1", ">= 0"), (",", ">= 0")):
        got = CliRunner().invoke(app, ["bench", "sessions", f"--think={bad}"])
        assert got.exit_code == 2 and why in got.output
