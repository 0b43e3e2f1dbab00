"""``graphrec train`` and ``graphrec communities``: the learning flows, thin over the library."""

from __future__ import annotations

from pathlib import Path

import typer

from graphrec.cli.common import (
    StageProgress,
    console,
    handle_errors,
    open_graph,
    print_table,
    progress_bar,
)
from graphrec.config import get_settings
from graphrec.errors import InvalidInput


@handle_errors
def train(
    epochs: int = typer.Option(
        None, min=1, help="At most this many epochs (Settings.learn_epochs)."
    ),
    objective: str = typer.Option(None, help="softmax (default) or bpr (the LightGCN paper's)."),
    checkpoint: Path = typer.Option(None, help="Where to save (Settings.learn_checkpoint)."),
    max_seconds: float = typer.Option(None, help="Stop training after this many seconds."),
    write_back: bool = typer.Option(True, help="Write the embeddings into Neo4j."),
) -> None:
    """Export the graph, train LightGCN (held-out evaluation, early stop), write embeddings."""
    from graphrec.learn.pipeline import learn
    from graphrec.learn.train import EpochLog

    if objective is not None and objective not in ("softmax", "bpr"):
        raise InvalidInput("--objective must be softmax or bpr")
    settings = get_settings()

    def on_epoch(e: EpochLog) -> None:
        line = f"epoch {e.epoch:>3}  loss {e.loss:.4f}  {e.seconds:6.1f}s"
        if e.recall is not None:
            line += f"  Recall@20 {e.recall:.4f}  NDCG@20 {e.ndcg:.4f}  coverage {e.coverage:.3f}"
        console.print(line, highlight=False)

    with open_graph() as graph, progress_bar() as bar:
        run = learn(
            graph,
            settings=settings,
            checkpoint=checkpoint,
            write_back=write_back,
            communities=False,  # `graphrec communities` finds them
            on_epoch=on_epoch,
            progress=StageProgress(bar),
            epochs=epochs,
            objective=objective,
            max_seconds=max_seconds,
        )
    best = run.result.best.as_dict() if run.result.best else {}
    print_table(
        f"trained {run.result.model!r}",
        [
            {
                "epochs": len(run.result.history),
                "best_epoch": run.result.best_epoch,
                **best,
                **{f"{k}_s": round(v, 2) for k, v in run.seconds.items()},
                "checkpoint": str(run.checkpoint),
                "curve": str(run.curve_png),
            }
        ],
    )
    if run.writeback:
        print_table("embeddings written", [run.writeback.counts])
    if run.similar:
        sim = {k: v for k, v in run.similar.items() if k != "validation"}
        print_table("item-to-item (SIMILAR), chosen on validation", [sim])
    if run.spectral:
        print_table("graph filter's low-rank vectors (spectral source)", [run.spectral])
    if run.blend is not None:
        print_table("served score (blend source): lists + g x spectral + w x embedding",
                    [{"g": run.blend.g, "w": run.blend.w}])  # fmt: skip


@handle_errors
def communities(
    source: str = typer.Option("auto", help="embedding, co-engagement or auto."),
    checkpoint: Path = typer.Option(None, help="Checkpoint for embedding neighbours."),
    world_size: str = typer.Option(None, help="Compare with this generated world's latent groups."),
    world_seed: int = typer.Option(0, help="Seed of that world."),
) -> None:
    """Recompute interest communities (Louvain on a user-user graph) and write them."""
    from graphrec.learn.communities import adjusted_mutual_info, purity
    from graphrec.learn.pipeline import recompute_communities

    if source not in ("auto", "embedding", "co-engagement"):
        raise InvalidInput("--source must be embedding, co-engagement or auto")
    with open_graph() as graph:
        export, comm, written = recompute_communities(
            graph, settings=get_settings(), source=source, checkpoint=checkpoint
        )
    print_table(
        f"{comm.count} communities from {comm.source} in {comm.seconds:.1f}s",
        [{"id": r["id"], "size": r["size"], "label": r["label"]} for r in comm.rows[:15]],
    )
    figures: dict[str, object] = dict(written)
    if world_size:
        from graphrec.world.generate import generate

        world = generate(world_size, world_seed)
        truth_by_id = {
            u["id"]: int(c)
            for u, c in zip(world.users, world.latent["user_community"], strict=True)
        }
        idx = [i for i, u in enumerate(export.user_ids) if u in truth_by_id]
        truth = [truth_by_id[export.user_ids[i]] for i in idx]
        figures["ami"] = round(adjusted_mutual_info(truth, comm.labels[idx]), 4)
        figures["purity"] = round(purity(truth, comm.labels[idx]), 4)
    print_table("written", [figures])
