"""``graphrec stream trainer``: the online trainer as a standalone consumer (thin over
:mod:`graphrec.spine.trainer`)."""

from __future__ import annotations

import typer

from graphrec.cli.common import console, handle_errors, open_graph, print_table
from graphrec.config import get_settings


@handle_errors
def trainer(
    drain: bool = typer.Option(False, help="Learn what is in the stream, then exit."),
    margin: float = typer.Option(
        0.02, min=0.0, help="Refuse to publish when online NDCG@20 < batch NDCG@20 - margin."
    ),
    min_users: int = typer.Option(200, min=1, help="Held-out users before the gate judges."),
    graph_every: float = typer.Option(
        5.0, min=0.0, help="Seconds between batched writes of vectors into Neo4j."
    ),
    rehearse_slice: float = typer.Option(
        0.05, min=0.0, help="Seconds of a due rehearsal pass per read (at least one slice)."
    ),
    rehearse_lag: float = typer.Option(
        1.0, help="Rehearse only while the entries just learned are at most this old (s)."
    ),
    threads: int = typer.Option(1, min=1, help="torch threads for learning."),
) -> None:
    """Run the online-trainer consumer group: learn from the stream, publish vectors."""
    from graphrec.cli.spine_cmd import open_spine
    from graphrec.spine.trainer import OnlineTrainer, checkpoint_watch, learner_from_graph

    settings = get_settings()
    with open_graph() as graph, open_spine() as spine:
        console.print("starting from the vectors in the graph (the last batch run) ...")
        learner, batch = learner_from_graph(graph, settings=settings)
        t = OnlineTrainer(
            spine, learner, batch, graph=graph, margin=margin, min_users=min_users,
            graph_every_s=graph_every, rehearse_slice_s=rehearse_slice,
            rehearse_lag_s=rehearse_lag, threads=threads,
            reset_check=checkpoint_watch(graph, settings),
        )  # fmt: skip
        if drain:
            summary = t.drain(timeout_s=3_600)
            gate = summary.pop("gate") or {}
            print_table("online trainer", [summary])
            if gate:
                print_table("safety gate (held-out tail of the stream)", [gate])
            return
        console.print(f"online trainer {t.reader.consumer} running (Ctrl-C stops)")
        try:
            t.run()
        finally:
            t.stop()
