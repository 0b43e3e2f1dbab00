"""``graphrec simulate``: a day on the platform, every policy, and its report."""

from __future__ import annotations

from pathlib import Path

import typer

from graphrec.cli.common import (
    StageProgress,
    console,
    handle_errors,
    open_graph,
    out,
    print_table,
    progress_bar,
)
from graphrec.errors import InvalidInput
from graphrec.sim import ALL_POLICIES, SimConfig
from graphrec.sim import simulate as run_simulation
from graphrec.sim.report import write_report
from graphrec.world.files import read_world
from graphrec.world.generate import generate, world_size


@handle_errors
def simulate(
    size: str = typer.Option("S", help="World size to simulate on (S takes minutes)."),
    seed: int = typer.Option(0, help="Seed of the world and of the simulation."),
    world_dir: Path | None = typer.Option(
        None, "--world", help="A world folder instead of --size."
    ),
    hours: int = typer.Option(24, min=1, help="Simulated hours."),
    users: int | None = typer.Option(None, min=1, help="Simulate the first N users only."),
    policies: str = typer.Option(",".join(ALL_POLICIES), help="Comma-separated policies."),
    uploads_per_hour: int = typer.Option(6, min=0),
    cycle_every: int = typer.Option(3, min=1, help="Run the pool cycle every N simulated hours."),
    train: bool = typer.Option(
        True, "--train/--no-train", help="Train embeddings and communities first."
    ),
    log_ranker: bool = typer.Option(
        True,
        "--log-ranker/--no-log-ranker",
        help="Retrain graphrec's feed ranker on the day's served impressions at each cycle.",
    ),
    http: str | None = typer.Option(
        None, help="Base URL of a running API for the graphrec policy."
    ),
    api_key: str | None = typer.Option(None, envvar="GRAPHREC_API_KEY"),
    report: Path = typer.Option(Path("out/report"), help="Folder for report.html and report.json."),
) -> None:
    """Simulate users with known tastes against every policy; write an HTML + JSON report.

    The database is wiped and the world reloaded for each policy: use a dedicated Neo4j.
    """
    chosen = tuple(p.strip() for p in policies.split(",") if p.strip())
    if not train and policies == ",".join(ALL_POLICIES):
        # every policy by default; the online one learns from the trained model
        chosen = tuple(p for p in chosen if p != "online")
    if not chosen:
        raise InvalidInput("--policies: name at least one policy")
    cfg = SimConfig(
        seed=seed,
        hours=hours,
        users=users,
        policies=chosen,
        uploads_per_hour=uploads_per_hour,
        cycle_every_hours=cycle_every,
        ranker_from_logs=log_ranker,
    )
    if world_dir is not None:
        world = read_world(world_dir)
    else:
        world_size(size)
        world = generate(size, seed)
    with open_graph() as graph, progress_bar() as bar:
        result = run_simulation(
            graph, world, cfg, http=http, api_key=api_key, train=train, progress=StageProgress(bar)
        )
    paths = write_report(result, report)
    print_table(f"a day on the platform ({result.wall_s:.0f} s)", result.headline(), key="policy")
    out.print(f"report: {paths['html']}  figures: {paths['json']}")
    console.print("[dim]the graph now holds the last policy's day; reload a world to start over[/]")
