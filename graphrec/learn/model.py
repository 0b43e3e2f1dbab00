"""The embedding model: ``torch_geometric.nn.LightGCN`` over a precomputed normalised adjacency.

Propagation is the cost that decides whether a GNN converges in minutes on two cores: the
symmetric-normalised user-item adjacency is built once as a ``torch.sparse`` CSR matrix, so
each of LightGCN's ``LGConv`` layers is one sparse-dense product (``torch_geometric.utils.spmm``)
instead of edge-wise message passing. This module does no I/O.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import LightGCN

from graphrec.errors import InvalidInput


class _SymmetricSpmm(torch.autograd.Function):
    """``adj @ x`` for a symmetric sparse ``adj``: the backward pass is the same product.

    torch's generic sparse backward transposes the CSR matrix on every call (about 4x the
    forward's cost on Gowalla); symmetry makes that transpose unnecessary.
    """

    @staticmethod
    def forward(ctx: Any, adj: Tensor, x: Tensor) -> Tensor:
        ctx.save_for_backward(adj)
        return torch.sparse.mm(adj, x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        (adj,) = ctx.saved_tensors
        return None, torch.sparse.mm(adj, grad)


def normalized_adjacency(interactions: sp.csr_matrix) -> Tensor:
    """``D^-1/2 A D^-1/2`` of the bipartite graph whose biadjacency is ``interactions``.

    Users are nodes ``0..U-1``, items ``U..U+I-1``; edge weights are the interaction weights.
    Returned as a float32 ``torch.sparse_csr`` tensor (symmetric, so it is its own transpose).
    """
    r = sp.csr_matrix(interactions, dtype=np.float32)
    n_users, n_items = r.shape
    adj = sp.bmat([[None, r], [r.T, None]], format="csr", dtype=np.float32)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    with np.errstate(divide="ignore"):
        d = np.where(deg > 0, deg**-0.5, 0.0).astype(np.float32)
    norm = sp.diags(d) @ adj @ sp.diags(d)
    norm = norm.tocsr()
    norm.sort_indices()
    with warnings.catch_warnings():  # "sparse CSR support is in beta": it is what we want
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(norm.indptr.astype(np.int64)),
            torch.from_numpy(norm.indices.astype(np.int64)),
            torch.from_numpy(norm.data.astype(np.float32)),
            size=(n_users + n_items, n_users + n_items),
        )


class GraphRecModel(torch.nn.Module):
    """LightGCN embeddings of users and items, trained with BPR or a sampled softmax.

    ``objective='bpr'`` is the LightGCN paper's loss (one negative per positive);
    ``objective='softmax'`` scores each positive against a shared pool of sampled negatives
    with cosine similarity and a temperature (InfoNCE-style), which converges in far fewer
    epochs. Scores are dot products for BPR and cosines for the softmax objective, so the
    embeddings written to Neo4j's cosine vector indexes rank as the model does.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        *,
        embedding_dim: int = 64,
        num_layers: int = 3,
        objective: str = "softmax",
        temperature: float = 0.1,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__()
        if objective not in ("bpr", "softmax"):
            raise InvalidInput(f"objective must be 'bpr' or 'softmax', not {objective!r}")
        if num_users <= 0 or num_items <= 0:
            raise InvalidInput("a model needs at least one user and one item")
        self.num_users = num_users
        self.num_items = num_items
        self.embedding_dim = embedding_dim
        self.num_layers = num_layers
        self.objective = objective
        self.temperature = temperature
        self.weight_decay = weight_decay
        self.gnn = LightGCN(num_users + num_items, embedding_dim, num_layers, normalize=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fresh N(0, 0.1) embeddings, as the LightGCN reference code initialises them."""
        torch.nn.init.normal_(self.gnn.embedding.weight, std=0.1)

    @torch.no_grad()
    def init_from_factors(self, users: Tensor, items: Tensor) -> None:
        """Start from given layer-0 embeddings (e.g. a truncated SVD of the interactions)."""
        if users.shape != (self.num_users, self.embedding_dim) or items.shape != (
            self.num_items,
            self.embedding_dim,
        ):
            raise InvalidInput("factor shapes do not match the model")
        w = self.gnn.embedding.weight
        w[: self.num_users] = users.to(w.device, w.dtype)
        w[self.num_users :] = items.to(w.device, w.dtype)

    def config(self) -> dict[str, object]:
        """What it takes to rebuild this model (saved in checkpoints)."""
        return {
            "num_users": self.num_users,
            "num_items": self.num_items,
            "embedding_dim": self.embedding_dim,
            "num_layers": self.num_layers,
            "objective": self.objective,
            "temperature": self.temperature,
            "weight_decay": self.weight_decay,
        }

    def get_embedding(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        """Propagated (users, items) embeddings; L2-normalised for the softmax objective."""
        if adj.layout in (torch.sparse_csr, torch.sparse_coo):
            # LightGCN.get_embedding with each LGConv's normalised propagation done as one
            # symmetric sparse product (the adjacency is already D^-1/2 A D^-1/2).
            x = self.gnn.embedding.weight
            out = x * self.gnn.alpha[0]
            for i in range(self.num_layers):
                x = _SymmetricSpmm.apply(adj, x)
                out = out + x * self.gnn.alpha[i + 1]
        else:  # an edge_index: torch-geometric's own message passing
            out = self.gnn.get_embedding(adj)
        if self.objective == "softmax":
            out = F.normalize(out, dim=-1)
        return out[: self.num_users], out[self.num_users :]

    def score(self, users: Tensor, user_emb: Tensor, item_emb: Tensor) -> Tensor:
        """Scores of every item for ``users`` (rows), from precomputed embeddings."""
        return user_emb[users] @ item_emb.T

    @torch.no_grad()
    def recommend(
        self,
        adj: Tensor,
        users: Tensor,
        k: int,
        *,
        exclude: sp.csr_matrix | None = None,
    ) -> Tensor:
        """Top-``k`` item indices for ``users``, items in ``exclude`` (user rows) left out."""
        user_emb, item_emb = self.get_embedding(adj)
        scores = self.score(users, user_emb, item_emb)
        if exclude is not None:
            sub = exclude[users.cpu().numpy()].tocoo()
            rows = torch.from_numpy(sub.row).long().to(scores.device)
            cols = torch.from_numpy(sub.col).long().to(scores.device)
            scores[rows, cols] = -torch.inf
        return scores.topk(min(k, self.num_items), dim=1).indices

    def loss(self, adj: Tensor, users: Tensor, pos_items: Tensor, neg_items: Tensor) -> Tensor:
        """The training loss of one batch of (user, positive item) pairs.

        BPR: ``neg_items`` has one negative per pair. Softmax: ``neg_items`` is a pool shared
        by the whole batch. Both add L2 on the batch's layer-0 embeddings, as LightGCN does.
        """
        user_emb, item_emb = self.get_embedding(adj)
        # Rows taken with index_select, never ``x[idx]``: the gradient of advanced indexing
        # is an accumulating index_put, which on CPU adds a row picked twice in a batch with
        # atomic adds across threads, in whatever order they run, so two fits with one seed
        # differed in the last bits (and a seeded demo day could part at a near tie);
        # index_select's gradient (index_add) sums in the batch's order.
        u = user_emb.index_select(0, users)
        p = item_emb.index_select(0, pos_items)
        n = item_emb.index_select(0, neg_items)
        if self.objective == "bpr":
            rank = F.softplus((u * n).sum(-1) - (u * p).sum(-1)).mean()
        else:
            pos = (u * p).sum(-1, keepdim=True)
            neg = u @ n.T
            logits = torch.cat([pos, neg], dim=1) / self.temperature
            rank = F.cross_entropy(logits, torch.zeros(len(u), dtype=torch.long, device=u.device))
        ego = self.gnn.embedding.weight
        reg = (
            ego.index_select(0, users).pow(2).sum()
            + ego.index_select(0, self.num_users + pos_items).pow(2).sum()
            + ego.index_select(0, self.num_users + neg_items).pow(2).sum()
        ) / (2 * len(users))
        return rank + self.weight_decay * reg

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(users={self.num_users}, items={self.num_items}, "
            f"dim={self.embedding_dim}, layers={self.num_layers}, objective={self.objective}, "
            f"temperature={self.temperature}, weight_decay={self.weight_decay})"
        )
