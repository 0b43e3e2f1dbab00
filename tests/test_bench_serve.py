"""``graphrec bench serve``'s capacity figures: CPU per answered request by process."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from graphrec.bench.serve import (
    _feed_level,
    commands_per_request,
    cpu_per_request,
    due_backlog,
    headline,
    redis_commands,
    slow_commands,
    slowlog_mark,
)
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.spine import Spine
from graphrec.world.generate import World

T = 1_900_000_000_000


def level(clients: int, rps: float, **cores: float) -> dict:
    return {"clients": clients, "req_per_s": rps, "p50_ms": 1.0, "p99_ms": 2.0,
            "cpu": {f"{k}_cores": v for k, v in cores.items()}}  # fmt: skip


def test_cpu_per_request_is_each_process_cores_over_the_request_rate() -> None:
    lv = level(100, 500.0, api=1.0, neo4j=0.5, redis=0.25, loadgen=0.5, machine=2.0, others=0.1)
    got = cpu_per_request(lv)
    # 1 core busy over 500 requests a second: 2,000 us of that process's CPU per request; the
    # load generator is shown but is not the service's cost.
    assert got == {"api": 2000.0, "neo4j": 1000.0, "redis": 500.0, "loadgen": 1000.0,
                   "total": 3500.0}  # fmt: skip
    assert cpu_per_request({"clients": 1, "req_per_s": 0.0, "cpu": {"api_cores": 1.0}}) is None
    assert cpu_per_request({"clients": 1, "req_per_s": 10.0}) is None


def test_the_headline_reports_feed_and_baseline_cpu_per_request() -> None:
    feeds = [level(1, 100.0, api=0.1), level(100, 400.0, api=0.8, neo4j=0.4)]
    ping = level(100, 4000.0, api=1.6)
    h = headline(feeds, ping)
    assert h["feed_cpu_us_per_request"] == {"api": 2000.0, "neo4j": 1000.0, "total": 3000.0}
    assert h["baseline_cpu_us_per_request"] == {"api": 400.0, "total": 400.0}
    assert h["feed_to_baseline"] == 0.1


def test_hitcpu_reports_the_median_of_its_rounds() -> None:
    from graphrec.bench.hitcpu import _median

    rounds = [{"us": 400.0}, {"us": 300.0}, {"us": None}, {"us": 350.04}]
    assert _median(rounds, "us") == 350.0  # a window with no answer is left out
    assert _median([{"us": None}], "us") is None


def test_a_levels_drain_gives_its_rate_with_the_graph_keeping_up() -> None:
    from graphrec.bench.serve import with_drain

    lv = level(100, 1000.0)
    # 20 s of load (warm-up included) at 1,000/s, then 5 s for the writer to apply the SAWs:
    # 20,000 feeds in 25 s; the drain's 2 Neo4j CPU-seconds are 100 us a feed.
    with_drain(lv, {"seconds": 5.0, "cpu_s": {"neo4j": 2.0, "writer": 0.5, "machine": 3.0,
                                              "others": 0.1}}, load_s=20.0)  # fmt: skip
    assert lv["sustained_req_per_s"] == 800.0
    assert lv["drain_cpu_us_per_request"] == {"neo4j": 100.0, "writer": 25.0, "total": 125.0}
    h = headline([lv], {**level(100, 4000.0), "sustained_req_per_s": 4000.0})
    assert h["feed_rps_sustained"] == 800.0 and h["feed_to_baseline_sustained"] == 0.2
    assert h["feed_to_baseline"] == 0.25 and h["feed_drain_seconds"] == 5.0


def test_settle_waits_for_the_writer_and_says_what_was_behind(
    spine: Spine, loaded_graph: Graph, world_s: World, settings: Settings
) -> None:
    """Against real Redis and Neo4j: entries no writer applied are a backlog; settle refuses to
    measure over one it cannot see drained, and reports it once a writer applied it."""
    from graphrec.bench.serve import settle
    from graphrec.errors import ConfigError
    from graphrec.spine.stream import group_status
    from graphrec.spine.writer import GROUP, GraphWriter

    assert settings.redis_url is not None
    users = [u["id"] for u in world_s.users[:3]]
    video = next(v["id"] for v in world_s.videos if v["status"] == "approved")
    for i, u in enumerate(users):
        fields = {"k": "served", "u": u, "at": str(T + i), "f": f"settle-{i}", "v": video}
        spine.r.xadd(spine.keys.stream(spine.keys.part(u)), fields)
    with pytest.raises(ConfigError, match="3 behind at the start"):
        settle(settings.redis_url, timeout_s=0.5)  # no writer runs
    writer = GraphWriter(loaded_graph, spine)
    # The writer starts once settle has read what is behind (a few ms): started before it,
    # the writer applied one partition's entry first in one CI run (2 behind).
    starter = threading.Timer(0.5, writer.start)
    starter.start()
    try:
        got = settle(settings.redis_url, timeout_s=60)
    finally:
        starter.join()
        writer.stop()
    assert got["behind_at_start"] == 3
    st = group_status(spine, GROUP)
    assert st["pending"] == 0 and st["lag"] == 0
    # Nothing behind: it returns at once.
    assert settle(settings.redis_url, timeout_s=5)["behind_at_start"] == 0


def test_redis_commands_per_request_are_the_snapshots_difference_dearest_first() -> None:
    before = {"evalsha": (10, 1_000), "xack": (5, 50), "get": (7, 70)}
    after = {"evalsha": (110, 31_000), "xack": (25, 250), "get": (7, 70), "xadd": (50, 5_000)}
    got = commands_per_request(before, after, 100, top=2)
    assert list(got) == ["evalsha", "xadd"]  # unchanged "get" left out; top 2 by time
    assert got["evalsha"] == {"calls": 1.0, "us": 300.0}
    assert got["xadd"] == {"calls": 0.5, "us": 50.0}
    assert commands_per_request(before, after, 0) == {}
    lv = {**level(100, 50.0, api=1.0), "redis_commands_per_request": got}
    assert headline([lv], None)["feed_redis_commands_per_request"] == got


def test_redis_commands_reads_the_servers_own_counts(spine: Spine, settings: Settings) -> None:
    """Against real Redis: the commands this test sends are counted, with their time (ECHO:
    no other client of the test's Redis sends it)."""
    assert settings.redis_url is not None
    before = redis_commands(settings.redis_url)
    for i in range(5):
        spine.r.echo(f"bench-commands-{i}")
    after = redis_commands(settings.redis_url)
    calls0, usec0 = before.get("echo", (0, 0))
    assert after["echo"][0] - calls0 == 5 and after["echo"][1] >= usec0
    assert commands_per_request(before, after, 5)["echo"]["calls"] == 1.0


def test_the_fillers_backlog_counts_users_due_by_redis_clock(
    spine: Spine, settings: Settings
) -> None:
    """Against real Redis: users in the partitions' due sets whose time has come are the
    backlog; a user due later (an event's refill delay) is waiting but not due."""
    assert settings.redis_url is not None
    sec, usec = spine.r.time()
    now_ms = int(sec) * 1000 + int(usec) // 1000
    k = spine.keys
    spine.r.zadd(k.dirty(k.part("u-due-1")), {"u-due-1": 0})
    spine.r.zadd(k.dirty(k.part("u-due-2")), {"u-due-2": now_ms - 5})
    spine.r.zadd(k.dirty(k.part("u-later")), {"u-later": now_ms + 600_000})
    assert due_backlog(settings.redis_url) == {"due": 2, "waiting": 3}
    # The filler takes one partition's due users: they leave the backlog, the rest stay.
    part = k.part("u-due-1")
    taken = spine.take_due(part, 10)
    mine = [u for u in ("u-due-1", "u-due-2") if k.part(u) == part]
    assert sorted(taken) == mine
    assert due_backlog(settings.redis_url) == {"due": 2 - len(mine), "waiting": 3 - len(mine)}


# Spins inside Redis for ARGV[1] ms (TIME in a loop): one command that holds the server.
SPIN = """local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start >= ARGV[1] * 1000
return 1"""


def test_slow_commands_are_those_the_slow_log_kept_after_the_mark(
    spine: Spine, settings: Settings
) -> None:
    """Against real Redis: a script that holds the server 25 ms is reported, with how long;
    the fast commands around it are not; nothing before the mark counts."""
    assert settings.redis_url is not None
    r = spine.r
    keep = r.config_get("slowlog-max-len")["slowlog-max-len"]
    threshold = r.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    try:
        r.config_set("slowlog-log-slower-than", 10_000)
        r.eval(SPIN, 0, 15)  # before the mark
        mark = slowlog_mark(settings.redis_url)
        assert int(r.config_get("slowlog-max-len")["slowlog-max-len"]) >= 10_000
        for i in range(3):
            r.echo(f"fast-{i}")
        r.eval(SPIN, 0, 25)
        got = slow_commands(settings.redis_url, mark)
        assert got["threshold_us"] == 10_000 and got["lost"] == 0
        assert list(got["commands"]) == ["eval"]
        assert got["commands"]["eval"]["count"] == 1
        assert 25 <= got["commands"]["eval"]["max_ms"] < 1_000
        assert slow_commands(settings.redis_url, slowlog_mark(settings.redis_url))["commands"] == {}
    finally:
        r.config_set("slowlog-max-len", keep)
        r.config_set("slowlog-log-slower-than", threshold)


def test_a_bench_child_imports_the_benchs_own_graphrec_from_any_folder(tmp_path: Path) -> None:
    """The servers a bench starts import the graphrec and api the bench imported, not a
    package that the folder they start in holds (``python -c`` alone puts that folder first:
    an A/B of an older commit by PYTHONPATH then served the current code)."""
    import os
    import subprocess
    import sys

    import api
    import graphrec
    from graphrec.bench.serve import child_command

    decoy = tmp_path / "graphrec"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise SystemExit('the folder s graphrec was imported')\n")
    code = "import graphrec, api; print(graphrec.__file__); print(api.__file__)"
    cmd, env = child_command(code, dict(os.environ))
    got = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    want = [str(Path(m.__file__).resolve()) for m in (graphrec, api)]
    assert [str(Path(x).resolve()) for x in got.stdout.split()] == want
    plain = subprocess.run(
        [sys.executable, "-c", "import graphrec"], cwd=tmp_path, capture_output=True, timeout=120
    )
    assert plain.returncode != 0  # the old way: the folder's package


async def _users_asked(phases: list[str], clients: int = 2) -> list[set[tuple[str, ...]]]:
    """Per phase run in turn (one short level each, through the load generator's own loop and
    client), each client's first 100 users, as a small HTTP server saw them asked for."""
    runs: list[set[tuple[str, ...]]] = []
    conns: list[list[str]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mine: list[str] = []
        conns.append(mine)
        while line := await reader.readline():
            mine.append(line.split()[1].decode().rsplit("/", 1)[1])
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    users = [f"u{i:05d}" for i in range(20_000)]
    async with server:
        for phase in phases:
            conns.clear()
            await _feed_level(port, "k", users, clients, 0.5, 0.0, "/u/{uid}", phase=phase)
            await asyncio.sleep(0.1)  # the handlers read the closed connections' last lines
            assert len(conns) == clients and all(len(c) >= 100 for c in conns)
            runs.append({tuple(c[:100]) for c in conns})
    return runs


def test_each_phase_of_the_load_asks_for_other_users() -> None:
    # Seeded by the client's index alone, client i of each level asked for the users client
    # i of the level before had asked for, in the same order, piling pages onto the same
    # users' queues (docs/serving.md, round twenty-four).
    one, ten, baseline, one_again = asyncio.run(
        _users_asked(["level-1", "level-10", "baseline", "level-1"])
    )
    assert one == one_again  # a phase's load is the same from run to run
    assert not one & ten and not one & baseline and not ten & baseline
    assert len({u for seq in one | ten for u in seq}) > 300  # 400 picks of 20,000 users
