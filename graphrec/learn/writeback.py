"""Embeddings back into Neo4j, where the vector indexes serve nearest-neighbour retrieval.

Users and videos with training positives get their learned (propagated, L2-normalised)
embedding, marked ``embedding_source = 'trained'``. Tags and creators get the mean of their
trained videos' embeddings, which is what the cold-start queries (``learn/embed_new_video``,
``learn/embed_new_user``) build new embeddings from. Videos with no positives get a
cold-start embedding at once, by the same rule as ``learn/embed_new_video``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from graphrec.db import Graph
from graphrec.errors import CheckpointError
from graphrec.learn.export import GraphExport
from graphrec.learn.model import GraphRecModel, normalized_adjacency

Progress = Callable[[str, int, int], None]
TAG_WEIGHT, CREATOR_WEIGHT = 0.5, 0.3  # as in cypher/learn/embed_new_video.cypher


@dataclass
class WriteBackResult:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(n > 0, x / np.maximum(n, 1e-12), x)


def compute_embeddings(
    model: GraphRecModel, export: GraphExport, train_matrix: object | None = None
) -> dict[str, dict[str, tuple[np.ndarray, str]]]:
    """Embeddings per label: ``{label: {id: (vector, source)}}``, from the model and export."""
    if model.num_users != len(export.user_ids) or model.num_items != len(export.video_ids):
        raise CheckpointError(
            f"the model ({model.num_users} users, {model.num_items} videos) does not match "
            f"the exported graph ({len(export.user_ids)} users, {len(export.video_ids)} videos)"
        )
    model = model.cpu()  # trained on a GPU or not, write-back runs on the CPU
    matrix = export.matrix if train_matrix is None else train_matrix
    adj = normalized_adjacency(matrix)
    with torch.no_grad():
        ue, ve = model.get_embedding(adj)
    users, videos = _unit(ue.numpy()), _unit(ve.numpy())
    m = export.matrix.tocsr()
    user_has = np.diff(m.indptr) > 0
    video_has = np.asarray((m > 0).sum(axis=0)).ravel() > 0
    out: dict[str, dict[str, tuple[np.ndarray, str]]] = {
        "user": {},
        "video": {},
        "tag": {},
        "creator": {},
    }
    for i, uid in enumerate(export.user_ids):
        if user_has[i]:
            out["user"][uid] = (users[i], "trained")
    tag_sum: dict[str, list[np.ndarray]] = defaultdict(list)
    creator_sum: dict[str, list[np.ndarray]] = defaultdict(list)
    for i, vid in enumerate(export.video_ids):
        if not video_has[i]:
            continue
        out["video"][vid] = (videos[i], "trained")
        for t in export.video_tags[i]:
            tag_sum[t].append(videos[i])
        c = export.video_creator[i]
        if c is not None:
            creator_sum[c].append(videos[i])
    for t, vs in tag_sum.items():
        out["tag"][t] = (_unit(np.mean(vs, axis=0)), "trained")
    for c, vs in creator_sum.items():
        out["creator"][c] = (_unit(np.mean(vs, axis=0)), "trained")
    # Videos nobody engaged with yet: their tags and creator, as embed_new_video does.
    for i, vid in enumerate(export.video_ids):
        if video_has[i]:
            continue
        parts, weights = [], []
        tags = [out["tag"][t][0] for t in export.video_tags[i] if t in out["tag"]]
        if tags:
            parts.append(np.mean(tags, axis=0))
            weights.append(TAG_WEIGHT)
        c = export.video_creator[i]
        if c is not None and c in out["creator"]:
            parts.append(out["creator"][c][0])
            weights.append(CREATOR_WEIGHT)
        if parts:
            vec = np.average(np.stack(parts), axis=0, weights=weights)
            out["video"][vid] = (vec, "cold_start")
    return out


def write_embeddings(
    graph: Graph,
    embeddings: dict[str, dict[str, tuple[np.ndarray, str]]],
    *,
    batch_size: int = 2_000,
    progress: Progress | None = None,
) -> WriteBackResult:
    """Write every label's embeddings in batches of rows."""
    started = time.perf_counter()
    at = int(time.time() * 1000)
    result = WriteBackResult()
    for label in ("tag", "creator", "user", "video"):
        rows = [
            {"id": k, "embedding": [float(x) for x in vec], "source": src}
            for k, (vec, src) in embeddings.get(label, {}).items()
        ]
        done = 0

        def tick(n: int, label: str = label, total: int = len(rows)) -> None:
            nonlocal done
            done += n
            if progress:
                progress(f"write {label}s", done, total)

        graph.write_rows(
            f"learn/write_{label}_embeddings",
            rows,
            batch_size=batch_size,
            extra={"at": at},
            on_batch=tick,
        )
        result.counts[label] = len(rows)
    result.seconds = time.perf_counter() - started
    return result
