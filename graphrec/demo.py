"""The demo's workflow (``graphrec demo`` prints it): load a world, learn, simulate a day.

It empties the database it runs on: the simulated day reloads the world for each policy, and
a second run starts where the first did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.world.generate import World, generate
from graphrec.world.load import load_world, summary

if TYPE_CHECKING:
    from graphrec.learn.pipeline import TrainingRun
    from graphrec.sim import SimReport

Progress = Callable[[str, int, int], None]
# The demo's day compares graphrec with the popularity baseline (the ablations are
# ``graphrec simulate``'s: they would triple the demo's time). graphrec last: the graph that
# is served afterwards holds graphrec's own simulated day.
DEMO_POLICIES = ("popular", "graphrec")
# The simulated day starts at 21:00 (an hour after the world's clock): eight hours hold the
# evening and the night, nearly all of the day's sessions (the hours after 05:00 held 5 of
# 217 sessions on world S), and the newcomer's climb to trending (docs/simulation.md).
DEMO_HOURS = 8
# The planted change of taste comes once a fifth of the sessions are over, so the users it
# changes still open the app afterwards (at 40 %, the default, 8 of their sessions were left).
DEMO_SHIFT_AFTER = 0.2
# A pool cycle every 2 simulated hours: the newcomer's video, uploaded at hour 1, is decided
# at the end of that hour and has the busy hours left to spend its boost budget.
DEMO_CYCLE_EVERY_HOURS = 2
# Four pages a session (the simulation's default is 3): the newcomer's boost budget (40
# impressions on world S, seed 0) was spent within an hour of the last busy cycle at three
# pages, so whether it reached trending by the end of the night went either way between runs
# that differ only in timing (docs/simulation.md, round fourteen).
DEMO_PAGES_PER_SESSION = 4


@dataclass
class Learned:
    """The learning pipeline's run and how its communities match the world's latent ones."""

    run: TrainingRun
    versus: dict[str, Any] = field(default_factory=dict)

    @property
    def holdout(self) -> dict[str, Any]:
        best = self.run.result.best
        return best.as_dict() if best else {}


def load_demo_world(
    graph: Graph, size: str, seed: int, *, progress: Progress | None = None
) -> tuple[World, dict[str, int]]:
    """An empty graph, then world ``size`` generated from ``seed`` and loaded; returns the
    world and the graph's node and relationship counts."""
    world = generate(size, seed)
    graph.wipe()
    load_world(graph, world, progress=progress)
    s = summary(graph)
    return world, {k: v for k, v in {**s["node"], **s["relationship"]}.items() if v}


def learn_demo_world(
    graph: Graph,
    world: World,
    *,
    settings: Settings,
    checkpoint: Path,
    progress: Progress | None = None,
) -> Learned:
    """The learning pipeline (train, write back, communities), compared with the truth."""
    from graphrec.learn.pipeline import learn
    from graphrec.learn.similar import save_lists
    from graphrec.sim.learning import SIMILAR_FILE, compare_with_truth

    # The whole learning half, as `graphrec train` runs it: embeddings, communities, the
    # item-to-item lists and the feed ranker (published beside the checkpoint when it beats
    # the hand weights on validation). The lists are saved beside the checkpoint too: the
    # day reloads the world before graphrec's policy and writes them back from there.
    tick = progress or (lambda stage, done, total: None)
    run = learn(
        graph,
        settings=settings,
        checkpoint=checkpoint,
        progress=progress,
        # early stopping may end it before learn_epochs
        on_epoch=lambda log: tick("train (epochs)", log.epoch, settings.learn_epochs),
    )
    if run.item_item is not None:
        save_lists(checkpoint.with_name(SIMILAR_FILE), run.export.video_ids, run.item_item)
    assert run.communities is not None
    comm = run.communities
    return Learned(run, compare_with_truth(world, run.export.user_ids, comm.labels, comm.count))


def simulate_demo_day(
    graph: Graph,
    world: World,
    learned: Learned,
    *,
    seed: int,
    hours: int,
    report: Path,
    settings: Settings,
    progress: Progress | None = None,
) -> tuple[SimReport, dict[str, Path]]:
    """A simulated day for every demo policy on the trained model; the report written.

    The graph holds the world as :func:`learn_demo_world` left it: the first policy starts
    on it, the next on the world reloaded with the same embeddings and communities."""
    from graphrec.sim import SimConfig, simulate
    from graphrec.sim.report import write_report

    cfg = SimConfig(
        seed=seed,
        hours=hours,
        policies=DEMO_POLICIES,
        shift_after=DEMO_SHIFT_AFTER,
        cycle_every_hours=DEMO_CYCLE_EVERY_HOURS,
        pages_per_session=DEMO_PAGES_PER_SESSION,
    )
    day = simulate(
        graph,
        world,
        cfg,
        settings=settings,
        checkpoint=learned.run.checkpoint,
        loaded=True,
        progress=progress,
    )
    day.communities = learned.versus
    run = learned.run
    day.training = {
        **day.training,  # the ranker the day used, the SIMILAR lists written back per policy
        "holdout": learned.holdout,
        "seconds": {k: round(v, 2) for k, v in run.seconds.items()},
        "similar": {k: v for k, v in run.similar.items() if k != "validation"},
        "ranker_published": bool(run.ranker.get("published")),
    }
    return day, write_report(day, report)
