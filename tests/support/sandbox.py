"""Small deterministic worlds for the tests (test scaffolding, not part of the library).

A :class:`Sandbox` writes exactly the creators, users and videos a scenario needs (counters,
pool, budget, served), through the same loader queries as a generated world.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphrec.db import Graph
from graphrec.domain import CATEGORY_HASHTAGS, POOLS
from graphrec.world.generate import WORLD_NOW_MS

DAY_MS = 86_400_000
COUNTERS = ("impressions", "views", "completions", "likes", "comments", "shares", "follows")


@dataclass
class Sandbox:
    """Builds a small world in ``graph`` (pools, categories and their base tags at once)."""

    graph: Graph
    now: int = WORLD_NOW_MS

    def __post_init__(self) -> None:
        self.graph.write("world/merge_pools", rows=[p.as_dict() for p in POOLS])
        self.graph.write(
            "world/merge_categories", rows=[{"id": c, "name": c} for c in CATEGORY_HASHTAGS]
        )
        self.graph.write(
            "world/merge_tags",
            rows=[{"id": t, "category": c} for c, tags in CATEGORY_HASHTAGS.items() for t in tags],
        )

    def creators(self, *ids: str, followers: int = 0, strikes: int = 0, score: float = 0.5) -> None:
        rows = [
            {
                "id": i,
                "name": f"@{i}",
                "followers": followers,
                "strikes": strikes,
                "joined_at": self.now - 100 * DAY_MS,
                "account_score": score,
            }
            for i in ids
        ]
        self.graph.write("world/merge_creators", rows=rows)

    def users(self, *ids: str) -> None:
        rows = [
            {
                "id": i,
                "name": i,
                "created_at": self.now - 200 * DAY_MS,
                "last_active_at": self.now,
                "active_hour": 20,
            }
            for i in ids
        ]
        self.graph.write("world/merge_users", rows=rows)

    def videos(self, rows: list[dict[str, Any]]) -> None:
        """Videos from partial rows: ``id`` and ``creator`` required, the rest defaulted."""
        full = []
        for r in rows:
            row: dict[str, Any] = {
                "caption": f"video {r['id']}",
                "hashtags": ["dance"],
                "created_at": self.now - DAY_MS,
                "status": "approved",
                "reasons": [],
                "pool": "cold_start",
                "budget": 250,
                "served": 0,
                **{c: 0 for c in COUNTERS},
            }
            row.update(r)
            row.setdefault("since", row["created_at"])
            full.append(row)
        self.graph.write("lifecycle/sandbox_videos", rows=full)
