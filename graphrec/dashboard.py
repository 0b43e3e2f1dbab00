"""What the dashboard shows, read from the graph, the event stream and the API process.

Every figure comes from one function here, so the pages stay the same when a source moves:
the pool funnel, the last cycle's moves, the videos of a pool, communities (Cypher in
``cypher/dashboard/``), and :func:`live_metrics` (event rate, stream lag, feed latency).

Events are appended to the serving spine's Redis stream and applied to Neo4j by the graph
writer. With the spine at hand, the event rate is the growth of the stream's ``entries-added``
(every event and served feed ever appended) between two readings, and the stream lag is the
age of the oldest entry the graph writer has not applied (its consumer group's status).
Without it (a graph only), the rate is the growth of the graph's event count (Neo4j's count
store) and there is no lag to show. Feed latency is what this API worker measured on its own
feed requests (:class:`ServingMeter`, one per worker).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import redis

from graphrec.db import Graph
from graphrec.spine.store import Spine

SHOWN_POOLS = ("boost", "trending")


def _now() -> float:
    return time.time()


class ServingMeter:
    """Feed latencies and event counts this process served, over the last ``window_s``.

    Thread-safe (uvicorn runs sync routes in a thread pool); bounded (``max_samples``).
    """

    def __init__(self, window_s: float = 300.0, max_samples: int = 20_000) -> None:
        self.window_s = window_s
        self._feeds: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self._readings: dict[str, deque[tuple[float, int]]] = {}
        self._max = max_samples
        self._lock = threading.Lock()

    def feed_served(self, took_ms: float, at: float | None = None) -> None:
        with self._lock:
            self._feeds.append((at if at is not None else _now(), took_ms))

    def reading(self, counter: str, total: int, at: float | None = None) -> None:
        """One reading of an ever-growing count (its rate is the slope between readings)."""
        with self._lock:
            got = self._readings.setdefault(counter, deque(maxlen=self._max))
            got.append((at if at is not None else _now(), total))

    def _recent(self, samples: deque[Any], now: float) -> list[Any]:
        cut = now - self.window_s
        return [s for s in samples if s[0] >= cut]

    def feed_latencies(self, now: float | None = None) -> list[tuple[float, float]]:
        with self._lock:
            return self._recent(self._feeds, now or _now())

    def readings(self, counter: str, now: float | None = None) -> list[tuple[float, int]]:
        with self._lock:
            return self._recent(self._readings.get(counter, deque()), now or _now())


@dataclass
class Latency:
    """Feed request latency over the window: count and percentiles in milliseconds."""

    requests: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None


@dataclass
class LiveMetrics:
    """The activity panel: event rate, stream lag, feed latency, and where each comes from."""

    window_s: float
    events_stored: int
    events_by_kind: dict[str, int]
    event_rate_per_s: float | None
    event_rate_source: str
    stream_lag_ms: float | None
    stream_lag_source: str
    feed_latency: Latency
    feed_latency_source: str
    latency_series: list[tuple[float, float]] = field(default_factory=list)  # (age s, ms)
    rate_series: list[tuple[float, float]] = field(default_factory=list)  # (age s, events/s)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def latency(samples: list[float]) -> Latency:
    if not samples:
        return Latency()
    a = np.asarray(samples, dtype=float)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return Latency(len(a), float(p50), float(p95), float(p99), float(a.max()))


def _slope(readings: list[tuple[float, int]], now: float) -> tuple[float | None, list[Any]]:
    """The rate over the whole window, and between each pair of readings (age s, per s)."""
    series = [
        (round(t1 - now, 1), (n1 - n0) / (t1 - t0))
        for (t0, n0), (t1, n1) in itertools.pairwise(readings)
        if t1 > t0
    ]
    if len(readings) < 2 or readings[-1][0] <= readings[0][0]:
        return None, series
    (t0, n0), (t1, n1) = readings[0], readings[-1]
    return (n1 - n0) / (t1 - t0), series


def stream_figures(spine: Spine) -> tuple[int, float, str]:
    """Entries ever appended to the stream, the graph writer's lag (ms) and what that means."""
    from graphrec.spine.stream import group_status
    from graphrec.spine.writer import GROUP

    appended = 0
    for key in spine.keys.streams():
        try:
            info = spine.r.xinfo_stream(key)
        except redis.ResponseError:  # no entry appended to this partition yet
            continue
        appended += int(info.get("entries-added") or info.get(b"entries-added") or 0)
    group = group_status(spine, GROUP)
    waiting = int(group["pending"]) + int(group["lag"])
    note = (
        f"age of the oldest stream entry the graph writer has not applied to Neo4j; "
        f"{waiting:,} entries waiting"
    )
    return appended, float(group["oldest_unapplied_age_ms"]), note


def live_metrics(
    graph: Graph,
    meter: ServingMeter,
    *,
    spine: Spine | None = None,
    now: float | None = None,
) -> LiveMetrics:
    """Reads the counts once (graph, and stream when there is one); summarises the window."""
    now = now or _now()
    by_kind = {r["kind"]: int(r["events"]) for r in graph.read("dashboard/stored_events")}
    total = sum(by_kind.values())
    meter.reading("graph", total, at=now)
    if spine is not None:
        appended, lag_ms, lag_source = stream_figures(spine)
        meter.reading("stream", appended, at=now)
        rate, rate_series = _slope(meter.readings("stream", now), now)
        rate_source = "entries appended to the event stream (events and served feeds)"
        lag: float | None = lag_ms
    else:
        rate, rate_series = _slope(meter.readings("graph", now), now)
        rate_source = "growth of the graph's event count between readings"
        lag, lag_source = None, "no event stream: events are written to Neo4j directly"
    feeds = meter.feed_latencies(now)
    return LiveMetrics(
        window_s=meter.window_s,
        events_stored=total,
        events_by_kind=by_kind,
        event_rate_per_s=rate,
        event_rate_source=rate_source,
        stream_lag_ms=lag,
        stream_lag_source=lag_source,
        feed_latency=latency([ms for _, ms in feeds]),
        feed_latency_source="feed requests this API worker served",
        latency_series=[(round(t - now, 1), ms) for t, ms in feeds],
        rate_series=rate_series,
    )


# --- graph reads ----------------------------------------------------------------------------
def funnel(graph: Graph) -> list[dict[str, Any]]:
    """Each pool with its videos, budget, served, under-budget count and average score."""
    return graph.read("dashboard/funnel")


def audit(graph: Graph, limit: int = 5) -> dict[str, Any]:
    """Rejected uploads and their most common reasons."""
    rows = graph.read("dashboard/audit", limit=limit)
    return rows[0] if rows else {"rejected": 0, "reasons": []}


def last_cycle(graph: Graph, limit: int = 20) -> dict[str, Any] | None:
    """The newest finished pool cycle: its counts per transition and its top moves."""
    rows = graph.read("dashboard/last_cycle", limit=limit)
    if not rows:
        return None
    row = dict(rows[0])
    raw = json.loads(row.pop("counts_json") or "{}")
    row["transitions"] = dict(raw.get("moves", {}))
    row["counts"] = dict(raw.get("counts", {}))
    return row


def pool_videos(graph: Graph, pool: str, limit: int = 20) -> list[dict[str, Any]]:
    """The top videos of one pool by score, with their rates."""
    return graph.read("dashboard/pool_videos", pool=pool, limit=limit)


def communities(graph: Graph, limit: int = 30, top: int = 5) -> list[dict[str, Any]]:
    """Interest communities, largest first, with stored and currently liked top tags."""
    return graph.read("dashboard/communities", limit=limit, top=top)


def sample_ids(graph: Graph, limit: int = 5) -> dict[str, list[str]]:
    """A few user and creator ids to try in the forms."""
    rows = graph.read("dashboard/sample_ids", limit=limit)
    return dict(rows[0]) if rows else {"users": [], "creators": []}
