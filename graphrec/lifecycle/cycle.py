"""The pool cycle: promotion, settlement, trending exit, look-back, vertical labels, spillover.

Each rule is a ``cypher/pools/decide_*`` read query; its decisions are applied by a
``cypher/pools/apply_*`` write query in batches (``GRAPHREC_CYCLE_BATCH_SIZE`` rows, sorted by
id so every writer locks in one order), never one long transaction over the whole graph: the
cycle runs while feeds record impressions. Every apply re-checks the state it acts on (a video
moves only while still in its from-pool; a viral video spills once), so running the cycle twice
on the same state moves nothing the second time.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from graphrec.config import Settings, get_settings
from graphrec.db import Graph, iter_batches
from graphrec.errors import Conflict, GraphrecError, NotFound
from graphrec.lifecycle.budgets import budget_draw, now_ms
from graphrec.lifecycle.scoring import Weights

Progress = Callable[[str, int, int], None]
AMPLIFY_SAMPLE = 100  # viewers (and engaged users) of a promoted video looked at


@dataclass
class CycleReport:
    """What one cycle did: transitions ``from->to`` counted, plus labels and spillover."""

    cycle: int
    started_at: int
    finished_at: int = 0
    moves: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "moves": dict(sorted(self.moves.items())),
            "counts": dict(sorted(self.counts.items())),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }

    @property
    def changed(self) -> int:
        return sum(self.moves.values()) + sum(v for k, v in self.counts.items() if k != "amplified")


@dataclass(frozen=True)
class Stage:
    """A promotion step: who is decided in ``pool`` and where its best go."""

    pool: str
    next: str
    reason: str
    max_age_ms: int


def stages(s: Settings) -> list[Stage]:
    """Boost -> trending before cold start -> boost, so nothing moves twice in one cycle."""
    return [
        Stage("boost", "trending", "trending", s.boost_max_age_ms),
        Stage("cold_start", "boost", "promoted", s.cold_start_max_age_ms),
    ]


def run_cycle(
    graph: Graph,
    *,
    settings: Settings | None = None,
    now: int | None = None,
    progress: Progress | None = None,
) -> CycleReport:
    """Run one full pool cycle at time ``now`` (default: the clock) and report what moved."""
    s = settings or get_settings()
    at = now if now is not None else now_ms()
    tick = progress or (lambda stage, done, total: None)
    rows = graph.write("pools/cycle_begin", now=at, stale_ms=s.cycle_stale_ms)
    if not rows:
        raise NotFound("no traffic pools in the graph: load a world first (graphrec world load)")
    if rows[0]["cycle"] is None:
        raise Conflict("another pool cycle is running; try again when it has finished")
    report = CycleReport(cycle=int(rows[0]["cycle"]), started_at=at)
    weights = Weights.from_settings(s).param()
    status = "failed"
    try:
        # Vertical labels and spillover neither read nor write pool membership, so they
        # run beside the pool stages in a second session, using a second core.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cycle-side") as side:
            aside = side.submit(_side_stages, graph, s, report, at, weights, tick)
            _timed(report, "trending_exit", lambda: _trending_exit(graph, s, report, at, tick))
            for st in stages(s):
                _timed(
                    report, f"{st.pool}", partial(_promote, graph, s, report, st, at, weights, tick)
                )
            _timed(report, "look_back", lambda: _look_back(graph, s, report, at, weights, tick))
            aside.result()
        status = "done"
    finally:
        report.finished_at = max(now_ms(), at) if now is None else at
        try:
            graph.write(
                "pools/cycle_finish",
                cycle=report.cycle,
                now=report.finished_at,
                counts_json=json.dumps({"moves": report.moves, "counts": report.counts}),
                status=status,
            )
        except GraphrecError:
            if status == "done":
                raise
    return report


def _side_stages(
    graph: Graph,
    s: Settings,
    report: CycleReport,
    at: int,
    weights: dict[str, float],
    tick: Progress,
) -> None:
    _timed(report, "vertical", lambda: _vertical(graph, s, report, at, tick))
    _timed(report, "spillover", lambda: _spillover(graph, s, report, at, weights, tick))


def _timed(report: CycleReport, name: str, fn: Callable[[], None]) -> None:
    t0 = time.perf_counter()
    fn()
    report.seconds[name] = time.perf_counter() - t0


def _apply_moves(
    graph: Graph,
    s: Settings,
    report: CycleReport,
    decisions: list[dict[str, Any]],
    *,
    budgets: dict[str, tuple[int, int]],
    at: int,
    stage: str,
    tick: Progress,
) -> list[str]:
    """Apply move decisions in sorted batches; returns the ids that actually moved."""
    moved: list[str] = []
    ordered = sorted(decisions, key=lambda d: d["video_id"])
    done = 0
    for batch in iter_batches(ordered, s.cycle_batch_size):
        rows = [
            {
                "video_id": d["video_id"],
                "from_pool": d["from_pool"],
                "to_pool": d["to_pool"],
                "reason": d["reason"],
                "score": d.get("score"),
                "budget_min": budgets.get(d["to_pool"], (0, 0))[0],
                "budget_max": budgets.get(d["to_pool"], (0, 0))[1],
                "draw": budget_draw(s, d["video_id"]),
            }
            for d in batch
        ]
        for r in graph.write("pools/apply_moves", rows=rows, cycle=report.cycle, now=at):
            report.moves[f"{r['from_pool']}->{r['to_pool']}"] += 1
            moved.append(r["video_id"])
        done += len(batch)
        tick(stage, done, len(ordered))
    return moved


def _budgets(s: Settings) -> dict[str, tuple[int, int]]:
    return {
        "cold_start": (s.cold_start_budget_min, s.cold_start_budget_max),
        "boost": (s.boost_budget_min, s.boost_budget_max),
    }


def _trending_exit(graph: Graph, s: Settings, report: CycleReport, at: int, tick: Progress) -> None:
    decisions = graph.read("pools/decide_trending_exit", now=at, max_age_ms=s.trending_max_age_ms)
    _apply_moves(graph, s, report, decisions, budgets={}, at=at, stage="trending exit", tick=tick)


def _promote(
    graph: Graph,
    s: Settings,
    report: CycleReport,
    st: Stage,
    at: int,
    weights: dict[str, float],
    tick: Progress,
) -> None:
    t0 = time.perf_counter()
    decisions = graph.read(
        "pools/decide_promotions",
        pool=st.pool,
        next=st.next,
        reason=st.reason,
        now=at,
        max_age_ms=st.max_age_ms,
        window_ms=s.cohort_window_ms,
        share=s.promote_share,
        min_cohort=s.promote_min_cohort,
        min_score=s.promote_min_score,
        weights=weights,
    )
    report.seconds[f"{st.pool}.decide"] = time.perf_counter() - t0
    report.counts[f"{st.pool}_cohorts"] += len({d["cohort"] for d in decisions})
    budgets = _budgets(s)  # trending and the long tail have no budget
    moved = set(
        _apply_moves(graph, s, report, decisions, budgets=budgets, at=at, stage=st.pool, tick=tick)
    )
    report.seconds[f"{st.pool}.apply"] = (
        time.perf_counter() - t0 - report.seconds[f"{st.pool}.decide"]
    )
    promoted = sorted(
        d["video_id"] for d in decisions if d["to_pool"] == st.next and d["video_id"] in moved
    )
    for batch in iter_batches(promoted, max(1, s.cycle_batch_size // 4)):
        rows = graph.write(
            "pools/amplify",
            video_ids=batch,
            top=s.amplify_communities,
            sample=AMPLIFY_SAMPLE,
            cycle=report.cycle,
            now=at,
        )
        for r in rows:
            report.counts[f"amplified_{r['audience']}"] += 1


def _look_back(
    graph: Graph,
    s: Settings,
    report: CycleReport,
    at: int,
    weights: dict[str, float],
    tick: Progress,
) -> None:
    decisions = graph.read(
        "pools/decide_look_back",
        now=at,
        min_age_ms=s.lookback_min_age_ms,
        min_impressions=s.lookback_min_impressions,
        max_impressions=s.lookback_max_impressions,
        min_score=s.lookback_min_score,
        creator_window_ms=s.lookback_creator_window_ms,
        creator_min_score=s.lookback_creator_min_score,
        weights=weights,
        limit=s.lookback_max_per_period,
        period_ms=s.lookback_period_ms,
    )
    _apply_moves(
        graph, s, report, decisions, budgets=_budgets(s), at=at, stage="look-back", tick=tick
    )


def _vertical(graph: Graph, s: Settings, report: CycleReport, at: int, tick: Progress) -> None:
    decisions = graph.read(
        "pools/decide_vertical", min_videos=s.vertical_min_videos, min_share=s.vertical_min_share
    )
    done = 0
    for batch in iter_batches(decisions, s.cycle_batch_size):
        rows = [{"creator_id": d["creator_id"], "labels": d["labels"]} for d in batch]
        for r in graph.write("pools/apply_vertical", rows=rows, now=at):
            report.counts["vertical_added"] += int(r["added"])
            report.counts["vertical_removed"] += int(r["removed"])
        done += len(batch)
        tick("vertical", done, len(decisions))


def _spillover(
    graph: Graph,
    s: Settings,
    report: CycleReport,
    at: int,
    weights: dict[str, float],
    tick: Progress,
) -> None:
    decisions = graph.read(
        "pools/decide_spillover",
        min_impressions=s.virality_min_impressions,
        min_score=s.virality_min_score,
        weights=weights,
    )
    ids: Iterable[str] = sorted(d["video_id"] for d in decisions)
    for batch in iter_batches(ids, max(1, s.cycle_batch_size // 4)):
        for r in graph.write(
            "pools/apply_spillover", video_ids=batch, boost=s.spillover_boost, now=at
        ):
            report.counts["spillover_viral"] += 1
            report.counts["spillover_raised"] += int(r["raised"])
