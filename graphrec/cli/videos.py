"""``graphrec videos upload|show``: uploading videos (tag, audit, cold-start pool) and their state."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from graphrec.cli.common import handle_errors, open_graph, out, print_table
from graphrec.lifecycle.upload import parse_uploads, upload_many

app = typer.Typer(help="Upload videos and see where they stand.", no_args_is_help=True)


@app.command("upload")
@handle_errors
def upload_cmd(
    file: Path = typer.Argument(..., help="A JSON file: one upload object or a list ('-': stdin)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Upload videos: {"creator", "caption", "hashtags", "duration_ms"?, "id"?} each.

    Every upload is checked before the first is stored; malformed input stores nothing.
    Rejected uploads are stored with their reasons and never served.
    """
    raw = sys.stdin.buffer.read() if str(file) == "-" else _read(file)
    items = parse_uploads(raw)
    with open_graph() as graph:
        results = upload_many(graph, items)
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in results]))
        return
    print_table(
        "uploads",
        [
            {
                "video": r.video_id,
                "status": r.status,
                "pool": r.pool or "-",
                "budget": r.budget if r.budget is not None else "-",
                "tags": ", ".join(f"{t['tag']}({t['category']})" for t in r.tags),
                "reasons": "; ".join(r.reasons) or "-",
                "embedded": r.embedded,
            }
            for r in results
        ],
    )


def _read(file: Path) -> bytes:
    from graphrec.errors import InvalidInput

    try:
        return file.read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {file}: {e.strerror}") from None


@app.command("show")
@handle_errors
def show_cmd(video_ids: list[str] = typer.Argument(..., help="Video ids.")) -> None:
    """Where videos stand: status, reasons, pool, budget, served, score."""
    with open_graph() as graph:
        rows = graph.read("pools/video_state", video_ids=video_ids)
    print_table("videos", rows)
