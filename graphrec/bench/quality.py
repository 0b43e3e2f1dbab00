"""The quality benchmark: Recall@20 / NDCG@20 on a LightGCN-format split (public Gowalla).

Three scorers are measured with the LightGCN paper's protocol (all-item ranking, training items
masked): a training-free graph filter (BSPM-style by default), the learned torch-geometric
LightGCN embeddings (time-boxed training), and their combination (per-user standardised
scores, filter + w * embeddings) for a few fixed weights ``w``. Every component's wall time is
reported; the training curve is written as a PNG beside the checkpoint.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphrec.learn.filters import GraphFilter
from graphrec.learn.gowalla import load_split
from graphrec.learn.metrics import evaluate_ranking
from graphrec.learn.train import (
    TrainConfig,
    embedding_scorer,
    plot_curve,
    save_checkpoint,
    train_model,
)

PUBLISHED = {
    "LightGCN (paper)": (0.1830, 0.1554),
    "BSPM (SIGIR 2023)": (0.1920, 0.1597),
    "NESCL (2024)": (0.1917, 0.1617),
}


def _standardise(s: torch.Tensor) -> torch.Tensor:
    return (s - s.mean(dim=1, keepdim=True)) / (s.std(dim=1, keepdim=True) + 1e-9)


def bench_quality(
    data: Path,
    *,
    out_dir: Path,
    threads: int = 2,
    filter_kind: str = "bspm",
    rank: int = 448,
    train_seconds: float = 360.0,
    config: TrainConfig | None = None,
    weights: tuple[float, ...] = (0.25, 0.5, 1.0),
    init: str = "normal",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the benchmark on the split in ``data``; returns the figures (also for JSON)."""
    torch.set_num_threads(threads)
    started = time.perf_counter()
    split = load_split(data)
    t_load = time.perf_counter() - started
    log(f"loaded {split.summary()} in {t_load:.1f}s")

    t0 = time.perf_counter()
    filt = GraphFilter.fit(split.train, kind=filter_kind, rank=rank)
    t_filter_fit = time.perf_counter() - t0
    log(f"{filter_kind} filter fitted in {t_filter_fit:.1f}s")

    cfg = config or TrainConfig(
        epochs=200,
        batch_size=65536,
        lr=0.01,
        negatives=512,
        eval_every=5,
        patience=3,
        max_seconds=train_seconds,
        init=init,
    )
    t0 = time.perf_counter()
    result = train_model(
        split.train,
        split.test,
        cfg,
        on_epoch=lambda e: log(
            f"epoch {e.epoch} loss {e.loss:.4f} t={e.seconds:.0f}s"
            + (f" recall {e.recall:.4f} ndcg {e.ndcg:.4f}" if e.recall is not None else "")
        ),
    )
    t_train = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = save_checkpoint(
        out_dir / "gowalla-lightgcn.pt",
        result.model,
        user_ids=[str(u) for u in range(split.num_users)],
        item_ids=[str(i) for i in range(split.num_items)],
        extra={"curve": result.curve()},
    )
    curve_png = plot_curve(result.history, ckpt.with_suffix(".png"), title="LightGCN on Gowalla")

    # One pass over the users scores every component; each is ranked separately.
    emb = embedding_scorer(result.model, result.adj)
    timings = {"filter": 0.0, "embedding": 0.0}
    cache: dict[str, torch.Tensor] = {}

    def component(name: str, fn: Callable[[np.ndarray], torch.Tensor]) -> Any:
        def score(users: np.ndarray) -> torch.Tensor:
            t = time.perf_counter()
            s = fn(users)
            timings[name] += time.perf_counter() - t
            cache[name] = s
            return s

        return score

    scorers: dict[str, Callable[[np.ndarray], torch.Tensor]] = {
        filter_kind: component("filter", filt.score),
        "lightgcn": component("embedding", emb),
    }
    for w in weights:
        scorers[f"{filter_kind}+{w}*lightgcn"] = lambda users, w=w: (
            _standardise(cache["filter"]) + w * _standardise(cache["embedding"])
        )
    results = _evaluate_together(scorers, split)
    total = time.perf_counter() - started
    rows = [{"model": name, **m.as_dict()} for name, m in results.items()] + [
        {"model": f"published: {k}", "recall@20": r, "ndcg@20": n}
        for k, (r, n) in PUBLISHED.items()
    ]
    return {
        "data": str(data),
        "split": split.summary(),
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "load_avg_at_end": os.getloadavg(),
        "rows": rows,
        "seconds": {
            "load": round(t_load, 1),
            "filter_fit": round(t_filter_fit, 1),
            "filter_scoring": round(timings["filter"], 1),
            "lightgcn_train": round(t_train, 1),
            "lightgcn_seconds_per_epoch": round(result.seconds_per_epoch, 1),
            "lightgcn_epochs": len(result.history),
            "lightgcn_scoring": round(timings["embedding"], 1),
            "total": round(total, 1),
        },
        "train_config": cfg.__dict__,
        "best_epoch": result.best_epoch,
        "curve": result.curve(),
        "checkpoint": str(ckpt),
        "curve_png": str(curve_png),
    }


def _evaluate_together(
    scorers: dict[str, Callable[[np.ndarray], torch.Tensor]], split: Any
) -> dict[str, Any]:
    """Evaluate several scorers batch by batch (the first ones fill a cache the rest reuse)."""
    from graphrec.learn.metrics import RankingMetrics, recall_ndcg

    users = np.array([u for u, t in enumerate(split.test) if len(t) > 0], dtype=np.int64)
    acc: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {n: [] for n in scorers}
    seen = {n: np.zeros(split.num_items, dtype=bool) for n in scorers}
    for start in range(0, len(users), 1024):
        batch = users[start : start + 1024]
        sub = split.train[batch].tocoo()
        rows, cols = torch.from_numpy(sub.row).long(), torch.from_numpy(sub.col).long()
        truth = [split.test[u] for u in batch]
        for name, fn in scorers.items():
            s = fn(batch).float().clone()
            s[rows, cols] = -torch.inf
            top = s.topk(20, dim=1).indices.numpy()
            seen[name][top.ravel()] = True
            acc[name].append(recall_ndcg(top, truth, 20))
    out = {}
    for name, parts in acc.items():
        out[name] = RankingMetrics(
            k=20,
            recall=float(np.concatenate([p[0] for p in parts]).mean()),
            ndcg=float(np.concatenate([p[1] for p in parts]).mean()),
            coverage=float(seen[name].mean()),
            users=len(users),
        )
    return out


__all__ = ["bench_quality", "evaluate_ranking"]


def bench_learn(*, size: str, seed: int, epochs: int, threads: int = 2) -> dict[str, Any]:
    """World ``size`` into a fresh server, then export, epochs, write-back and communities."""
    import tempfile

    from graphrec.bench.load import machine
    from graphrec.config import get_settings
    from graphrec.db import Graph
    from graphrec.learn.communities import (
        adjusted_mutual_info,
        find_communities,
        purity,
        write_communities,
    )
    from graphrec.learn.export import export_graph, split_holdout
    from graphrec.learn.pipeline import config_from_settings
    from graphrec.learn.writeback import compute_embeddings, write_embeddings
    from graphrec.services.provide import provide_server
    from graphrec.world.generate import generate
    from graphrec.world.load import load_world

    torch.set_num_threads(threads)
    settings = get_settings()
    world = generate(size, seed)
    truth_of = {
        u["id"]: int(c) for u, c in zip(world.users, world.latent["user_community"], strict=True)
    }
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="graphrec-bench-learn-") as tmp:
        handle = provide_server(settings, state_dir=Path(tmp) / "neo4j", ephemeral_port=True)
        try:
            with Graph.connect(handle.connection, settings=settings) as graph:
                from graphrec.db import migrate

                migrate(graph, settings=settings)
                t0 = time.perf_counter()
                load_world(graph, world)
                seconds["load_world"] = time.perf_counter() - t0
                export = export_graph(graph, settings=settings)
                seconds["export"] = export.seconds
                train, test = split_holdout(export.matrix, fraction=settings.learn_holdout, seed=0)
                cfg = config_from_settings(settings, epochs=epochs, eval_every=epochs, patience=99)
                result = train_model(train, test, cfg)
                seconds["train_per_epoch"] = result.seconds_per_epoch
                seconds["train_total_with_eval"] = result.seconds
                t0 = time.perf_counter()
                emb = compute_embeddings(result.model, export)
                wb = write_embeddings(graph, emb)
                seconds["write_back"] = time.perf_counter() - t0
                graph.write("admin/await_indexes")
                truth = np.array([truth_of[u] for u in export.user_ids])
                dim = result.model.embedding_dim
                vectors = np.stack(
                    [emb["user"].get(u, (np.zeros(dim), ""))[0] for u in export.user_ids]
                )
                comm_quality: dict[str, Any] = {}
                for source, vec in (("embedding", vectors), ("co-engagement", None)):
                    t0 = time.perf_counter()
                    comm = find_communities(
                        export,
                        user_vectors=vec,
                        neighbours=settings.communities_neighbours,
                        resolution=settings.communities_resolution,
                        seed=settings.communities_seed,
                    )
                    written = write_communities(graph, export, comm)
                    seconds[f"communities_{source}"] = time.perf_counter() - t0
                    ok = comm.labels >= 0
                    comm_quality[source] = {
                        "communities": comm.count,
                        "members": written["memberships"],
                        "ami": round(adjusted_mutual_info(truth[ok], comm.labels[ok]), 4),
                        "purity": round(purity(truth[ok], comm.labels[ok]), 4),
                    }
                # Retrieval inside Neo4j: the vector-index queries the feed uses.
                lat = []
                for uid in export.user_ids[:: max(1, len(export.user_ids) // 200)]:
                    t0 = time.perf_counter()
                    graph.read("learn/similar_videos_for_user", user_id=uid, k=50)
                    lat.append((time.perf_counter() - t0) * 1000)
        finally:
            handle.close()
    best = result.best.as_dict() if result.best else {}
    return {
        "benchmark": "learn",
        "size": size,
        "seed": seed,
        "machine": machine(),
        "load_avg_at_end": os.getloadavg(),
        "counts": export.counts,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "quality": {"epochs": epochs, **best},
        "written": wb.counts,
        "communities": comm_quality,
        "similar_videos_ms": {
            "p50": round(float(np.percentile(lat, 50)), 2),
            "p99": round(float(np.percentile(lat, 99)), 2),
            "queries": len(lat),
        },
    }
