"""The quality benchmark: Recall@20 / NDCG@20 on a LightGCN-format split (public Gowalla).

Scorers are measured with the LightGCN paper's protocol (all-item ranking, training items
masked): a training-free graph filter (BSPM-style by default), the learned torch-geometric
LightGCN embeddings (time-boxed training), the filter cut to item-to-item lists of ``k``
neighbours (what the feed's item-to-item source stores and serves), and each with LightGCN
(per-user standardised scores, ``base + w * embeddings``). Every weight and the early stop
are chosen on a validation split carved from train, never on the test split. Every
component's wall time is reported; the training curve is written as a PNG beside the
checkpoint.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.learn.baselines import top_k_rows
from graphrec.learn.export import split_holdout
from graphrec.learn.filters import GraphFilter
from graphrec.learn.gowalla import load_split
from graphrec.learn.metrics import evaluate_ranking
from graphrec.learn.model import normalized_adjacency
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
    train_seconds: float = 240.0,
    config: TrainConfig | None = None,
    families: str = "served",
    weights: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
    neighbours: tuple[int, ...] = (50, 200),
    spectral_scales: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0),
    blend_ws: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0),
    validation: float = 0.2,
    init: str = "normal",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the benchmark on the split in ``data``; returns the figures (also for JSON).

    Nothing is chosen on the test split: a validation split (``validation`` of each user's
    training items, at random: the split has no times) is carved from train; LightGCN trains
    on the rest and stops early on it, and every weight is picked there. For the test, the
    filter is refitted on the whole train split and the learned LightGCN layer is propagated
    over the whole training graph (no retraining).

    By default (``families="served"``) it measures what the feed serves, through the same
    function the feed calls (:meth:`graphrec.learn.blend.FilterBlend.score`): the filter's
    high-pass lists cut to ``neighbours[0]`` per video, plus ``g`` x its low-rank part as the
    stored spectral vectors, plus ``w`` x the unit LightGCN embeddings in the user's filter
    units, ``g`` (``spectral_scales``) and ``w`` (``blend_ws``) chosen on validation; and, for
    reference, LightGCN alone and the whole filter alone. ``families="all"`` adds the
    earlier table: every list family at every scale and LightGCN weight (per-user
    standardised sums; far more CPU).
    """
    from graphrec.learn.blend import BlendParts, FilterBlend, choose, evaluate_blends, unit_rows
    from graphrec.learn.spectral import spectral_vectors

    if families not in ("served", "all"):
        raise ValueError(f"families: 'served' or 'all', got {families!r}")
    torch.set_num_threads(threads)
    started = time.perf_counter()
    cpu0 = time.process_time()
    split = load_split(data)
    t_load = time.perf_counter() - started
    log(f"loaded {split.summary()} in {t_load:.1f}s")
    inner, valid = split_holdout(split.train, fraction=validation, seed=0)
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
    c0 = time.process_time()
    result = train_model(
        inner,
        valid,
        cfg,
        on_epoch=lambda e: log(
            f"epoch {e.epoch} loss {e.loss:.4f} t={e.seconds:.0f}s"
            + (f" valid recall {e.recall:.4f} ndcg {e.ndcg:.4f}" if e.recall is not None else "")
        ),
    )
    t_train = time.perf_counter() - t0
    cpu: dict[str, float] = {"lightgcn_train": time.process_time() - c0}
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = save_checkpoint(
        out_dir / "gowalla-lightgcn.pt",
        result.model,
        user_ids=[str(u) for u in range(split.num_users)],
        item_ids=[str(i) for i in range(split.num_items)],
        extra={"curve": result.curve()},
    )
    curve_png = plot_curve(result.history, ckpt.with_suffix(".png"), title="LightGCN on Gowalla")
    served_k = neighbours[0]
    timings: dict[str, float] = {}

    def clock(name: str, t: float, c: float) -> None:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
        cpu[name] = cpu.get(name, 0.0) + time.process_time() - c

    def served_phase(
        train: sp.csr_matrix, test: list[np.ndarray], adj: torch.Tensor, picked: FilterBlend | None
    ) -> tuple[FilterBlend, dict[str, Any]]:
        """Fit the filter on ``train``; its high-pass lists, vectors and the embeddings as
        the feed stores them; choose ``g``, ``w`` (validation) or score the picked ones."""
        t, c = time.perf_counter(), time.process_time()
        filt = GraphFilter.fit(train, kind=filter_kind, rank=rank)
        clock("filter_fit", t, c)
        t, c = time.perf_counter(), time.process_time()
        lists = filt.highpass_rows(served_k)
        vectors = spectral_vectors(filt, train.shape[1], rank=rank)
        clock("highpass_lists_and_vectors", t, c)
        result.model.eval()
        with torch.no_grad():
            user_emb, item_emb = result.model.get_embedding(adj)
        users_e = user_emb.cpu().numpy()
        items_e = item_emb.cpu().numpy()
        unit_items = unit_rows(items_e)
        key_t = np.ascontiguousarray(vectors.key.T)
        base = FilterBlend.fit(vectors.key, vectors.scale, items_e)

        def parts(u: np.ndarray) -> BlendParts:
            x = train[u]
            q = np.asarray(x @ vectors.query, dtype=np.float32)
            e = users_e[u]
            return BlendParts(
                lists=(x @ lists).toarray(), spectral=q @ key_t, query=q,
                embedding=e @ unit_items.T, user=e,
            )  # fmt: skip

        t, c = time.perf_counter(), time.process_time()
        if picked is None:
            chosen = choose(base, parts, train, test, gs=spectral_scales, ws=blend_ws)
            measured = {"served": evaluate_blends(parts, train, test, {"x": chosen})["x"]}
        else:
            chosen = base.weighted(picked.g, picked.w)
            measured = evaluate_blends(
                parts, train, test, {"served": chosen, "served_no_lightgcn": chosen.weighted(
                    chosen.g, 0.0)},
            )  # fmt: skip
        clock("served_scoring", t, c)
        t, c = time.perf_counter(), time.process_time()
        emb = embedding_scorer(result.model, adj)
        refs: dict[str, Callable[[np.ndarray], torch.Tensor]] = {"lightgcn": emb}
        if picked is not None:  # the whole filter, for reference: the test split only
            refs["filter"] = filt.score
        measured.update(_evaluate_together(refs, train, test))
        clock("reference_scoring", t, c)
        return chosen, measured

    log("validation: filter, lists and vectors on the inner split; g and w picked there")
    chosen, val_metrics = served_phase(inner, valid, result.adj, None)
    log(f"chosen: g={chosen.g:g} w={chosen.w:g}")
    log("test: filter refitted on the whole train split, chosen g and w")
    full_adj = normalized_adjacency(split.train)
    _, test_metrics = served_phase(split.train, split.test, full_adj, chosen)
    served = test_metrics["served"]
    served_name = f"highpass@{served_k} + {chosen.g:g} x spectral + {chosen.w:g} x LightGCN"
    names = {
        "served": f"{served_name} (served, validated)",
        "served_no_lightgcn": f"highpass@{served_k} + {chosen.g:g} x spectral",
        "lightgcn": "LightGCN alone",
        "filter": f"{filter_kind} graph filter alone (reference)",
    }
    rows = [{"model": names[n], **m.as_dict()} for n, m in test_metrics.items()]
    out: dict[str, Any] = {
        "data": str(data),
        "split": split.summary(),
        "families": families,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "validation_share": validation,
        "chosen": {"g": chosen.g, "w": chosen.w, "neighbours": served_k},
        "validation_grid": chosen.validation,
        "validation_rows": [{"model": names.get(n, n), **m.as_dict()}
                            for n, m in val_metrics.items()],
        "served": {"model": served_name, "neighbours": served_k,
                   "spectral_dims": int(2 * rank + 1), **served.as_dict()},
        "served_recall_at_20": served.recall,
        "served_ndcg_at_20": served.ndcg,
        "train_config": cfg.__dict__,
        "best_epoch": result.best_epoch,
        "curve": result.curve(),
        "checkpoint": str(ckpt),
        "curve_png": str(curve_png),
    }  # fmt: skip
    if families == "all":
        t, c = time.perf_counter(), time.process_time()
        extra = _all_families(
            split, inner, valid, result, filter_kind=filter_kind, rank=rank, weights=weights,
            neighbours=neighbours, spectral_scales=spectral_scales,
        )  # fmt: skip
        clock("all_families", t, c)
        rows += extra.pop("rows")
        out.update(extra)
    rows += [
        {"model": f"published: {k}", "recall@20": r, "ndcg@20": n}
        for k, (r, n) in PUBLISHED.items()
    ]
    total = time.perf_counter() - started
    out["rows"] = rows
    out["load_avg_at_end"] = os.getloadavg()
    out["cpu_s"] = round(time.process_time(), 1)  # the whole process, imports included
    out["cpu_s_after_imports"] = round(time.process_time() - cpu0, 1)
    out["cpu_seconds"] = {k: round(v, 1) for k, v in cpu.items()}
    out["seconds"] = {
        "load": round(t_load, 1),
        "lightgcn_train": round(t_train, 1),
        "lightgcn_seconds_per_epoch": round(result.seconds_per_epoch, 1),
        "lightgcn_epochs": len(result.history),
        **{k: round(v, 1) for k, v in timings.items()},
        "total": round(total, 1),
    }
    return out


def _all_families(
    split: Any,
    inner: sp.csr_matrix,
    valid: list[np.ndarray],
    result: Any,
    *,
    filter_kind: str,
    rank: int,
    weights: tuple[float, ...],
    neighbours: tuple[int, ...],
    spectral_scales: tuple[float, ...],
) -> dict[str, Any]:
    """The full family table (``--families all``): the whole filter, ``similar@k`` (the
    whole filter cut to ``k`` per video) and ``highpass@k+g*spectral``, each alone and with
    LightGCN (per-user standardised sums), every weight chosen on validation."""

    def served_name(k: int, g: float) -> str:
        return f"highpass@{k}+spectral" if g == 1 else f"highpass@{k}+{g:g}*spectral"

    dims: dict[str, int] = {}
    timings = {"filter_fit": 0.0, "item_rows": 0.0, "spectral": 0.0, "filter": 0.0,
               "embedding": 0.0}  # fmt: skip

    def phase(
        train: sp.csr_matrix, test: list[np.ndarray], adj: torch.Tensor, picks: dict[str, float]
    ) -> tuple[dict[str, Any], dict[str, float]]:
        """Fit the filter on ``train``, score every family, pick weights (when ``picks`` is
        empty) and measure on ``test``; returns the metrics and the weights used."""
        t = time.perf_counter()
        filt = GraphFilter.fit(train, kind=filter_kind, rank=rank)
        timings["filter_fit"] += time.perf_counter() - t
        t = time.perf_counter()
        longest = filt.item_rows(max(neighbours))  # shorter lists are its heads
        lists = {k: longest if k == max(neighbours) else top_k_rows(longest, k)
                 for k in neighbours}  # fmt: skip
        timings["item_rows"] += time.perf_counter() - t
        t = time.perf_counter()
        widest = filt.highpass_rows(max(neighbours))
        highpass = {k: widest if k == max(neighbours) else top_k_rows(widest, k)
                    for k in neighbours}  # fmt: skip
        query, key = filt.spectral_vectors()
        dims["spectral"] = int(key.shape[1])
        timings["spectral"] += time.perf_counter() - t
        emb = embedding_scorer(result.model, adj)
        cache: dict[str, torch.Tensor] = {}

        def component(name: str, clock: str, fn: Callable[[np.ndarray], torch.Tensor]) -> Any:
            def score(users: np.ndarray) -> torch.Tensor:
                t = time.perf_counter()
                cache[name] = _standardise(fn(users).float())
                timings[clock] += time.perf_counter() - t
                return cache[name]

            return score

        scorers: dict[str, Callable[[np.ndarray], torch.Tensor]] = {
            "lightgcn": component("lightgcn", "embedding", emb),
            "filter": component("filter", "filter", filt.score),
        }

        def from_lists(m: sp.csr_matrix) -> Callable[[np.ndarray], torch.Tensor]:
            return lambda u: torch.from_numpy((train[u] @ m).toarray())

        def blend(base: str, w: float) -> Callable[[np.ndarray], torch.Tensor]:
            return lambda _u: cache[base] + w * cache["lightgcn"]

        key_t = torch.from_numpy(key).T.contiguous()
        low: dict[str | int, Any] = {}

        def lists_and_vectors(k: int, g: float) -> Callable[[np.ndarray], torch.Tensor]:
            def score(u: np.ndarray) -> torch.Tensor:
                if low.get("users") is not u:  # each part once per batch, for every k and g
                    low.clear()
                    user = torch.from_numpy(np.asarray(train[u] @ query, dtype=np.float32))
                    low.update(users=u, scores=user @ key_t)
                if k not in low:
                    low[k] = torch.from_numpy((train[u] @ highpass[k]).toarray())
                return low[k] + g * low["scores"]

            return score

        for k, m in lists.items():
            scorers[f"similar@{k}"] = component(f"similar@{k}", "filter", from_lists(m))
        for k in highpass:
            for g in spectral_scales:
                name = served_name(k, g)
                scorers[name] = component(name, "filter", lists_and_vectors(k, g))
        bases = [
            "filter",
            *(f"similar@{k}" for k in lists),
            *(served_name(k, g) for k in highpass for g in spectral_scales),
        ]
        for base in bases:
            for w in weights if not picks else (picks[base],):
                if w > 0:
                    scorers[f"{base}+{w:g}*lightgcn"] = blend(base, w)
        measured = _evaluate_together(scorers, train, test)
        chosen = dict(picks)
        if not picks:
            for base in bases:
                options = {0.0: measured[base].ndcg} | {
                    w: measured[f"{base}+{w:g}*lightgcn"].ndcg for w in weights if w > 0
                }
                chosen[base] = max(options, key=lambda w: options[w])
        return measured, chosen

    val_metrics, chosen = phase(inner, valid, result.adj, {})
    full_adj = normalized_adjacency(split.train)
    test_metrics, _ = phase(split.train, split.test, full_adj, chosen)

    def name_of(base: str) -> str:
        w = chosen[base]
        return base if w == 0 else f"{base}+{w:g}*lightgcn"

    def validated(k: int) -> str:
        """The spectral scale whose blend did best on validation, for lists of ``k``."""
        names = [served_name(k, g) for g in spectral_scales]
        return max(names, key=lambda b: val_metrics[name_of(b)].ndcg)

    return {
        "rows": [{"model": f"[all] {name}", **m.as_dict()} for name, m in test_metrics.items()],
        "all_chosen_weights": chosen,
        "all_validation_rows": [{"model": n, **m.as_dict()} for n, m in val_metrics.items()],
        "all_best_validated": {
            base: {"model": name_of(base), **test_metrics[name_of(base)].as_dict()}
            for base in chosen
        },
        "all_by_neighbours": {
            k: {"model": name_of(validated(k)), **test_metrics[name_of(validated(k))].as_dict()}
            for k in neighbours
        },
        "all_seconds": {k: round(v, 1) for k, v in timings.items()},
        "all_spectral_dims": dims.get("spectral"),
    }


def _evaluate_together(
    scorers: dict[str, Callable[[np.ndarray], torch.Tensor]],
    train: sp.csr_matrix,
    test: list[np.ndarray],
) -> dict[str, Any]:
    """Evaluate several scorers batch by batch (the first ones fill a cache the rest reuse)."""
    from graphrec.learn.metrics import RankingMetrics, recall_ndcg

    users = np.array([u for u, t in enumerate(test) if len(t) > 0], dtype=np.int64)
    acc: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {n: [] for n in scorers}
    seen = {n: np.zeros(train.shape[1], dtype=bool) for n in scorers}
    for start in range(0, len(users), 1024):
        batch = users[start : start + 1024]
        sub = train[batch].tocoo()
        rows, cols = torch.from_numpy(sub.row).long(), torch.from_numpy(sub.col).long()
        truth = [test[u] for u in batch]
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
