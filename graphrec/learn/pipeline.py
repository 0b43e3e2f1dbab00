"""The learning pipeline: one export -> train -> write-back -> communities (:func:`learn`);
the API, the CLI, the demo and the simulation all run it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphrec.config import Settings, get_settings
from graphrec.db import Graph
from graphrec.errors import CheckpointError
from graphrec.learn.blend import FilterBlend, HistoryBlend, fit_blend, unit_rows
from graphrec.learn.communities import Communities, find_communities, write_communities
from graphrec.learn.export import GraphExport, export_graph, split_holdout
from graphrec.learn.similar import ItemItem, export_last_at, fit_item_item, write_similar
from graphrec.learn.spectral import SpectralVectors, fit_filter, write_spectral
from graphrec.learn.train import (
    Checkpoint,
    EpochLog,
    TrainConfig,
    TrainResult,
    load_checkpoint,
    plot_curve,
    save_checkpoint,
    train_model,
)
from graphrec.learn.writeback import WriteBackResult, compute_embeddings, write_embeddings

Progress = Callable[[str, int, int], None]


def config_from_settings(s: Settings, **overrides: Any) -> TrainConfig:
    cfg = TrainConfig(
        epochs=s.learn_epochs,
        batch_size=s.learn_batch_size,
        lr=s.learn_lr,
        negatives=s.learn_negatives,
        eval_every=s.learn_eval_every,
        patience=s.learn_patience,
        seed=s.learn_seed,
        embedding_dim=s.embedding_dim,
        num_layers=s.learn_layers,
        objective=s.learn_objective,
    )
    for k, v in overrides.items():
        if v is not None:
            setattr(cfg, k, v)
    return cfg


@dataclass
class TrainingRun:
    """What one run of the learning pipeline did: the export it trained on, the result, the
    checkpoint and curve, the embeddings written and the communities found."""

    export: GraphExport
    result: TrainResult
    checkpoint: Path
    curve_png: Path
    writeback: WriteBackResult | None
    seconds: dict[str, float] = field(default_factory=dict)
    communities: Communities | None = None
    communities_written: dict[str, int] = field(default_factory=dict)
    similar: dict[str, Any] = field(default_factory=dict)
    spectral: dict[str, Any] = field(default_factory=dict)
    spectral_vectors: SpectralVectors | None = None  # (to write again on a reloaded graph)
    ranker: dict[str, Any] = field(default_factory=dict)
    item_item: ItemItem | None = None  # the fitted lists (to write again on a reloaded graph)
    blend: FilterBlend | None = None  # the served score's weights (graphrec.learn.blend)


def learn(
    graph: Graph,
    *,
    settings: Settings | None = None,
    checkpoint: Path | None = None,
    write_back: bool = True,
    communities: bool = True,
    item_item: bool = True,
    ranker: bool = True,
    on_epoch: Callable[[EpochLog], None] | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> TrainingRun:
    """The learning pipeline on one export of the graph: train with a held-out split, save
    the checkpoint and its curve, write the embeddings back and find the interest communities
    from the same embeddings (no second export, no checkpoint reload); with ``item_item``,
    fit item-to-item neighbours (EASE, chosen on validation) and write them as SIMILAR."""
    s = settings or get_settings()
    path = checkpoint or s.learn_checkpoint
    export = export_graph(graph, settings=s, progress=progress)
    train, test = split_holdout(export.matrix, fraction=s.learn_holdout, seed=s.learn_seed)
    cfg = config_from_settings(s, **overrides)
    result = train_model(train, test, cfg, on_epoch=on_epoch)
    saved = save_checkpoint(
        path,
        result.model,
        user_ids=export.user_ids,
        item_ids=export.video_ids,
        extra={
            "curve": result.curve(),
            "best_epoch": result.best_epoch,
            "best": result.best.as_dict() if result.best else None,
        },
    )
    png = plot_curve(result.history, saved.with_suffix(".png"), title="LightGCN on the graph")
    run = TrainingRun(
        export,
        result,
        saved,
        png,
        None,
        {"export": export.seconds, "train": result.seconds, "per_epoch": result.seconds_per_epoch},
    )
    if item_item:
        # Item-to-item from co-engagement: the feed's "similar" source walks these. The graph
        # filter is fitted once: its low-rank part is the "spectral" source's vectors and, on
        # a catalogue beyond EASE, its high-pass part is the "similar" lists (one filter).
        t0 = time.perf_counter()
        types = [t for t, w in s.learn_weights.items() if w > 0]
        last_at = export_last_at(graph, export, types=types)
        filt, spectral = fit_filter(export.matrix, rank=s.spectral_rank, seed=s.learn_seed)
        model = fit_item_item(export.matrix, last_at=last_at, seed=s.learn_seed, full_filter=filt)
        run.similar = {"method": model.method, "lambda": model.lam, "tau": model.tau,
                       "validation": model.validation}  # fmt: skip
        run.item_item = model
        if write_back:
            run.similar["written"] = write_similar(graph, export, model, progress=progress)
        run.seconds["item_item"] = time.perf_counter() - t0 - spectral.seconds
        # The graph filter's low-rank part as vectors: the feed's "spectral" source.
        t1 = time.perf_counter()
        run.spectral_vectors = spectral
        run.spectral = {"rank": spectral.rank, "scale": spectral.scale,
                        "seconds": round(spectral.seconds, 2)}  # fmt: skip
        if write_back:
            run.spectral["written"] = write_spectral(
                graph, export.video_ids, spectral, progress=progress
            )
        run.seconds["spectral"] = spectral.seconds + time.perf_counter() - t1
        # The served score (lists + g x spectral + w x embedding): g, w on validation.
        t1 = time.perf_counter()
        run.blend = fit_served_blend(export, train, test, result, model, spectral, settings=s)
        if write_back:
            graph.write("learn/write_model_info", id="blend",
                        props={**run.blend.props(), "method": model.method,
                               "trained_at": int(time.time() * 1000)})  # fmt: skip
        run.seconds["blend"] = time.perf_counter() - t1
        if ranker:
            # The ranker's validation lists see the served score (the blend fitted above,
            # its parts refitted on the lists' training part): rank_blend, and the blend's
            # own order as a baseline the ranker must beat.
            t0 = time.perf_counter()
            offline = validation_blend(model, result, run.blend, settings=s)
            run.ranker = train_ranker(
                graph, export, model, last_at, settings=s, publish=write_back,
                path=s.ranker_path(path), blend=offline,
            )  # fmt: skip
            run.seconds["ranker"] = time.perf_counter() - t0
    if not (write_back or communities):
        return run
    t0 = time.perf_counter()
    emb = compute_embeddings(result.model, export)
    if write_back:
        run.writeback = write_embeddings(graph, emb, progress=progress)
        run.seconds["write_back"] = time.perf_counter() - t0
    if communities:
        vectors = user_vectors(emb, export, result.model.embedding_dim)
        run.communities, run.communities_written = _communities(graph, export, vectors, s)
        run.seconds["communities"] = run.communities.seconds
    return run


def fit_served_blend(
    export: GraphExport,
    train: sp.csr_matrix,
    held: list[np.ndarray],
    result: TrainResult,
    model: ItemItem,
    spectral: SpectralVectors,
    *,
    settings: Settings,
) -> FilterBlend:
    """The feed's served score for this graph (:func:`graphrec.learn.blend.fit_blend`):
    validated on LightGCN's own split (``train`` / ``held``: the embeddings never saw the
    held items), with the lists refitted there the way ``model`` was fitted."""
    from graphrec.learn.baselines import ItemKNN, ease_weights
    from graphrec.learn.similar import _positive_top

    k = max(1, int(model.neighbours.getnnz(axis=1).max()) if model.neighbours.nnz else 50)

    def lists_on(x: sp.csr_matrix, filt: Any) -> sp.csr_matrix:
        if model.method == "ease" and model.lam is not None:
            return _positive_top(ease_weights(x, model.lam), k)
        if model.method == "highpass" and filt is not None:
            return _positive_top(filt.highpass_rows(k), k)
        if model.method == "filter" and filt is not None:
            return _positive_top(filt.item_rows(k), k)
        return ItemKNN.fit(x, k=k).sim

    def embeddings(x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        return _propagate(result, x)

    _, videos = embeddings(sp.csr_matrix(export.matrix))
    return fit_blend(
        train, held, lists_on=lists_on, rank=settings.spectral_rank, seed=settings.learn_seed,
        embeddings=embeddings, keys=spectral.key, scale=spectral.scale,
        video_embeddings=videos, neighbours=k,
    )  # fmt: skip


def _propagate(result: TrainResult, x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The trained LightGCN's user and video embeddings propagated over ``x``'s graph."""
    import torch

    from graphrec.learn.model import normalized_adjacency

    net = result.model.cpu()
    net.eval()
    with torch.no_grad():
        ue, ve = net.get_embedding(normalized_adjacency(x))
    return ue.numpy(), ve.numpy()


def validation_blend(
    model: ItemItem, result: TrainResult | None, served: FilterBlend | None, *,
    settings: Settings,
) -> HistoryBlend | None:  # fmt: skip
    """The served score (``served``'s ``g`` and ``w``, :meth:`FilterBlend.score`) for the
    ranker's validation lists, every part from the item-to-item validation split's training
    part only (``model.inner_ranks``): its lists (``model.inner``, fitted there the way the
    served lists are), the graph filter's vectors refitted there, LightGCN's embeddings
    propagated over it. None without a time-ordered split or a served blend."""
    from graphrec.learn.baselines import binary

    if served is None or model.inner is None or model.inner_ranks is None:
        return None
    x = binary(model.inner_ranks)
    _, vec = fit_filter(x, rank=settings.spectral_rank, seed=settings.learn_seed)
    users = videos = None
    if result is not None and served.w > 0:
        users, videos = _propagate(result, x)
    blend = FilterBlend.fit(vec.key, vec.scale, videos, g=served.g, w=served.w)
    return HistoryBlend(blend, sp.csr_matrix(model.inner), vec.query, vec.key, users,
                        None if videos is None else unit_rows(videos))  # fmt: skip


def train_ranker(
    graph: Graph,
    export: GraphExport,
    model: ItemItem,
    last_at: sp.csr_matrix,
    *,
    settings: Settings,
    publish: bool = True,
    path: Path | None = None,
    blend: HistoryBlend | None = None,
) -> dict[str, Any]:
    """Train the learned feed ranker on the validation lists (:mod:`graphrec.learn.ranker`)
    and, when it beats the hand weights and the served blend's own order there (``blend``:
    :func:`validation_blend`), publish it at ``settings.learn_ranker`` (and on
    ``(:Model {id: 'ranker'})``); otherwise the file is removed and the hand weights serve."""
    from graphrec.learn.ranker import (
        GRADED,
        VideoTable,
        fit_ranker,
        train_from_logs,
        training_lists,
    )

    if model.inner is None or model.inner_ranks is None or model.held is None or model.tau is None:
        return {"published": False, "why": "no time-ordered validation split (item-kNN)"}
    by_type = {t: export_last_at(graph, export, types=[t]) for t, _ in GRADED}
    lists, table = training_lists(
        video_ids=export.video_ids, video_creator=export.video_creator,
        video_tags=export.video_tags, inner_ranks=model.inner_ranks, held=model.held,
        neighbours=model.inner, tau=model.tau, at=last_at, by_type=by_type, blend=blend,
    )  # fmt: skip
    # One thread: LightGBM's OpenMP threads spin-wait, and on a busy machine two of them run
    # ten times slower than one (the lists are small: seconds either way).
    fit = fit_ranker(lists, table, threads=1, seed=settings.learn_seed)
    info = fit.as_dict()
    path = path or settings.ranker_path()
    if not publish:
        return info
    if fit.model is not None:
        x = sp.csr_matrix(export.matrix)
        fit.model.table = VideoTable.build(
            export.video_ids, x, by_type.get("LIKED", x * 0), last_at
        )
        fit.model.meta = {"trained_at": int(time.time() * 1000), **info}
        fit.model.save(path)
        info["path"] = str(path)
    else:
        path.unlink(missing_ok=True)
    graph.write(
        "learn/write_model_info", id="ranker",
        props={"published": fit.model is not None, "path": str(path) if fit.model else None,
               "params": json.dumps(fit.params), "validation": json.dumps(fit.validation),
               "trained_at": int(time.time() * 1000), "source": "validation"},
    )  # fmt: skip
    # Then the served impressions, when the graph holds enough of them: that model replaces
    # the one above only when it beats it and the hand weights on the latest served feeds.
    info["impressions"] = train_from_logs(graph, path, current=fit.model)
    if info["impressions"].get("published"):
        info["path"], info["published"] = str(path), True
    return info


def user_vectors(
    emb: dict[str, dict[str, tuple[np.ndarray, str]]], export: GraphExport, dim: int
) -> np.ndarray:
    """One row per exported user: the user's embedding, zeros for a user with none."""
    return np.stack([emb["user"].get(u, (np.zeros(dim), ""))[0] for u in export.user_ids])


def _communities(
    graph: Graph, export: GraphExport, vectors: np.ndarray | None, s: Settings
) -> tuple[Communities, dict[str, int]]:
    comm = find_communities(
        export,
        user_vectors=vectors,
        neighbours=s.communities_neighbours,
        resolution=s.communities_resolution,
        seed=s.communities_seed,
    )
    return comm, write_communities(graph, export, comm)


def _matching_checkpoint(path: Path, export: GraphExport) -> Checkpoint:
    ckpt = load_checkpoint(path)
    if export.user_ids != ckpt.user_ids or export.video_ids != ckpt.item_ids:
        raise CheckpointError(
            f"{path} was trained on another graph ({len(ckpt.user_ids)} users, "
            f"{len(ckpt.item_ids)} videos; the graph has {len(export.user_ids)} users, "
            f"{len(export.video_ids)} videos): retrain with `graphrec train`"
        )
    return ckpt


def write_back_checkpoint(
    graph: Graph, path: Path, *, settings: Settings | None = None, communities: bool = False
) -> WriteBackResult:
    """Write a saved checkpoint's embeddings (and, with ``communities``, the communities found
    from them) on one export; the graph must still match the checkpoint's id maps."""
    s = settings or get_settings()
    export = export_graph(graph, settings=s)
    ckpt = _matching_checkpoint(path, export)
    emb = compute_embeddings(ckpt.model, export)
    written = write_embeddings(graph, emb)
    if communities:
        _communities(graph, export, user_vectors(emb, export, ckpt.model.embedding_dim), s)
    return written


def recompute_communities(
    graph: Graph,
    *,
    settings: Settings | None = None,
    source: str = "auto",
    checkpoint: Path | None = None,
    export: GraphExport | None = None,
) -> tuple[GraphExport, Communities, dict[str, int]]:
    """Communities from embeddings (a checkpoint matching the graph) or co-engagement: the
    ``graphrec communities`` command; :func:`learn` finds them right after training."""
    s = settings or get_settings()
    export = export or export_graph(graph, settings=s)
    vectors = None
    path = checkpoint or s.learn_checkpoint
    if source in ("auto", "embedding") and (source == "embedding" or path.is_file()):
        ckpt = load_checkpoint(path)
        if ckpt.user_ids == export.user_ids and ckpt.item_ids == export.video_ids:
            emb = compute_embeddings(ckpt.model, export)
            vectors = user_vectors(emb, export, ckpt.model.embedding_dim)
        elif source == "embedding":
            raise CheckpointError(f"{path} does not match the graph: retrain first")
    comm, written = _communities(graph, export, vectors, s)
    return export, comm, written
