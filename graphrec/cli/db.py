"""``graphrec db migrate``: the schema (constraints, indexes, vector indexes)."""

from __future__ import annotations

import typer

from graphrec.cli.common import handle_errors, open_graph, out
from graphrec.db import migrate as apply_schema

app = typer.Typer(help="The graph's schema.", no_args_is_help=True)


@app.command()
@handle_errors
def migrate() -> None:
    """Apply every statement in cypher/schema/ (idempotent)."""
    with open_graph() as graph:
        applied = apply_schema(graph)
    out.print(f"schema applied: {len(applied)} statements")
