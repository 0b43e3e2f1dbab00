"""``graphrec import DIR``: bring your own users, items and interactions (CSV, MovieLens)."""

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


@handle_errors
def import_cmd(
    folder: Path = typer.Argument(..., help="A folder in the generic format or MovieLens."),
    fmt: str = typer.Option("auto", "--format", help="auto, generic or movielens."),
    like_at: float = typer.Option(4.0, help="A rating >= this is also a completion and a like."),
    skip_at: float = typer.Option(2.0, help="A rating <= this is also a skip."),
    batch_size: int = typer.Option(10_000, min=1),
    check: bool = typer.Option(False, "--check", help="Read and check only; write nothing."),
) -> None:
    """Import a data set (checked whole first; batched and resumable; timestamps kept)."""
    from graphrec.importer import RatingRule, import_dataset, read_folder

    rule = RatingRule(like_at=like_at, skip_at=skip_at)
    with console.status(f"reading and checking {folder}"):
        ds = read_folder(folder, fmt=fmt, rule=rule)
    print_table(f"{ds.notes.get('format')} data set {folder}", [ds.counts()])
    if check:
        out.print("checked: no problems found (nothing written)")
        return
    with open_graph() as graph, progress_bar() as bar:
        report = import_dataset(graph, ds, batch_size=batch_size, progress=StageProgress(bar))
    out.print(
        f"imported in {report.total_seconds:.1f}s; batches already present: "
        f"{report.skipped_batches}"
    )
    from graphrec.cli.spine_cmd import sync_after_load

    sync_after_load()  # Redis's online state and lists follow the graph
