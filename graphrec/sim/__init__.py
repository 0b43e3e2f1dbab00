"""A day on the platform: the closed-loop simulation and its report.

``simulate`` runs every policy of a :class:`SimConfig` on the same world and returns the
figures; :mod:`graphrec.sim.report` turns them into HTML + PNG + JSON.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.config import Settings, get_settings
from graphrec.db import Graph
from graphrec.errors import InvalidInput
from graphrec.sim.platforms import (
    BaselinePlatform,
    HttpPlatform,
    LibraryPlatform,
    OnlinePlatform,
)
from graphrec.sim.run import (
    ALL_POLICIES,
    BASELINES,
    HOUR_MS,
    ONLINE,
    PolicyResult,
    SimConfig,
    Simulation,
)
from graphrec.world.generate import World
from graphrec.world.load import load_world

Progress = Callable[[str, int, int], None]
FULL_SCALE_USERS = 100_000  # world L: pool budgets at their full size (graphrec.domain)
# The least budget (min, max of the draw) a pool keeps however small the world.
BUDGET_FLOORS: dict[str, tuple[int, int]] = {"cold_start": (10, 15), "boost": (20, 30)}


@dataclass
class SimReport:
    config: dict[str, Any]
    world: dict[str, Any]
    policies: dict[str, PolicyResult]
    communities: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    def headline(self) -> list[dict[str, Any]]:
        """One row per policy: the figures docs/simulation.md quotes."""
        keys = (
            "watch_time_per_session_s",
            "completion_rate",
            "like_rate",
            "new_creator_share",
            "creator_gini",
            "coverage",
            "intra_feed_diversity",
            "adaptation_pages",
            "strong_new_video_hours_to_boost",
            "strong_new_video_hours_to_trending",
            "malicious_impressions",
            "trending_upload_audience_cosine",
            "upload_audience_cosine",
        )
        return [
            {"policy": p, **{k: r.figures.get(k) for k in keys}} for p, r in self.policies.items()
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "world": self.world,
            "wall_s": round(self.wall_s, 1),
            "training": self.training,
            "communities": self.communities,
            "headline": self.headline(),
            "policies": {p: asdict(r) for p, r in self.policies.items()},
        }


class _StartState:
    """Puts the graph in the run's starting state: the world loaded and the model applied.

    Training happens once (the first time); later policies get the same embeddings and
    communities written back, so every policy starts from the same graph.
    """

    def __init__(
        self,
        graph: Graph,
        world: World,
        settings: Settings,
        *,
        train: bool,
        checkpoint: Path | None,
        loaded: bool = False,
    ) -> None:
        self.graph, self.world, self.settings, self.train = graph, world, settings, train
        self.loaded = loaded  # the graph holds the world (and the checkpoint's model) already
        self.scale = 1.0  # the pool budget scale factor (see pool_budget_scale)
        self.trained: Any = checkpoint
        self.info: dict[str, Any] = {}
        if checkpoint is not None and settings.ranker_path(checkpoint).is_file():
            # The feed ranker trained with that checkpoint (published beside it) ranks.
            self.info["ranker"] = {"path": str(settings.ranker_path(checkpoint))}
        self.communities: dict[str, Any] = {}

    def reset(self) -> None:
        fresh, self.loaded = not self.loaded, False
        if fresh:
            self.graph.wipe()
            load_world(self.graph, self.world)
        self.graph.write(
            "sim/scale_pool_budgets",
            scale=self.scale,
            floors={p: lo for p, (lo, _hi) in BUDGET_FLOORS.items()},
        )
        if not self.train or not fresh:
            return
        from graphrec.sim import learning

        if self.trained is None:
            self.trained, self.info, self.communities = learning.train_once(
                self.graph, self.world, self.settings
            )
        else:
            restored = learning.write_back(self.graph, self.trained, self.settings)
            self.info.setdefault("similar_restored", []).append(restored)


def simulate(
    graph: Graph,
    world: World,
    config: SimConfig,
    *,
    settings: Settings | None = None,
    http: str | None = None,
    api_key: str | None = None,
    train: bool = True,
    checkpoint: Path | None = None,
    loaded: bool = False,
    progress: Progress | None = None,
) -> SimReport:
    """Run every policy in ``config`` over the same simulated hours; returns the figures.

    With ``train`` the model is trained once on the loaded world (or ``checkpoint``, trained
    on this world already, is reused) and written back before every policy's day. With
    ``loaded`` the graph already holds the world just loaded, with ``checkpoint`` written
    back (the demo's state after learning): the first policy starts on it as it is.
    """
    from graphrec.lifecycle.upload import upload_video

    if ONLINE in config.policies and not (train or checkpoint is not None):
        raise InvalidInput(
            f"the {ONLINE!r} policy learns from the trained model: simulate it with training"
        )
    s = _sim_settings(settings or get_settings(), world, config)
    started = time.perf_counter()
    sim = Simulation(world, config, settings=s, progress=progress)
    state = _StartState(
        graph,
        world,
        s,
        train=train or checkpoint is not None,
        checkpoint=checkpoint,
        loaded=loaded and checkpoint is not None,
    )
    state.scale = pool_budget_scale(_population(world, config))
    results: dict[str, PolicyResult] = {}
    tick = progress or (lambda stage, done, total: None)
    for policy in config.policies:
        tick(f"{policy}: start state", 0, 1)  # the world reloaded, the model written back
        state.reset()
        tick(f"{policy}: start state", 1, 1)
        if policy in BASELINES:
            platform: Any = BaselinePlatform(graph, s, policy, config.seed)
        elif http and policy == "graphrec":
            platform = HttpPlatform(http, api_key)
        elif policy == ONLINE:
            platform = OnlinePlatform(
                graph, s, ranker=_own_ranker(state, policy, config),
                shared_ttl_s=config.shared_ttl_s,
            )  # fmt: skip
        else:
            platform = LibraryPlatform(
                graph, s, policy, ranker=_own_ranker(state, policy, config),
                shared_ttl_s=config.shared_ttl_s,
            )  # fmt: skip
        learns = isinstance(platform, LibraryPlatform) and config.ranker_from_logs

        def cycle(at: int, platform: Any = platform, learns: bool = learns) -> dict[str, Any]:
            done = _cycle(graph, s, at)
            if learns:
                platform.learn(at)
            return done

        def upload(data: dict[str, Any], at: int) -> dict[str, Any]:
            return upload_video(graph, data, settings=s, now=at).as_dict()

        results[policy] = sim.run_policy(
            policy,
            platform,
            upload=upload,
            cycle=cycle,
            pool_of=lambda ids: {
                r["video_id"]: r["pool"] for r in graph.read("sim/video_pools", video_ids=ids)
            },
            vectors=(lambda kind, ids: _vectors(graph, kind, ids)) if state.train else None,
        )
        if isinstance(platform, OnlinePlatform):
            results[policy].figures["online_training"] = platform.summary()
        if learns:
            results[policy].figures["ranker_from_logs"] = platform.refits
        if isinstance(platform, LibraryPlatform):
            # The day's served impressions by slot kind: what the cold-start and
            # exploration slots cost (like rate, graded value) against the relevance slots.
            from graphrec.learn.ranker import impression_lists

            day = impression_lists(graph, since=sim.start, until=sim.start + config.hours * HOUR_MS)
            results[policy].figures["slots"] = day.slots()
    return SimReport(
        config=asdict(config),
        world={"size": world.size, "seed": world.seed, **world.counts()},
        policies=results,
        communities=state.communities,
        training=state.info,
        wall_s=time.perf_counter() - started,
    )


def _own_ranker(state: _StartState, policy: str, config: SimConfig) -> Path | None:
    """The ranker file a graphrec policy's day ranks with: a copy of the one training
    published (none: the hand weights until the day's logs train one), its own so that a
    day's refits never reach another policy's day. None without training and logs."""
    from graphrec.sim.learning import ranker_path

    src = ranker_path(state.info)
    if not config.ranker_from_logs:
        return src
    folder = src.parent if src else Path(tempfile.mkdtemp(prefix="graphrec-sim-ranker-"))
    own = folder / f"ranker-{policy}.npz"
    if src is not None and src.is_file():
        shutil.copyfile(src, own)
    else:
        own.unlink(missing_ok=True)
    return own


def pool_budget_scale(active_users: int) -> float:
    """The one factor every pool budget (cold start 200-300, boost 10,000-100,000) is
    multiplied by in a simulated world: its active users over the full-scale population
    (``FULL_SCALE_USERS``, world L), at most 1. Each budget is then kept at least its pool's
    floor (``BUDGET_FLOORS``): world S (240 users) gets 0.0024, so cold start 10-15 and
    boost 24-240 impressions, which a 12-hour day can spend (docs/simulation.md)."""
    return min(1.0, max(active_users, 0) / FULL_SCALE_USERS)


def _population(world: World, config: SimConfig) -> int:
    return len(world.users) if config.users is None else min(config.users, len(world.users))


def _sim_settings(s: Settings, world: World, config: SimConfig) -> Settings:
    """The settings the day runs with: pool budgets scaled to the simulated population."""
    scale = pool_budget_scale(_population(world, config))

    def scaled(pool: str, lo: int, hi: int) -> tuple[int, int]:
        floor_lo, floor_hi = BUDGET_FLOORS[pool]
        return max(floor_lo, round(lo * scale)), max(floor_hi, round(hi * scale))

    cold = config.cold_start_budget or scaled(
        "cold_start", s.cold_start_budget_min, s.cold_start_budget_max
    )
    boost = scaled("boost", s.boost_budget_min, s.boost_budget_max)
    return s.model_copy(
        update={
            "cold_start_budget_min": cold[0],
            "cold_start_budget_max": cold[1],
            "boost_budget_min": boost[0],
            "boost_budget_max": boost[1],
            "pool_budget_seed": config.seed,  # budgets drawn alike in every policy and run
        }
    )


def _vectors(graph: Graph, kind: str, ids: list[str]) -> dict[str, np.ndarray]:
    """The embeddings the graph holds now for some users or videos (``kind``), by id."""
    key = f"{kind}_id"
    rows = graph.read(f"learn/{kind}_embeddings", **{f"{kind}_ids": ids})
    return {r[key]: np.asarray(r["embedding"], dtype=float) for r in rows if r["embedding"]}


def _cycle(graph: Graph, settings: Settings, at: int) -> dict[str, Any]:
    from graphrec.lifecycle.cycle import run_cycle

    return run_cycle(graph, settings=settings, now=at).as_dict()


__all__ = ["ALL_POLICIES", "SimConfig", "SimReport", "pool_budget_scale", "simulate"]
