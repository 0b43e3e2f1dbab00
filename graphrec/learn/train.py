"""Training: LightGCN on a user-item matrix, evaluated every few epochs, stopped early.

Works on any :class:`~scipy.sparse.csr_matrix` of interaction weights (the Neo4j export or
the Gowalla split): positives are sampled in proportion to their weight, the adjacency is the
weighted, symmetric-normalised bipartite graph. Checkpoints hold the model's configuration,
its weights, the id maps and a fingerprint of the training graph, so a checkpoint is never
silently applied to a graph it does not match.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.errors import CheckpointError, InvalidInput
from graphrec.learn.metrics import RankingMetrics, evaluate_ranking
from graphrec.learn.model import GraphRecModel, normalized_adjacency

CHECKPOINT_FORMAT = "graphrec-lightgcn/1"


@dataclass
class TrainConfig:
    """How to train (see Settings.learn_* for the defaults the CLI uses)."""

    epochs: int = 30
    batch_size: int = 8192
    lr: float = 0.005
    negatives: int = 512
    eval_every: int = 2
    patience: int = 3
    k: int = 20
    seed: int = 0
    max_seconds: float | None = None
    embedding_dim: int = 64
    num_layers: int = 3
    objective: str = "softmax"
    temperature: float = 0.1
    weight_decay: float = 1e-4
    init: str = "normal"  # or "spectral": start from a truncated SVD of the normalised matrix


def spectral_factors(train: sp.csr_matrix, dim: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """``U sqrt(S)`` and ``V sqrt(S)`` of the rank-``dim`` SVD of ``D_u^-1/2 R D_i^-1/2``."""
    r = sp.csr_matrix(train, dtype=np.float32)
    du = np.asarray(r.sum(axis=1)).ravel()
    di = np.asarray(r.sum(axis=0)).ravel()
    with np.errstate(divide="ignore"):
        nu = np.where(du > 0, du**-0.5, 0.0)
        ni = np.where(di > 0, di**-0.5, 0.0)
    coo = (sp.diags(nu) @ r @ sp.diags(ni)).tocoo()
    torch.manual_seed(seed)
    with warnings.catch_warnings():  # "sparse invariant checks are disabled": they are fine
        warnings.simplefilter("ignore", UserWarning)
        a = torch.sparse_coo_tensor(
            torch.from_numpy(np.vstack([coo.row, coo.col])),
            torch.from_numpy(coo.data),
            size=coo.shape,
        )
    q = min(dim, min(r.shape))
    u, s, v = torch.svd_lowrank(a.coalesce(), q=q, niter=2)
    pad = dim - q
    root = s.sqrt()
    uu, vv = u * root, v * root
    if pad:
        uu = torch.cat([uu, torch.zeros(len(uu), pad)], dim=1)
        vv = torch.cat([vv, torch.zeros(len(vv), pad)], dim=1)
    # The same scale as LightGCN's N(0, 0.1) initialisation, so Adam's steps keep proportion.
    scale = 0.1 / float(torch.cat([uu, vv]).std().clamp_min(1e-12))
    return uu * scale, vv * scale


@dataclass
class EpochLog:
    epoch: int
    loss: float
    seconds: float
    recall: float | None = None
    ndcg: float | None = None
    coverage: float | None = None


@dataclass
class TrainResult:
    model: GraphRecModel
    adj: torch.Tensor
    history: list[EpochLog] = field(default_factory=list)
    best: RankingMetrics | None = None
    best_epoch: int = 0
    seconds: float = 0.0
    seconds_per_epoch: float = 0.0

    def curve(self) -> list[dict[str, Any]]:
        return [asdict(h) for h in self.history]


def pick_device() -> torch.device:
    """A CUDA GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def embedding_scorer(
    model: GraphRecModel, adj: torch.Tensor
) -> Callable[[np.ndarray], torch.Tensor]:
    """A ``users -> scores`` function over embeddings propagated once."""
    model.eval()
    with torch.no_grad():
        user_emb, item_emb = model.get_embedding(adj)
    user_emb, item_emb = user_emb.cpu(), item_emb.cpu()

    def score(users: np.ndarray) -> torch.Tensor:
        return user_emb[torch.from_numpy(users)] @ item_emb.T

    return score


def train_model(
    train: sp.csr_matrix,
    test: Sequence[np.ndarray],
    config: TrainConfig,
    *,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainResult:
    """Fit LightGCN on ``train`` (weights), evaluating on ``test`` every ``eval_every`` epochs.

    Keeps the weights of the best evaluation (NDCG@k), stops after ``patience`` evaluations
    without improvement, after ``epochs``, or once ``max_seconds`` have passed.
    """
    train = sp.csr_matrix(train, dtype=np.float32)
    if train.nnz == 0:
        raise InvalidInput("nothing to train on: the interaction matrix has no positives")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = pick_device()
    n_users, n_items = train.shape
    model = GraphRecModel(
        n_users,
        n_items,
        embedding_dim=config.embedding_dim,
        num_layers=config.num_layers,
        objective=config.objective,
        temperature=config.temperature,
        weight_decay=config.weight_decay,
    ).to(device)
    if config.init == "spectral":
        model.init_from_factors(*spectral_factors(train, config.embedding_dim, config.seed))
    adj = normalized_adjacency(train).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    coo = train.tocoo()
    pair_users, pair_items = coo.row.astype(np.int64), coo.col.astype(np.int64)
    p = coo.data / coo.data.sum()
    steps = max(1, int(np.ceil(len(pair_users) / config.batch_size)))
    result = TrainResult(model=model, adj=adj)
    best_state: dict[str, torch.Tensor] | None = None
    bad = 0
    started = time.perf_counter()
    train_seconds = 0.0
    has_test = any(len(t) for t in test)
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        picks = rng.choice(len(pair_users), size=steps * config.batch_size, p=p)
        total = 0.0
        for s in range(steps):
            idx = picks[s * config.batch_size : (s + 1) * config.batch_size]
            users = torch.from_numpy(pair_users[idx]).to(device)
            pos = torch.from_numpy(pair_items[idx]).to(device)
            if config.objective == "bpr":
                neg = torch.randint(0, n_items, (len(idx),), device=device)
            else:
                neg = torch.randint(0, n_items, (config.negatives,), device=device)
            loss = model.loss(adj, users, pos, neg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        train_seconds += time.perf_counter() - t0
        log = EpochLog(epoch=epoch, loss=total / steps, seconds=time.perf_counter() - started)
        out_of_time = config.max_seconds is not None and (
            time.perf_counter() - started > config.max_seconds
        )
        last = epoch == config.epochs or out_of_time
        if has_test and (epoch % config.eval_every == 0 or last):
            m = evaluate_ranking(embedding_scorer(model, adj), train, test, k=config.k)
            log.recall, log.ndcg, log.coverage = m.recall, m.ndcg, m.coverage
            if result.best is None or m.ndcg > result.best.ndcg:
                result.best, result.best_epoch, bad = m, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
        result.history.append(log)
        if on_epoch:
            on_epoch(log)
        if last or bad >= config.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    result.seconds = time.perf_counter() - started
    result.seconds_per_epoch = train_seconds / max(1, len(result.history))
    model.eval()
    return result


def plot_curve(history: Sequence[EpochLog], path: Path, *, title: str = "training") -> Path:
    """Loss and Recall/NDCG per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax1 = plt.subplots(figsize=(7, 4))
    epochs = [h.epoch for h in history]
    ax1.plot(epochs, [h.loss for h in history], color="tab:gray", label="loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax2 = ax1.twinx()
    ev = [h for h in history if h.recall is not None and h.ndcg is not None]
    ax2.plot([h.epoch for h in ev], [float(h.recall or 0) for h in ev], "o-", label="Recall@20")
    ax2.plot([h.epoch for h in ev], [float(h.ndcg or 0) for h in ev], "s-", label="NDCG@20")
    ax2.set_ylabel("held-out metric")
    fig.legend(loc="lower right")
    ax1.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fingerprint(user_ids: Sequence[str], item_ids: Sequence[str]) -> str:
    """A short hash of the id maps: which graph a checkpoint was trained on."""
    h = hashlib.sha256()
    for part in (user_ids, item_ids):
        h.update(json.dumps(list(part)).encode())
    return h.hexdigest()[:16]


def save_checkpoint(
    path: Path,
    model: GraphRecModel,
    *,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    extra: dict[str, Any] | None = None,
) -> Path:
    """The model, its configuration and the id maps; the maps also as JSON beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "config": model.config(),
            "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
            "user_ids": list(user_ids),
            "item_ids": list(item_ids),
            "fingerprint": fingerprint(user_ids, item_ids),
            "extra": extra or {},
        },
        path,
    )
    ids_path = path.with_suffix(".ids.json")
    ids_path.write_text(
        json.dumps({"users": list(user_ids), "videos": list(item_ids)}), encoding="utf-8"
    )
    return path


@dataclass
class Checkpoint:
    model: GraphRecModel
    user_ids: list[str]
    item_ids: list[str]
    fingerprint: str
    extra: dict[str, Any]


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint back; anything missing, corrupt or inconsistent is a CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path} is not a readable checkpoint: {e}") from e
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint")
    try:
        cfg = dict(blob["config"])
        model = GraphRecModel(int(cfg.pop("num_users")), int(cfg.pop("num_items")), **cfg)
        model.load_state_dict(blob["state_dict"])
        user_ids, item_ids = list(blob["user_ids"]), list(blob["item_ids"])
    except Exception as e:
        raise CheckpointError(f"{path} does not hold a consistent model: {e}") from e
    if len(user_ids) != model.num_users or len(item_ids) != model.num_items:
        raise CheckpointError(
            f"{path}: id maps ({len(user_ids)} users, {len(item_ids)} videos) do not match "
            f"the model ({model.num_users} users, {model.num_items} videos)"
        )
    if fingerprint(user_ids, item_ids) != blob.get("fingerprint"):
        raise CheckpointError(f"{path}: the id maps do not match the checkpoint's fingerprint")
    model.eval()
    return Checkpoint(
        model=model,
        user_ids=user_ids,
        item_ids=item_ids,
        fingerprint=str(blob["fingerprint"]),
        extra=dict(blob.get("extra") or {}),
    )
