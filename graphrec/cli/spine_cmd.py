"""``graphrec state sync`` and ``graphrec stream status|writer|filler``: the serving spine's jobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from graphrec.cli.common import console, handle_errors, open_graph, out, print_table
from graphrec.config import get_settings
from graphrec.spine import Spine

state_app = typer.Typer(help="Redis's online state, filled from the graph.", no_args_is_help=True)
stream_app = typer.Typer(help="The event stream and its consumer groups.", no_args_is_help=True)


@contextmanager
def open_spine() -> Iterator[Spine]:
    """Redis as every command finds it: GRAPHREC_REDIS_URL, a container, or the local one."""
    from graphrec.services.redis import provide_redis

    settings = get_settings()
    spine = Spine.connect(provide_redis(settings).url, settings)
    try:
        yield spine
    finally:
        spine.close()


def reset_state(spine: Spine) -> int:
    """Delete every graphrec key (state, lists, streams): after the graph was wiped."""
    gone = 0
    batch: list[bytes] = []
    for key in spine.r.scan_iter(match="gr:*", count=5_000):
        batch.append(key)
        if len(batch) >= 5_000:
            gone += int(spine.r.unlink(*batch))
            batch = []
    if batch:
        gone += int(spine.r.unlink(*batch))
    return gone


def sync_after_load(*, reset: bool = False) -> None:
    """Refresh Redis from the graph after a load (the CLI's world load, import, demo)."""
    from graphrec.spine.state import sync_state

    with open_graph() as graph, open_spine() as spine:
        if reset:
            reset_state(spine)
        report = sync_state(graph, spine)
    console.print(
        "Redis state synced: " + ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in report.items())
    )


@state_app.command("sync")
@handle_errors
def sync(
    parts: str = typer.Option(
        "catalog,users,budgets,lists,nearline",
        help="Comma-separated: catalog, users, budgets, lists, nearline, embeddings.",
    ),
    reset: bool = typer.Option(False, help="Delete every graphrec key in Redis first."),
) -> None:
    """Fill Redis from the graph (in pages; fast on world M)."""
    from graphrec.spine.state import sync_state

    with open_graph() as graph, open_spine() as spine:
        if reset:
            out.print(f"deleted {reset_state(spine)} keys")
        report = sync_state(graph, spine, [p.strip() for p in parts.split(",") if p.strip()])
    print_table("state sync", [{"part": k, **v} for k, v in report.items()])


@stream_app.command("status")
@handle_errors
def status(group: str = typer.Option("graph-writer", help="Consumer group.")) -> None:
    """Entries, pending, lag and the age of the oldest entry the group has not applied."""
    from graphrec.spine.stream import group_status

    with open_spine() as spine:
        st = group_status(spine, group)
    for k, v in st.items():
        out.print(f"{k:>24}: {v}")


@stream_app.command("writer")
@handle_errors
def writer(
    drain: bool = typer.Option(False, help="Apply what is there, then exit (else run on)."),
) -> None:
    """Run a graph-writer consumer standalone (API workers run one each as well)."""
    from graphrec.spine.writer import GraphWriter

    with open_graph() as graph, open_spine() as spine:
        w = GraphWriter(graph, spine)
        if drain:
            st = w.drain(timeout_s=3_600)
            out.print(f"applied {w.applied} entries; pending {st['pending']}, lag {st['lag']}")
            return
        console.print(f"graph writer {w.reader.consumer} running (Ctrl-C stops)")
        try:
            w.run()
        finally:
            w.stop()


@stream_app.command("filler")
@handle_errors
def filler(
    per_s: float | None = typer.Option(
        None, help="Users recomputed per second at most (default: queue_fill_per_s)."
    ),
    all_users: bool = typer.Option(
        False, "--all", help="Fill every known user's queue now (as fast as it goes), then exit."
    ),
) -> None:
    """Recompute feed queues nearline: users whose queue an event, a sync or a pool cycle
    outdated, or that ran low (see docs/serving.md)."""
    from graphrec.spine.feed import StreamRecommender
    from graphrec.spine.queue import QueueFiller, fill

    with open_spine() as spine:
        rec = StreamRecommender(spine)
        if all_users:
            k = spine.keys
            users = sorted(
                x.decode() for p in range(k.partitions) for x in spine.r.smembers(k.users(p))
            )
            out.print(str(fill(rec, users)))
            return
        f = QueueFiller(rec, per_s=per_s)
        console.print(
            f"queue filler {f.name} running, {f.per_s:g} rankings/s at most (Ctrl-C stops)"
        )
        try:
            f.run()
        finally:
            f.stop()
