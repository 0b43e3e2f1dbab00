"""``graphrec redis start|stop|status`` and ``graphrec services start|stop|status``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from graphrec.cli.common import console, handle_errors, out
from graphrec.config import get_settings

if TYPE_CHECKING:
    from graphrec.services.redis import LocalRedis

app = typer.Typer(
    help="Manage the local Redis 7 server (the event stream and online state).",
    no_args_is_help=True,
)
services_app = typer.Typer(
    help="Start, stop or show both local servers graphrec runs on (Neo4j and Redis).",
    no_args_is_help=True,
)


def _local() -> LocalRedis:
    from graphrec.services.redis import LocalRedis

    return LocalRedis.from_settings(get_settings())


@app.command()
@handle_errors
def start() -> None:
    """Start the local redis-server (or find it running), AOF on; wait until it answers."""
    server = _local()
    console.print(f"starting Redis in {server.state_dir} (appendfsync {server.appendfsync})")
    out.print(f"Redis is up at {server.start()}")


@app.command()
@handle_errors
def stop() -> None:
    """Stop the local server; its AOF stays in the state directory."""
    out.print("Redis stopped" if _local().stop() else "Redis was not running")


@app.command()
@handle_errors
def status() -> None:
    """Whether the local server runs, and where."""
    st = _local().status()
    for k, v in st.items():
        out.print(f"{k:>12}: {v}")
    if not st["running"]:
        raise typer.Exit(1)


@services_app.command("start")
@handle_errors
def services_start() -> None:
    """Start (or find) Neo4j and Redis as every command does (URL, container or local)."""
    from graphrec.db import Graph, migrate
    from graphrec.services.provide import provide_server
    from graphrec.services.redis import provide_redis

    settings = get_settings()
    handle = provide_server(settings)
    with Graph.connect(handle.connection, settings=settings) as graph:
        migrate(graph, settings=settings)
    out.print(f"Neo4j is up at {handle.connection.uri} ({handle.backend})")
    r = provide_redis(settings)
    out.print(f"Redis is up at {r.url} ({r.backend})")


@services_app.command("stop")
@handle_errors
def services_stop() -> None:
    """Stop the local Neo4j and Redis servers (their data stays)."""
    from graphrec.services.neo4j import LocalNeo4j

    out.print(
        "Neo4j stopped"
        if LocalNeo4j.from_settings(get_settings()).stop()
        else "Neo4j was not running"
    )
    out.print("Redis stopped" if _local().stop() else "Redis was not running")


@services_app.command("status")
@handle_errors
def services_status() -> None:
    """Both local servers' status; exit 1 when one is not running."""
    from graphrec.services.neo4j import LocalNeo4j

    neo = LocalNeo4j.from_settings(get_settings()).status()
    red = _local().status()
    out.print(f"neo4j: {'running' if neo['running'] else 'stopped'} {neo['uri']}")
    out.print(f"redis: {'running' if red['running'] else 'stopped'} {red['url']}")
    if not (neo["running"] and red["running"]):
        raise typer.Exit(1)
