"""``graphrec world generate|load|summary``: the generated population and its loading."""

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
from graphrec.world.files import read_world, write_world
from graphrec.world.generate import generate as generate_world
from graphrec.world.generate import world_size
from graphrec.world.load import load_world
from graphrec.world.load import summary as graph_summary

app = typer.Typer(help="Generate a TikTok-like world and load it into Neo4j.", no_args_is_help=True)


@app.command()
@handle_errors
def generate(
    size: str = typer.Option("S", help="S (tests), M (benchmarks) or L (5x M)."),
    seed: int = typer.Option(0, help="The same seed always gives the same world."),
    out_dir: Path = typer.Option(Path("out/world"), "--out", help="Folder to write."),
) -> None:
    """Generate a world and write it as CSV files (+ manifest and latent truth)."""
    world_size(size)
    with console.status(f"generating world {size} (seed {seed})"):
        world = generate_world(size, seed)
        write_world(world, out_dir)
    print_table(f"world {size}, seed {seed} -> {out_dir}", [world.counts()])


@app.command()
@handle_errors
def load(
    folder: Path | None = typer.Argument(None, help="A world folder; or use --size/--seed."),
    size: str = typer.Option("S", help="Generate this size when no folder is given."),
    seed: int = typer.Option(0),
    batch_size: int = typer.Option(10_000, min=1),
) -> None:
    """Load a world into Neo4j (idempotent: loading twice creates nothing new)."""
    if folder is not None:
        with console.status(f"reading and checking {folder}"):
            world = read_world(folder)
    else:
        world_size(size)
        world = generate_world(size, seed)
    with open_graph() as graph, progress_bar() as bar:
        report = load_world(graph, world, batch_size=batch_size, progress=StageProgress(bar))
    out.print(
        f"loaded in {report.total_seconds:.1f}s; batches already present: {report.skipped_batches}"
    )
    from graphrec.cli.spine_cmd import sync_after_load

    sync_after_load()  # Redis's online state and lists follow the graph


@app.command()
@handle_errors
def summary() -> None:
    """What is in the graph: nodes by label, relationships by type."""
    with open_graph() as graph:
        s = graph_summary(graph)
    print_table("nodes", [{"label": k, "count": v} for k, v in s["node"].items()])
    print_table("relationships", [{"type": k, "count": v} for k, v in s["relationship"].items()])
