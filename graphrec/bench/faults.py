"""``graphrec bench faults``: unique events posted while Neo4j and Redis are SIGKILLed.

Several clients post batches of unique events to ``graphrec serve`` on a private stack
(:mod:`graphrec.bench.stack`). Meanwhile Neo4j is killed with SIGKILL and restarted, then
Redis likewise. Afterwards the graph writer drains the stream and the ids the API
acknowledged are looked up in Neo4j: ``lost`` (acknowledged, not stored) must be 0.
``seconds_to_recover``: from each kill until ``/health`` answers ``ok`` again (restart
included); ``max_request_s`` shows that no request hung while a server was down.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Any

import httpx

from graphrec.bench.load import machine
from graphrec.bench.serve import api_server, sample_ids
from graphrec.bench.stack import Stack, api_env, private_stack


class Clients:
    """Threads posting unique events; they record what the API acknowledged."""

    def __init__(self, port: int, key: str, users: list[str], videos: list[str], *, n: int,
                 batch: int, run_id: str, rate: float) -> None:  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        self.key, self.users, self.videos = key, users, videos
        self.n, self.batch, self.run_id = n, batch, run_id
        self.interval = n * batch / rate  # seconds between one client's requests
        self.acked: set[str] = set()
        self.sent = 0
        self.statuses: dict[str, int] = {}
        self.max_request_s = 0.0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(n)]

    def _run(self, i: int) -> None:
        rng = random.Random(i)
        seq = 0
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=30) as c:
            while not self.stop.is_set():
                events = []
                for _ in range(self.batch):
                    seq += 1
                    events.append({
                        "event_id": f"{self.run_id}-{i}-{seq}", "user_id": rng.choice(self.users),
                        "kind": rng.choice(["view", "like", "complete", "skip"]),
                        "video_id": rng.choice(self.videos),
                    })  # fmt: skip
                t0 = time.perf_counter()
                try:
                    r = c.post("/events", json=events)
                    status = str(r.status_code)
                    acked = []
                    if r.status_code == 200:
                        bad = {x["index"] for x in r.json()["rejected"]}
                        acked = [e["event_id"] for j, e in enumerate(events) if j not in bad]
                except httpx.HTTPError as e:
                    status, acked = type(e).__name__, []
                took = time.perf_counter() - t0
                with self.lock:
                    self.sent += len(events)
                    self.acked.update(acked)
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    self.max_request_s = max(self.max_request_s, took)
                self.stop.wait(max(self.interval - took, 0.2 if status != "200" else 0.0))

    def __enter__(self) -> Clients:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def _health_ok(port: int) -> bool:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=3)
        return r.status_code == 200 and r.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError):
        return False


def _kill_and_restart(stack: Stack, which: str, port: int, *, down_s: float) -> dict[str, Any]:
    server = stack.neo4j if which == "neo4j" else stack.redis
    pid = server.running_pid()
    assert pid is not None, f"{which} is not running"
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    while server.running_pid() is not None and time.monotonic() - killed < 10:
        time.sleep(0.05)
    time.sleep(down_s)  # clients keep posting meanwhile
    restart = time.monotonic()
    server.start()
    started = time.monotonic()
    while not _health_ok(port) and time.monotonic() - started < 180:
        time.sleep(0.2)
    back = time.monotonic()
    return {
        "server": which,
        "down_s": round(restart - killed, 2),
        "restart_s": round(started - restart, 2),
        "seconds_to_recover": round(back - killed, 2),
        "recovered": _health_ok(port),
    }


def bench_faults(
    *, clients: int, batch: int, rate: float, down_s: float, settle_s: float
) -> dict[str, Any]:
    """Kill Neo4j, then Redis, under load; count what was acknowledged and what was stored."""
    run_id = f"faults-{int(time.time())}"
    with private_stack("S") as stack, api_env(stack):
        users, videos = sample_ids(stack.graph, 500)
        key = stack.settings.api_key.get_secret_value()
        api = api_server(
            stack.uri, stack.user, stack.password, workers=2, start_timeout_s=600
        )  # a loaded machine starts slowly
        with api as (port, _, _, _):
            t0 = time.monotonic()
            with Clients(
                port, key, users, videos, n=clients, batch=batch, run_id=run_id, rate=rate
            ) as load:
                time.sleep(settle_s)
                faults = [_kill_and_restart(stack, "neo4j", port, down_s=down_s)]
                time.sleep(settle_s)
                faults.append(_kill_and_restart(stack, "redis", port, down_s=down_s))
                time.sleep(settle_s)
            posting_s = time.monotonic() - t0
            # The graph writer drains the stream into Neo4j: wait while it makes progress
            # (given up after 120 s without any, or 15 minutes in all).
            stored: set[str] = set()
            deadline, last_progress = time.monotonic() + 900, time.monotonic()
            while time.monotonic() < deadline and time.monotonic() - last_progress < 120:
                rows = stack.graph.read("bench/stored_event_ids", prefix=run_id + "-")
                now_stored = {r["event_id"] for r in rows}
                if len(now_stored) > len(stored):
                    last_progress = time.monotonic()
                stored = now_stored
                if load.acked <= stored:
                    break
                time.sleep(2.0)
            drain_s = round(time.monotonic() - t0 - posting_s, 2)
    lost = sorted(load.acked - stored)
    return {
        "clients": clients,
        "batch": batch,
        "rate_events_per_s": rate,
        "posting_s": round(posting_s, 1),
        "sent": load.sent,
        "acknowledged": len(load.acked),
        "stored": len(stored & load.acked),
        "stored_unacknowledged": len(stored - load.acked),
        "lost": len(lost),
        "lost_examples": lost[:10],
        "drain_s": drain_s,
        "statuses": load.statuses,
        "max_request_s": round(load.max_request_s, 2),
        "faults": faults,
        "seconds_to_recover": max(f["seconds_to_recover"] for f in faults),
        "machine": machine(),
        "load_average": os.getloadavg(),
    }
