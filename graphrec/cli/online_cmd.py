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
    ranker_every: float | None = typer.Option(
        None,
        min=0.0,
        help="Seconds between refits of the feed ranker on the served "
        "impressions (0: never; default GRAPHREC_ONLINE_RANKER_EVERY_S, 600).",
    ),
) -> None:
    """Run the online-trainer consumer group: learn from the stream, publish vectors."""
    from graphrec.cli.spine_cmd import open_spine
    from graphrec.learn.ranker import LogRankerRefresh
    from graphrec.spine.trainer import OnlineTrainer, checkpoint_watch, learner_from_graph

    settings = get_settings()
    every = settings.online_ranker_every_s if ranker_every is None else ranker_every
    with open_graph() as graph, open_spine() as spine:
        console.print("starting from the vectors in the graph (the last batch run) ...")
        learner, batch = learner_from_graph(graph, settings=settings)
        ranker = LogRankerRefresh(
            graph, settings.ranker_path(), every_s=every,
            window_s=settings.online_ranker_window_s,
        )  # fmt: skip
        t = OnlineTrainer(
            spine, learner, batch, graph=graph, margin=margin, min_users=min_users,
            graph_every_s=graph_every, rehearse_slice_s=rehearse_slice,
            rehearse_lag_s=rehearse_lag, threads=threads,
            reset_check=checkpoint_watch(graph, settings), ranker=ranker,
        )  # fmt: skip
        if drain:
            summary = t.drain(timeout_s=3_600)
            if every > 0:  # a drain is one round: refit the ranker on the logs once
                ranker.run_once()
                summary["ranker"] = ranker.summary()
            gate = summary.pop("gate") or {}
            refit = summary.pop("ranker") or {}
            print_table("online trainer", [summary])
            if gate:
                print_table("safety gate (held-out tail of the stream)", [gate])
            if refit:
                print_table("feed ranker refit on the served impressions", [refit])
            return
        console.print(f"online trainer {t.reader.consumer} running (Ctrl-C stops)")
        try:
            t.run()
        finally:
            t.stop()
