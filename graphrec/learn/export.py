"""Neo4j -> torch-geometric: the interaction graph, streamed in batches, with its id maps.

Users and videos are read a page at a time in id order (contiguous indices follow that order);
interactions are read per batch of users and folded into one weight per (user, video) pair by
Settings.learn_weights, so which kinds count as positives, and how much, is configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.config import Settings, get_settings
from graphrec.db import Graph
from graphrec.errors import InvalidInput

Progress = Callable[[str, int, int], None]


@dataclass
class GraphExport:
    """The exported graph: id maps, video metadata and the user x video weight matrix."""

    user_ids: list[str]
    video_ids: list[str]
    video_status: list[str | None]
    video_creator: list[str | None]
    video_tags: list[list[str]]
    tag_category: dict[str, str | None]
    matrix: sp.csr_matrix  # users x videos, summed interaction weights
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.user_ids)}

    @property
    def video_index(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.video_ids)}

    def to_hetero_data(self) -> object:
        """A ``torch_geometric.data.HeteroData``: users, videos, tags; engagement (weighted)
        and tagging edges, both directions (as ``ToUndirected`` would give)."""
        from torch_geometric.data import HeteroData

        data = HeteroData()
        data["user"].num_nodes = len(self.user_ids)
        data["video"].num_nodes = len(self.video_ids)
        tags = sorted(self.tag_category)
        data["tag"].num_nodes = len(tags)
        coo = self.matrix.tocoo()
        ei = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        data["user", "engaged", "video"].edge_index = ei
        data["user", "engaged", "video"].edge_weight = torch.from_numpy(coo.data.astype(np.float32))
        data["video", "rev_engaged", "user"].edge_index = ei.flip(0)
        t_index = {t: i for i, t in enumerate(tags)}
        pairs = [
            (v, t_index[t]) for v, ts in enumerate(self.video_tags) for t in ts if t in t_index
        ]
        tv = (
            torch.tensor(pairs, dtype=torch.long).T
            if pairs
            else torch.zeros(2, 0, dtype=torch.long)
        )
        data["video", "tagged", "tag"].edge_index = tv
        data["tag", "rev_tagged", "video"].edge_index = tv.flip(0)
        return data


def _paged(graph: Graph, name: str, key: str, limit: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    after = ""
    while True:
        page = graph.read(name, after=after, limit=limit)
        rows.extend(page)
        if len(page) < limit:
            return rows
        after = str(page[-1][key])


def export_graph(
    graph: Graph,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> GraphExport:
    """Read users, videos, tags and the weighted positives out of Neo4j, in batches."""
    s = settings or get_settings()
    if not s.learn_weights or all(w <= 0 for w in s.learn_weights.values()):
        raise InvalidInput("Settings.learn_weights gives no interaction kind a positive weight")
    started = time.perf_counter()
    batch = max(1, s.learn_export_batch)
    users = [str(r["user_id"]) for r in _paged(graph, "learn/export_users", "user_id", batch * 5)]
    videos = _paged(graph, "learn/export_videos", "video_id", batch * 5)
    tags = {str(r["tag_id"]): r["category"] for r in graph.read("learn/export_tags")}
    video_ids = [str(r["video_id"]) for r in videos]
    v_index = {v: i for i, v in enumerate(video_ids)}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    weights = {k: float(v) for k, v in s.learn_weights.items()}
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        u_index = {uid: start + i for i, uid in enumerate(chunk)}
        for rec in graph.read("learn/export_interactions", user_ids=chunk, weights=weights):
            vids = [v_index[v] for v in rec["video_ids"]]
            rows.append(np.full(len(vids), u_index[rec["user_id"]], dtype=np.int64))
            cols.append(np.asarray(vids, dtype=np.int64))
            vals.append(np.asarray(rec["weights"], dtype=np.float32))
        if progress:
            progress("export", min(start + batch, len(users)), len(users))
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    w = np.concatenate(vals) if vals else np.zeros(0, dtype=np.float32)
    matrix = sp.csr_matrix((w, (r, c)), shape=(len(users), len(video_ids)), dtype=np.float32)
    return GraphExport(
        user_ids=users,
        video_ids=video_ids,
        video_status=[None if x["status"] is None else str(x["status"]) for x in videos],
        video_creator=[None if x["creator_id"] is None else str(x["creator_id"]) for x in videos],
        video_tags=[[str(t) for t in cast(list[Any], x["tags"] or [])] for x in videos],
        tag_category={k: None if v is None else str(v) for k, v in tags.items()},
        matrix=matrix,
        seconds=time.perf_counter() - started,
        counts={
            "users": len(users),
            "videos": len(video_ids),
            "tags": len(tags),
            "pairs": int(matrix.nnz),
        },
    )


def split_holdout(
    matrix: sp.csr_matrix, *, fraction: float = 0.2, seed: int = 0
) -> tuple[sp.csr_matrix, list[np.ndarray]]:
    """Hold out ``fraction`` of each user's positives (users with >= 2) as the test set."""
    if not 0.0 <= fraction < 1.0:
        raise InvalidInput(f"holdout fraction must be in [0, 1), not {fraction}")
    rng = np.random.default_rng(seed)
    m = sp.csr_matrix(matrix)
    keep = np.ones(m.nnz, dtype=bool)
    test: list[np.ndarray] = []
    for u in range(m.shape[0]):
        lo, hi = m.indptr[u], m.indptr[u + 1]
        n = hi - lo
        k = int(np.floor(n * fraction)) if n >= 2 else 0
        if k == 0:
            test.append(np.zeros(0, dtype=np.int64))
            continue
        pick = lo + rng.choice(n, size=k, replace=False)
        keep[pick] = False
        test.append(np.sort(m.indices[pick]).astype(np.int64))
    coo = m.tocoo()
    train = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=m.shape, dtype=np.float32
    )
    return train, test
