"""``graphrec db migrate``: the schema (constraints, indexes, vector indexes)."""

from __future__ import annotations

import typer

from graphrec.cli.common import handle_errors, open_graph, out
from graphrec.db import migrate as apply_schema

app = typer.Typer(help="The graph's schema.", no_args_is_help=True)


@app.command()
@handle_errors
def migrate(
    reindex: bool = typer.Option(
        False,
        "--reindex",
        help="Recreate a vector index whose size differs from the settings (after changing "
        "GRAPHREC_EMBEDDING_DIM or GRAPHREC_SPECTRAL_RANK); vectors of the old size are "
        "removed, and `graphrec train` writes new ones.",
    ),
) -> None:
    """Apply every statement in cypher/schema/ (idempotent). A vector index of another size
    than the settings is refused (exit 2 with the reason) unless --reindex."""
    with open_graph() as graph:
        applied = apply_schema(graph, reindex=reindex)
    out.print(f"schema applied: {len(applied)} statements")
