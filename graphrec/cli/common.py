"""What every CLI command shares: the console, error handling, opening the graph."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from graphrec.config import get_settings
from graphrec.db import Graph
from graphrec.errors import GraphrecError

console = Console(stderr=True)
out = Console()
P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn graphrec errors into a clear message and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except GraphrecError as e:
            fail(str(e))
            raise  # unreachable: fail() exits
        except KeyboardInterrupt:
            console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


@contextmanager
def open_graph(*, start_local: bool = True) -> Iterator[Graph]:
    """The graph: NEO4J_URI, a container, or the local server (started if needed)."""
    from graphrec.services.provide import provide_server

    settings = get_settings()
    if settings.neo4j_uri is None and start_local:
        console.print("[dim]no NEO4J_URI: using the local Neo4j server (starting it if needed)[/]")
    handle = provide_server(settings)
    graph = Graph.connect(handle.connection, settings=settings)
    try:
        yield graph
    finally:
        graph.close()
        handle.close()


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not sys.stderr.isatty() and get_settings().environment != "development",
    )


class StageProgress:
    """A progress callback ``(stage, done, total)`` drawing one bar per stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.quarters: dict[str, int] = {}  # without a terminal: the last quarter printed

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)
        if self.progress.disable:  # no bars drawn (not a terminal): a line per quarter
            quarter = 4 * done // total if total else 4
            if quarter > self.quarters.get(stage, -1):
                self.quarters[stage] = quarter
                out.print(f"   {stage}: {done}/{total}", highlight=False)


def print_table(title: str, rows: list[dict[str, Any]], *, key: str | None = None) -> None:
    """Rows as a table; with ``key``, transposed (one column per row, named by its ``key``),
    which keeps many figures of a few records readable in 80 columns."""
    if not rows:
        out.print(f"{title}: (no rows)")
        return
    if key is not None:
        rows = [{"figure": f, **{str(r[key]): r.get(f) for r in rows}} for f in rows[0] if f != key]
    if len(rows) == 1 and len(rows[0]) > 5:
        # One wide record reads better as a two-column list of figures.
        rows = [{"figure": k, "value": v} for k, v in rows[0].items()]
    table = Table(title=title)
    for col in rows[0]:
        table.add_column(str(col))
    for row in rows:
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()])
    out.print(table)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))
