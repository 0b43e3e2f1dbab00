"""The replay benchmark: a real, time-ordered history through the product, scored on its
future, beside baselines computed in the same run on the same split.

1. **Split** (MovieLens folder): per user, the last 20 % of their ratings by time (ties by
   movie id) are the test part; a held-out rating >= ``like_at`` is a hit. The last 20 % of
   each user's *train* part is the validation split (hyper-parameters are chosen there).
2. **Import** the train part into a fresh Neo4j with the product's importer
   (:func:`graphrec.importer.import_dataset`: nodes, then the history in bulk batches, every
   event with its own timestamp). Tag applications after a user's first test rating are
   left out with their hashtags.
3. **Train** with the product's pipeline (:func:`graphrec.learn.pipeline.learn`:
   LightGCN embeddings written back, item-to-item SIMILAR written, the learned feed ranker
   trained on the graph's validation lists and published), then communities.
4. **Serve**: Redis filled from the graph (``graphrec state sync``, as after training), then
   every test user's feed (``record=False``, n=20, at the user's split time) from the serving
   spine's :class:`graphrec.spine.feed.StreamRecommender` under each policy: ``default`` (cold-start and
   exploration slots as in production), ``relevance`` (no slots), both ranked by the product's
   rank step (the learned ranker), and each source alone (its own order, hand scoring).
5. **Baselines** on the same train matrix (computed while the servers start and import): most-liked popularity, item-kNN (cosine, k chosen on
   validation), EASE (lambda chosen on validation).

Scored: HR@20, Recall@20 (hits / held-out hits), NDCG@20, coverage (share of the catalogue
recommended to anyone) and intra-list diversity (mean pairwise 1 - cosine of the items'
category vectors).
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.config import Settings, get_settings
from graphrec.importer.generic import RatingRule
from graphrec.importer.movielens import MovieLens, read_raw, to_dataset
from graphrec.learn.baselines import EASE, ItemKNN, Popularity, binary, choose

K = 20
POLICY_FLAGS = (
    "blend", "similar", "spectral", "embedding", "interest", "communities", "following", "pools",
    "spillover",
    "lookback", "cold_start", "catalogue",
)  # fmt: skip
SOURCE_OF_FLAG = {"communities": "community"}


@dataclass
class ReplaySplit:
    """Index arrays over the ratings: users and items as contiguous indices."""

    user: np.ndarray
    item: np.ndarray
    test: np.ndarray  # bool over ratings
    valid: np.ndarray  # bool over ratings (inside train)
    user_ids: list[int]
    item_ids: list[int]
    cut: dict[int, int]  # MovieLens user id -> first test time (ms)

    @property
    def train(self) -> np.ndarray:
        return ~self.test


def last_share(user: np.ndarray, at: np.ndarray, tie: np.ndarray, mask: np.ndarray,
               share: float) -> np.ndarray:  # fmt: skip
    """Within ``mask``: each user's last ``ceil(share * n)`` rows by (time, tie)."""
    out = np.zeros(len(user), dtype=bool)
    idx = np.flatnonzero(mask)
    order = idx[np.lexsort((tie[idx], at[idx], user[idx]))]
    bounds = np.r_[0, np.flatnonzero(np.diff(user[order])) + 1, len(order)]
    for s, e in itertools.pairwise(bounds.tolist()):
        k = math.ceil(share * (e - s))
        out[order[e - k : e]] = True
    return out


def time_split(ml: MovieLens, share: float = 0.2) -> ReplaySplit:
    user_ids = sorted(set(ml.users.tolist()))
    item_ids = sorted(ml.titles)
    u_index = {u: i for i, u in enumerate(user_ids)}
    i_index = {m: i for i, m in enumerate(item_ids)}
    user = np.array([u_index[u] for u in ml.users.tolist()], dtype=np.int64)
    item = np.array([i_index[m] for m in ml.movies.tolist()], dtype=np.int64)
    test = last_share(user, ml.at, item, np.ones(len(user), bool), share)
    valid = last_share(user, ml.at, item, ~test, share)
    first = np.full(len(user_ids), np.iinfo(np.int64).max)
    np.minimum.at(first, user[test], ml.at[test])
    cut = {user_ids[u]: int(first[u]) for u in range(len(user_ids))}
    return ReplaySplit(user, item, test, valid, user_ids, item_ids, cut)


def matrix(split: ReplaySplit, mask: np.ndarray) -> sp.csr_matrix:
    n = (len(split.user_ids), len(split.item_ids))
    m = sp.csr_matrix(
        (np.ones(int(mask.sum()), np.float32), (split.user[mask], split.item[mask])), shape=n
    )
    return binary(m)


def hits(split: ReplaySplit, mask: np.ndarray, ratings: np.ndarray, like_at: float) -> list[np.ndarray]:  # fmt: skip
    out: list[list[int]] = [[] for _ in split.user_ids]
    m = mask & (ratings >= like_at)
    for u, i in zip(split.user[m].tolist(), split.item[m].tolist(), strict=True):
        out[u].append(i)
    return [np.array(sorted(set(x)), dtype=np.int64) for x in out]


def score_lists(
    lists: dict[int, list[int]], truth: Sequence[np.ndarray], genres: np.ndarray, n_items: int
) -> dict[str, float]:
    """HR, Recall, NDCG @K over users with a hit; coverage; intra-list diversity."""
    disc = 1.0 / np.log2(np.arange(2, K + 2))
    hr, rec, nd, ild = [], [], [], []
    lengths = [len(lists.get(u, [])[:K]) for u, t in enumerate(truth) if len(t)]
    seen: set[int] = set()
    for u, t in enumerate(truth):
        if not len(t):
            continue
        top = lists.get(u, [])[:K]
        seen.update(top)
        h = np.isin(np.asarray(top, dtype=np.int64), t).astype(float)
        hr.append(float(h.any()))
        rec.append(h.sum() / len(t))
        nd.append(float((h * disc[: len(h)]).sum() / disc[: min(len(t), K)].sum()))
        if len(top) > 1:
            g = genres[top]
            norm = np.linalg.norm(g, axis=1, keepdims=True)
            g = g / np.maximum(norm, 1e-12)
            c = g @ g.T
            m = len(top)
            ild.append(float((m * m - c.sum()) / (m * (m - 1))) if m > 1 else 0.0)
    return {
        "hr_at_20": round(float(np.mean(hr)), 5) if hr else 0.0,
        "recall_at_20": round(float(np.mean(rec)), 5) if rec else 0.0,
        "ndcg_at_20": round(float(np.mean(nd)), 5) if nd else 0.0,
        "coverage": round(len(seen) / n_items, 5),
        "diversity": round(float(np.mean(ild)), 5) if ild else 0.0,
        "users": len(hr),
        "mean_length": round(float(np.mean(lengths)), 2) if lengths else 0.0,
    }


def top_lists(score: Callable[[np.ndarray], torch.Tensor], train: sp.csr_matrix,
              users: np.ndarray) -> dict[int, list[int]]:  # fmt: skip
    out: dict[int, list[int]] = {}
    for s in range(0, len(users), 1024):
        b = users[s : s + 1024]
        sc = score(b).float().clone()
        sub = train[b].tocoo()
        sc[torch.from_numpy(sub.row).long(), torch.from_numpy(sub.col).long()] = -torch.inf
        top = sc.topk(K, dim=1).indices.numpy()
        for u, row in zip(b.tolist(), top.tolist(), strict=True):
            out[u] = row
    return out


def baselines(split: ReplaySplit, ml: MovieLens, like_at: float, log: Callable[[str], None]) -> tuple[dict[str, dict[int, list[int]]], dict[str, Any]]:  # fmt: skip
    """Top-20 lists of each baseline for every user, and the hyper-parameters chosen."""
    train = matrix(split, split.train)
    inner = matrix(split, split.train & ~split.valid)
    valid = hits(split, split.valid, ml.ratings, like_at)
    users = np.arange(len(split.user_ids))
    liked = split.train & (ml.ratings >= like_at)
    pop = Popularity.fit(matrix(split, liked))
    chosen: dict[str, Any] = {}
    lists = {"popularity": top_lists(pop.score, train, users)}
    t0 = time.perf_counter()
    k, figs = choose(lambda k: ItemKNN.fit(inner, k=int(k)).score, [50, 200, 1000], inner, valid)
    chosen["item_knn_k"] = int(k)
    chosen["item_knn_validation"] = {str(g): round(m.ndcg, 5) for g, m in figs.items()}
    lists["item_knn"] = top_lists(ItemKNN.fit(train, k=int(k)).score, train, users)
    log(f"item-kNN: k={int(k)} chosen on validation ({time.perf_counter() - t0:.0f}s)")
    t0 = time.perf_counter()
    lam, figs = choose(lambda g: EASE.fit(inner, lam=g).score, [50.0, 200.0, 800.0], inner, valid)
    chosen["ease_lambda"] = lam
    chosen["ease_validation"] = {str(g): round(m.ndcg, 5) for g, m in figs.items()}
    lists["ease"] = top_lists(EASE.fit(train, lam=lam).score, train, users)
    log(f"EASE: lambda={lam:g} chosen on validation ({time.perf_counter() - t0:.0f}s)")
    return lists, chosen


def genre_matrix(ml: MovieLens, split: ReplaySplit) -> np.ndarray:
    names = sorted({g for gs in ml.genres.values() for g in gs})
    index = {g: i for i, g in enumerate(names)}
    out = np.zeros((len(split.item_ids), max(1, len(names))), dtype=np.float32)
    for i, m in enumerate(split.item_ids):
        for g in ml.genres[m]:
            out[i, index[g]] = 1.0
    return out


def policies() -> dict[str, Any]:
    """The feed policies measured: default, relevance (no slots), each source alone."""
    from graphrec.feed import FeedPolicy

    out: dict[str, Any] = {
        "default": FeedPolicy(),
        "relevance": FeedPolicy(cold_start=False, exploration_share=0.0),
    }
    flags = {f.name for f in fields(FeedPolicy)}
    for flag in POLICY_FLAGS:
        if flag not in flags:
            continue
        only: dict[str, Any] = {f: f == flag for f in POLICY_FLAGS if f in flags}
        out[f"source:{SOURCE_OF_FLAG.get(flag, flag)}"] = replace(
            FeedPolicy(), **only, exploration_share=0.0, diversity=False
        )
    return out


def bench_replay(
    data: Path,
    *,
    out_dir: Path,
    threads: int = 2,
    like_at: float = 4.0,
    train_seconds: float = 60.0,
    workers: int = 4,
    log: Callable[[str], None] = print,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Run the whole replay (see the module docstring); returns the figures."""
    from graphrec.db import Graph
    from graphrec.feed.rank import score
    from graphrec.importer import import_dataset
    from graphrec.learn.pipeline import learn
    from graphrec.services.provide import provide_server
    from graphrec.services.redis import provide_redis
    from graphrec.spine.feed import StreamRecommender
    from graphrec.spine.state import sync_state
    from graphrec.spine.store import Spine

    torch.set_num_threads(threads)
    s = settings or get_settings()
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str, t0: float) -> None:
        seconds[name] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    ml = read_raw(data)
    split = time_split(ml)
    truth = hits(split, split.test, ml.ratings, like_at)
    genres = genre_matrix(ml, split)
    n_items = len(split.item_ids)
    ds = to_dataset(ml, rule=RatingRule(like_at=like_at), ratings=split.train, until=split.cut)
    lap("read_and_split", t0)
    log(f"split: {int(split.train.sum())} train ratings, {int(split.test.sum())} test, "
        f"{sum(len(t) > 0 for t in truth)} users with a hit")  # fmt: skip

    def timed_baselines() -> tuple[dict[str, dict[int, list[int]]], dict[str, Any], float]:
        b0 = time.perf_counter()
        out, ch = baselines(split, ml, like_at, log)
        return out, ch, time.perf_counter() - b0

    train_info: dict[str, Any] = {}
    results: dict[str, Any] = {}
    # The baselines (numpy/torch) run while Neo4j and Redis start and the history is imported
    # (mostly the servers' work); they are joined before training.
    with (
        tempfile.TemporaryDirectory(prefix="graphrec-replay-") as tmp,
        ThreadPoolExecutor(1) as side,
    ):
        pending = side.submit(timed_baselines)
        t0 = time.perf_counter()
        handle = provide_server(s, state_dir=Path(tmp) / "neo4j", ephemeral_port=True)
        redis_handle = provide_redis(s, state_dir=Path(tmp) / "redis", ephemeral_port=True)
        checkpoint = Path(tmp) / "model" / "lightgcn.pt"
        s = s.model_copy(
            update={"redis_url": redis_handle.url, "learn_checkpoint": checkpoint,
                    "learn_ranker": None}
        )  # fmt: skip
        spine = Spine.connect(redis_handle.url, s)
        lap("neo4j_redis_start", t0)
        try:
            with Graph.connect(handle.connection, settings=s) as graph:
                t0 = time.perf_counter()
                report = import_dataset(graph, ds, settings=s)
                lap("import", t0)
                log(f"imported {ds.counts()} in {seconds['import']}s")
                t0 = time.perf_counter()
                base_lists, chosen, base_s = pending.result()
                seconds["baselines"] = round(base_s, 1)
                seconds["baselines_wait_after_import"] = round(time.perf_counter() - t0, 1)
                results.update(
                    {n: score_lists(ls, truth, genres, n_items) for n, ls in base_lists.items()}
                )
                t0 = time.perf_counter()
                run = learn(graph, settings=s, checkpoint=checkpoint, max_seconds=train_seconds)
                lap("train", t0)
                train_info = {
                    "lightgcn": run.result.best.as_dict() if run.result.best else None,
                    "item_item": run.similar,
                    "blend": None
                    if run.blend is None
                    else {"g": run.blend.g, "w": run.blend.w, "validation": run.blend.validation},
                    "ranker": run.ranker,
                    "communities": run.communities.count if run.communities else 0,
                    "seconds": {k: round(v, 1) for k, v in run.seconds.items()},
                }
                log(f"trained: {train_info}")
                t0 = time.perf_counter()
                sync_state(graph, spine, settings=s)  # Redis from the graph, as after training
                lap("state_sync", t0)
                users = [u for u, t in enumerate(truth) if len(t)]
                item_index = {f"m{m}": i for i, m in enumerate(split.item_ids)}
                for name, policy in policies().items():
                    t0 = time.perf_counter()
                    # A source alone is its own order (the hand scoring of one source); the
                    # feed policies rank with the product's rank step (the learned ranker).
                    alone = score if name.startswith("source:") else None
                    rec = StreamRecommender(spine, s, policy=policy, ranker=alone)

                    def one(u: int, rec: StreamRecommender = rec) -> tuple[int, list[int]]:
                        uid = split.user_ids[u]
                        feed = rec.feed(f"u{uid}", K, at=split.cut[uid], record=False)
                        return u, [item_index[it.video_id] for it in feed.items]

                    with ThreadPoolExecutor(workers) as pool:
                        lists = dict(pool.map(one, users))
                    key = name.replace("source:", "source_")
                    results[key] = score_lists(lists, truth, genres, n_items)
                    results[key]["feed_ms_mean"] = round(
                        (time.perf_counter() - t0) * 1000 * workers / max(1, len(users)), 1
                    )
                    lap(f"feeds_{key}", t0)
                    log(f"{key}: {results[key]}")
                import_info = {
                    "path": "bulk import (graphrec.importer.import_dataset): nodes MERGEd, "
                    "history CREATEd in LoadBatch batches with original timestamps",
                    "nodes": report.nodes,
                    "relationships": report.relationships,
                }
        finally:
            spine.close()
            redis_handle.close()
            handle.close()
    seconds["total"] = round(time.perf_counter() - started, 1)
    ease = results["ease"]
    ratios = {
        f"{p}_over_{b}_{m}": round(results[p][m] / results[b][m], 4) if results[b][m] else None
        for p in ("relevance", "default") for b in ("ease", "popularity")
        for m in ("recall_at_20", "ndcg_at_20")
    }  # fmt: skip
    return {
        **results,
        "ratios": ratios,
        "targets": {
            "relevance_over_ease": ">= 1.05 (Recall@20, NDCG@20)",
            "default_over_ease": ">= 0.9",
            "default_over_popularity": ">= 1.3",
            "seconds_total": "<= 600 on 2 cores",
        },
        "met": {
            "relevance_1.05x_ease": bool(
                results["relevance"]["recall_at_20"] >= 1.05 * ease["recall_at_20"]
                and results["relevance"]["ndcg_at_20"] >= 1.05 * ease["ndcg_at_20"]
            ),
            "default_0.9x_ease": bool(
                results["default"]["recall_at_20"] >= 0.9 * ease["recall_at_20"]
                and results["default"]["ndcg_at_20"] >= 0.9 * ease["ndcg_at_20"]
            ),
            "default_1.3x_popularity": bool(
                results["default"]["recall_at_20"] >= 1.3 * results["popularity"]["recall_at_20"]
                and results["default"]["ndcg_at_20"] >= 1.3 * results["popularity"]["ndcg_at_20"]
            ),
            "under_10_min": seconds["total"] <= 600,
        },
        "chosen_on_validation": chosen,
        "training": train_info,
        "import": import_info,
        "split": {
            "data": str(data),
            "rule": "per user, last 20% of ratings by time held out; a held-out rating >= "
            f"{like_at:g} is a hit; validation = last 20% of each user's train part",
            "train_ratings": int(split.train.sum()),
            "test_ratings": int(split.test.sum()),
            "users_with_hit": sum(len(t) > 0 for t in truth),
            "items": n_items,
        },
        "seconds": seconds,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "load_avg_at_end": os.getloadavg(),
    }


FIGURES = ("hr_at_20", "recall_at_20", "ndcg_at_20", "coverage", "diversity")


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    names = [n for n in result if isinstance(result[n], dict) and "recall_at_20" in result[n]]
    return [
        {
            "model": n,
            **{
                k: result[n][k]
                for k in ("hr_at_20", "recall_at_20", "ndcg_at_20", "coverage", "diversity")
            },
        }
        for n in names
    ]


def plot(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table_rows(result)
    names = [r["model"] for r in rows]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(7, 0.7 * len(names)), 4))
    ax.bar(x - 0.2, [r["recall_at_20"] for r in rows], 0.4, label="Recall@20")
    ax.bar(x + 0.2, [r["ndcg_at_20"] for r in rows], 0.4, label="NDCG@20")
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_title("replay: feed policies, sources and baselines on one split")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
