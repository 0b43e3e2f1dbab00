"""``graphrec bench soak --minutes N``: mixed feeds and events at a fixed rate.

Requests go to ``graphrec serve`` on a private stack (:mod:`graphrec.bench.stack`) at
``rate`` per second, alternating a feed (impressions recorded) and a batch of events.
Reported: errors (any answer but 200, or no answer), latency percentiles per kind, and the
resident memory of every process (API workers, Neo4j, Redis) at the start and the end.
"""

from __future__ import annotations

import concurrent.futures
import os
import random
import threading
import time
from typing import Any

import httpx

from graphrec.bench.load import machine
from graphrec.bench.serve import api_server, percentiles, sample_ids
from graphrec.bench.stack import api_env, private_stack, rss_mib


def bench_soak(*, minutes: float, rate: float, batch: int) -> dict[str, Any]:
    """Run the mixed load for ``minutes`` at ``rate`` requests per second."""
    run_id = f"soak-{int(time.time())}"
    with private_stack("S") as stack, api_env(stack):
        users, videos = sample_ids(stack.graph, 500)
        key = stack.settings.api_key.get_secret_value()
        api = api_server(
            stack.uri, stack.user, stack.password, workers=2, start_timeout_s=600
        )  # a loaded machine starts slowly
        with api as (port, api_pid, writer_pid, filler_pid):
            pids = {"api": api_pid, "writer": writer_pid, "filler": filler_pid, **stack.pids()}
            client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=30,
                limits=httpx.Limits(max_connections=64),
            )  # fmt: skip
            lat: dict[str, list[float]] = {"feed": [], "events": []}
            errors: dict[str, int] = {}
            lock = threading.Lock()
            rng = random.Random(0)

            def one(i: int) -> None:
                kind = "feed" if i % 2 == 0 else "events"
                t0 = time.perf_counter()
                try:
                    if kind == "feed":
                        r = client.get(f"/users/{rng.choice(users)}/feed", params={"n": 10})
                    else:
                        events = [{"event_id": f"{run_id}-{i}-{j}", "user_id": rng.choice(users),
                                   "kind": rng.choice(["view", "like", "skip"]),
                                   "video_id": rng.choice(videos)} for j in range(batch)]  # fmt: skip
                        r = client.post("/events", json=events)
                    status = r.status_code
                    what = None if status == 200 else f"{kind} {status}"
                except httpx.HTTPError as e:
                    what = f"{kind} {type(e).__name__}"
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    lat[kind].append(ms)
                    if what:
                        errors[what] = errors.get(what, 0) + 1

            time.sleep(3)  # the first feeds fill the shared lists
            rss_start = rss_mib(pids)
            total = int(minutes * 60 * rate)
            start = time.monotonic()
            behind = 0
            with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
                for i in range(total):
                    due = start + i / rate
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    elif wait < -1:
                        behind += 1
                    pool.submit(one, i)
            took = time.monotonic() - start
            rss_end = rss_mib(pids)
            client.close()
    return {
        "minutes": minutes,
        "rate_per_s": rate,
        "achieved_per_s": round(total / took, 2),
        "requests": total,
        "late_by_over_1s": behind,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "latency_ms": {k: percentiles(v) for k, v in lat.items() if v},
        "rss_mib_start": rss_start,
        "rss_mib_end": rss_end,
        "machine": machine(),
        "load_average": os.getloadavg(),
    }
