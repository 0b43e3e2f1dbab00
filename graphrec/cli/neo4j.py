"""``graphrec neo4j start|stop|status``: the locally launched Neo4j server."""

from __future__ import annotations

import typer

from graphrec.cli.common import console, handle_errors, out
from graphrec.config import get_settings
from graphrec.db import Graph, migrate
from graphrec.services.neo4j import LocalNeo4j

app = typer.Typer(
    help="Manage the local Neo4j 5.26 server (jars from Maven Central).", no_args_is_help=True
)


@app.command()
@handle_errors
def start(
    migrate_schema: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Apply the schema once up."
    ),
) -> None:
    """Start the local server (or find it running), wait until Bolt answers."""
    settings = get_settings()
    server = LocalNeo4j.from_settings(settings)
    console.print(
        f"starting Neo4j in {server.state_dir} (heap {server.heap}, page cache {server.pagecache})"
    )
    conn = server.start()
    if migrate_schema:
        with Graph.connect(conn, settings=settings) as graph:
            migrate(graph, settings=settings)
    out.print(f"Neo4j is up at {conn.uri} (user neo4j)")


@app.command()
@handle_errors
def stop() -> None:
    """Shut the local server down cleanly; its data stays in the state directory."""
    server = LocalNeo4j.from_settings(get_settings())
    if server.stop():
        out.print("Neo4j stopped")
    else:
        out.print("Neo4j was not running")


@app.command()
@handle_errors
def status() -> None:
    """Whether the local server runs, and where."""
    st = LocalNeo4j.from_settings(get_settings()).status()
    for k, v in st.items():
        out.print(f"{k:>10}: {v}")
    if not st["running"]:
        raise typer.Exit(1)
