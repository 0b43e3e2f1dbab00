"""What the dashboard shows, read from the graph and from the serving process itself.

Every figure comes from one function here, so the pages stay the same when the source moves:
the pool funnel, the last cycle's moves, the videos of a pool, communities (Cypher in
``cypher/dashboard/``), and :func:`live_metrics` (event rate, stream lag, feed latency).

Today events are written to Neo4j before they are acknowledged, so the event rate is the
growth of the graph's event count between two readings (Neo4j's count store: cheap at any
size), the stream lag is zero by construction, and feed latency is what this API process
measured on its own feed requests (:class:`ServingMeter`, one per worker). When an event
stream carries the events, :func:`live_metrics` reads its lag and rate instead
(``stream_lag`` is the one place to point at it).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from graphrec.db import Graph

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
        self._events: deque[tuple[float, int]] = deque(maxlen=max_samples)
        self._stored: deque[tuple[float, int]] = deque(maxlen=max_samples)
        self._lock = threading.Lock()

    def feed_served(self, took_ms: float, at: float | None = None) -> None:
        with self._lock:
            self._feeds.append((at if at is not None else _now(), took_ms))

    def events_posted(self, accepted: int, at: float | None = None) -> None:
        with self._lock:
            self._events.append((at if at is not None else _now(), accepted))

    def graph_reading(self, total_events: int, at: float | None = None) -> None:
        """One reading of the graph's event count (the rate is the slope between readings)."""
        with self._lock:
            self._stored.append((at if at is not None else _now(), total_events))

    def _recent(self, samples: deque[Any], now: float) -> list[Any]:
        cut = now - self.window_s
        return [s for s in samples if s[0] >= cut]

    def feed_latencies(self, now: float | None = None) -> list[tuple[float, float]]:
        with self._lock:
            return self._recent(self._feeds, now or _now())

    def events(self, now: float | None = None) -> list[tuple[float, int]]:
        with self._lock:
            return self._recent(self._events, now or _now())

    def readings(self, now: float | None = None) -> list[tuple[float, int]]:
        with self._lock:
            return self._recent(self._stored, now or _now())


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
    events_posted_here: int
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


def direct_stream_lag() -> tuple[float | None, str]:
    """Events go straight to Neo4j inside the request: nothing waits in a stream."""
    return 0.0, "no stream: events are stored in Neo4j before they are acknowledged"


def live_metrics(
    graph: Graph,
    meter: ServingMeter,
    *,
    stream_lag: Callable[[], tuple[float | None, str]] = direct_stream_lag,
    now: float | None = None,
) -> LiveMetrics:
    """Reads the graph's event count once, and summarises the meter's window."""
    now = now or _now()
    by_kind = {r["kind"]: int(r["events"]) for r in graph.read("dashboard/stored_events")}
    total = sum(by_kind.values())
    meter.graph_reading(total, at=now)
    readings = meter.readings(now)
    rate_series = [
        (round(t1 - now, 1), (n1 - n0) / (t1 - t0))
        for (t0, n0), (t1, n1) in itertools.pairwise(readings)
        if t1 > t0
    ]
    rate = None
    if len(readings) >= 2 and readings[-1][0] > readings[0][0]:
        (t0, n0), (t1, n1) = readings[0], readings[-1]
        rate = (n1 - n0) / (t1 - t0)
    feeds = meter.feed_latencies(now)
    lag_ms, lag_source = stream_lag()
    return LiveMetrics(
        window_s=meter.window_s,
        events_stored=total,
        events_by_kind=by_kind,
        event_rate_per_s=rate,
        event_rate_source="growth of the graph's event count between readings",
        events_posted_here=sum(n for _, n in meter.events(now)),
        stream_lag_ms=lag_ms,
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
