"""Pool budgets in the graph: a video enters the cold-start pool with a drawn budget, each
impression counts it down (never past it), and cold-start candidates are the videos under it.

The serving area calls :func:`record_impressions` and :func:`cold_start_candidates` (or the
queries ``pools/record_impressions`` and ``pools/cold_start_candidates`` directly).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from graphrec.config import Settings, get_settings
from graphrec.db import Graph
from graphrec.errors import InvalidInput


def now_ms() -> int:
    return int(time.time() * 1000)


def record_impressions(
    graph: Graph, user_id: str, video_ids: Sequence[str], *, at: int | None = None
) -> dict[str, bool]:
    """Record that ``user_id`` was shown ``video_ids``; returns video id -> granted.

    A video whose pool budget is already spent is not recorded (granted False): drop it.
    """
    if not video_ids:
        return {}
    rows = graph.write(
        "pools/record_impressions",
        user_id=user_id,
        video_ids=list(video_ids),
        at=at if at is not None else now_ms(),
        feed_id=None,  # no served id, no logged features: not a ranked feed
        logs={},
    )
    return {r["video_id"]: bool(r["granted"]) for r in rows}


def cold_start_candidates(graph: Graph, user_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """Cold-start videos under budget the user has not seen, best tag match first."""
    if limit <= 0:
        raise InvalidInput(f"limit must be positive, not {limit}")
    return graph.read("pools/cold_start_candidates", user_id=user_id, limit=limit)


def budget_draw(settings: Settings, video_id: str) -> float | None:
    """The uniform draw behind a video's pool budget: fixed by GRAPHREC_POOL_BUDGET_SEED and
    the video id when that is set (reproducible runs), else None (the database draws)."""
    if settings.pool_budget_seed is None:
        return None
    return random.Random(f"{settings.pool_budget_seed}:{video_id}").random()


def enter_cold_start(
    graph: Graph,
    video_ids: Sequence[str],
    *,
    at: int | None = None,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Put approved, pool-less videos in the cold-start pool; returns video id -> budget."""
    s = settings or get_settings()
    rows = graph.write(
        "pools/enter_cold_start",
        video_ids=list(video_ids),
        budget_min=s.cold_start_budget_min,
        budget_max=s.cold_start_budget_max,
        draws={v: d for v in video_ids if (d := budget_draw(s, v)) is not None},
        at=at if at is not None else now_ms(),
        feed_id=None,  # no served id, no logged features: not a ranked feed
        logs={},
    )
    return {r["video_id"]: int(r["budget"]) for r in rows}
