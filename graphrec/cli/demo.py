"""``graphrec demo``: the main job end to end on this machine.

Start (or find) Neo4j, apply the schema, generate and load a world, print what is in the
graph. Later stages (training, communities, a simulated day, serving) join this same command.
"""

from __future__ import annotations

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
from graphrec.world.generate import generate, world_size
from graphrec.world.load import load_world, summary


@handle_errors
def demo(
    size: str = typer.Option("S", help="World size: S (seconds), M (about a minute to load)."),
    seed: int = typer.Option(0, help="World seed."),
) -> None:
    """Run graphrec end to end: Neo4j, a generated world, and what is in the graph."""
    world_size(size)
    console.rule("[bold]graphrec demo")
    with open_graph() as graph:
        console.print(
            f"Neo4j at {graph.driver.get_server_info().address} is up; loading world {size}"
        )
        world = generate(size, seed)
        with progress_bar() as bar:
            report = load_world(graph, world, progress=StageProgress(bar))
        console.print(f"loaded in {report.total_seconds:.1f}s")
        s = summary(graph)
    print_table("nodes", [{"label": k, "count": v} for k, v in s["node"].items() if v])
    print_table("relationships", [{"type": k, "count": v} for k, v in s["relationship"].items()])
    out.print("graphrec demo done. Stop the local server with `graphrec neo4j stop`.")
