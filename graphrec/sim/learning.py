"""The simulation's use of the learning half: train once, write back for every policy."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.world.generate import World

SIMILAR_FILE = "similar.npz"  # the item-to-item lists, beside the simulation's checkpoint
SPECTRAL_FILE = "spectral.npz"  # the filter's low-rank vectors (the spectral source)
BLEND_FILE = "blend.json"  # the served score's weights (the blend source, (:Model {id: 'blend'}))


def train_once(
    graph: Graph, world: World, settings: Settings
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Train on the loaded world, write embeddings and communities back; returns the
    checkpoint, training figures and how the communities compare with the latent truth."""
    from graphrec.learn.pipeline import learn
    from graphrec.learn.similar import save_lists

    folder = Path(tempfile.mkdtemp(prefix="graphrec-sim-model-"))
    # The whole learning half, as `graphrec train` runs it: embeddings, communities, the
    # item-to-item lists and the feed ranker (published beside the checkpoint when it beats
    # the hand weights on validation). The lists are saved too: every later policy starts
    # from a reloaded world and gets them written again (write_back).
    run = learn(graph, settings=settings, checkpoint=folder / "model.pt")
    if run.item_item is not None:
        save_lists(folder / SIMILAR_FILE, run.export.video_ids, run.item_item)
    if run.spectral_vectors is not None:
        v = run.spectral_vectors
        np.savez(folder / SPECTRAL_FILE, ids=np.asarray(run.export.video_ids, dtype=str),
                 query=v.query, key=v.key, scale=v.scale, rank=v.rank)  # fmt: skip
    if run.blend is not None:
        (folder / BLEND_FILE).write_text(json.dumps(
            {**run.blend.props(), "method": run.similar.get("method"),
             "trained_at": int(time.time() * 1000)}))  # fmt: skip
    best = run.result.best.as_dict() if run.result.best else {}
    info = {
        "epochs": len(run.result.history),
        "seconds": {k: round(v, 2) for k, v in run.seconds.items()},
        "holdout": best,
        "checkpoint": str(run.checkpoint),
        "similar": {k: v for k, v in run.similar.items() if k != "validation"},
        "ranker": {
            k: run.ranker.get(k) for k in ("published", "validation_ndcg_at_20", "path", "why")
        },
    }
    comm = run.communities
    assert comm is not None
    return (
        run.checkpoint,
        info,
        compare_with_truth(world, run.export.user_ids, comm.labels, comm.count),
    )


def compare_with_truth(
    world: World, user_ids: list[str], labels: np.ndarray, count: int
) -> dict[str, Any]:
    """How found communities match the world's latent ones: AMI and purity."""
    from graphrec.learn.communities import adjusted_mutual_info, purity

    index = {u["id"]: i for i, u in enumerate(world.users)}
    truth = world.latent["user_community"]
    pairs = [
        (int(truth[index[u]]), int(lab))
        for u, lab in zip(user_ids, labels, strict=True)
        if u in index and lab >= 0
    ]
    if not pairs:
        return {"communities": count, "users": 0}
    t, p = zip(*pairs, strict=True)
    return {
        "communities": count,
        "latent_communities": int(truth.max()) + 1,
        "users": len(pairs),
        "ami": round(float(adjusted_mutual_info(t, p)), 4),
        "purity": round(float(purity(t, p)), 4),
    }


def write_back(graph: Graph, checkpoint: Path, settings: Settings) -> int:
    """The trained embeddings and communities again, on a freshly reloaded world, and the
    spectral vectors and item-to-item lists when :func:`train_once` saved them beside the
    checkpoint (returns how many SIMILAR relationships were written again)."""
    from graphrec.learn.pipeline import write_back_checkpoint
    from graphrec.learn.similar import load_lists, write_similar
    from graphrec.learn.spectral import SpectralVectors, write_spectral

    write_back_checkpoint(graph, checkpoint, settings=settings, communities=True)
    vectors = checkpoint.with_name(SPECTRAL_FILE)
    if vectors.is_file():
        with np.load(vectors) as z:
            write_spectral(graph, [str(i) for i in z["ids"]], SpectralVectors(
                z["query"], z["key"], float(z["scale"]), int(z["rank"])))  # fmt: skip
    blend = checkpoint.with_name(BLEND_FILE)
    if blend.is_file():
        graph.write("learn/write_model_info", id="blend", props=json.loads(blend.read_text()))
    lists = checkpoint.with_name(SIMILAR_FILE)
    if not lists.is_file():
        return 0
    ids, model = load_lists(lists)
    return write_similar(graph, ids, model)


def ranker_path(info: dict[str, Any]) -> Path | None:
    """The feed ranker :func:`train_once` published (None: the hand weights rank)."""
    path = (info.get("ranker") or {}).get("path")
    return Path(path) if path else None
