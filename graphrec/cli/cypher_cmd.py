"""``graphrec cypher``: list and run the analysts' named queries, or an analyst's own file.

Every query runs read-only (see :mod:`graphrec.analyst`); results print as a table, CSV or
JSON (CSV and JSON go to stdout alone, so they pipe into other tools).
"""

from __future__ import annotations

from pathlib import Path

import typer

from graphrec import analyst, cypher
from graphrec.cli.common import handle_errors, open_graph, out
from graphrec.errors import InvalidInput

app = typer.Typer(help="Analysts' Cypher: named read-only queries.", no_args_is_help=True)


def _check_format(fmt: str) -> str:
    if fmt not in analyst.FORMATS:
        raise InvalidInput(f"--format must be one of {', '.join(analyst.FORMATS)}, got {fmt!r}")
    return fmt


def _describe_params(query: cypher.Query) -> str:
    parts = []
    for p in analyst.params_of(query):
        text = f"${p.name}"
        if p.type:
            text += f" ({p.type})"
        if p.has_default:
            text += f" = {analyst.cypher_literal(p.default)}"
        parts.append(text)
    return ", ".join(parts) or "-"


@app.command("list")
@handle_errors
def list_queries(
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
) -> None:
    """The analyst queries: name, parameters (with defaults), columns and question."""
    _check_format(fmt)
    rows = [
        {
            "name": name,
            "params": _describe_params(q),
            "returns": ", ".join(q.returns),
            "description": q.description,
        }
        for name, q in sorted(analyst.queries().items())
    ]
    if fmt == "json":
        import json

        typer.echo(json.dumps(rows, indent=2))
        return
    if fmt == "csv":
        import csv
        import sys

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["name"])
        writer.writeheader()
        writer.writerows(rows)
        return
    from rich.table import Table

    table = Table(title="analyst queries (graphrec cypher run NAME)", show_lines=True)
    for col in ("name", "params", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        first = r["description"].split(". ")[0].split(": ")[0].rstrip(".")
        table.add_row(r["name"], r["params"], first)
    out.print(table)


@app.command("run")
@handle_errors
def run_query(
    name: str | None = typer.Argument(None, help="an analyst query (see: graphrec cypher list)"),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="NAME=VALUE (repeat); values are parsed by the param's type"
    ),
    file: Path | None = typer.Option(None, "--file", help="run your own .cypher file instead"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    timeout: float | None = typer.Option(
        None, "--timeout", help="seconds (default GRAPHREC_ANALYST_TIMEOUT_S)"
    ),
) -> None:
    """Run a named analyst query (or --file) in a read-only transaction."""
    _check_format(fmt)
    if (name is None) == (file is None):
        raise InvalidInput("give either a query NAME or --file Q.cypher (not both)")
    query = analyst.from_file(file) if file is not None else analyst.find(str(name))
    given = analyst.parse_assignments(param)
    analyst.bind(query, given)  # parameter errors before connecting
    with open_graph() as graph:
        result = analyst.run(graph, query, given, timeout_s=timeout)
    if fmt == "json":
        typer.echo(analyst.to_json(result))
    elif fmt == "csv":
        typer.echo(analyst.to_csv(result), nl=False)
    else:
        out.print(analyst.to_table(result))


@app.command("show")
@handle_errors
def show_query(
    name: str = typer.Argument(..., help="an analyst query (see: graphrec cypher list)"),
    param: list[str] = typer.Option([], "--param", "-p", help="NAME=VALUE (repeat)"),
) -> None:
    """Print a query with its parameters as :param lines, for cypher-shell or Neo4j Browser."""
    query = analyst.find(name)
    params = analyst.bind(query, analyst.parse_assignments(param))
    typer.echo(analyst.shell_script(query, params), nl=False)
