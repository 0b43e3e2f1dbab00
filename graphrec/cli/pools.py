"""``graphrec pools cycle|show``: the pool cycle and where videos stand."""

from __future__ import annotations

import json

import typer

from graphrec.cli.common import handle_errors, open_graph, out, print_table
from graphrec.lifecycle.cycle import run_cycle

app = typer.Typer(help="Traffic pools: run the pool cycle, show the pools.", no_args_is_help=True)


@app.command("cycle")
@handle_errors
def cycle_cmd(
    now: int | None = typer.Option(None, help="The cycle's clock (epoch ms); default: now."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Promote, settle, look back, label verticals and spill over, in one pass.

    Safe while feeds are served (batched writes); running it twice on the same state moves
    nothing the second time.
    """
    with open_graph() as graph:
        report = run_cycle(graph, now=now)
    data = report.as_dict()
    if as_json:
        out.print_json(json.dumps(data))
        return
    moves = [{"transition": k, "videos": v} for k, v in data["moves"].items()]
    print_table(f"pool cycle {report.cycle}: moves", moves)
    print_table("labels, amplification, spillover", [data["counts"]] if data["counts"] else [])
    print_table("seconds", [data["seconds"]])


@app.command("show")
@handle_errors
def show_cmd() -> None:
    """Videos, budget and impressions served per pool."""
    with open_graph() as graph:
        rows = graph.read("pools/pool_summary")
    print_table("pools", rows)
