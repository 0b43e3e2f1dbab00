"""Training-free graph filters on the item-item graph ``A = R~^T R~`` (GF-CF, BSPM-style).

``R~ = D_u^-1/2 R D_i^-1/2`` is the normalised interaction matrix. ``A`` is built once as a
scipy sparse matrix (Gowalla: 42M non-zeros, seconds), so a batch of users is filtered with one
sparse-sparse product ``x A``; the ideal low-pass term uses the top singular vectors ``V`` of
``R~`` (randomised SVD), which are also ``A``'s top eigenvectors with eigenvalues ``s^2``.

- GF-CF (Shen et al., CIKM 2021): ``x A + alpha * x D^-1/2 V V^T D^1/2``.
- BSPM (Choi et al., SIGIR 2023; its Gowalla setting: blur T=1, beta=0.2, one RK4 sharpening
  step of T=2.5, rank 448): blur ``b = x A``, add ``beta`` times the low-pass term, sharpen
  along ``dy/dt = -y A``. One RK4 step multiplies by the polynomial ``P(A)``; here ``P`` is
  applied on the rank-k eigenspace of ``A`` (``y + ((P(s^2) - 1) * (y V)) V^T``) and the rest
  of the spectrum is passed through, which keeps the cost at that of GF-CF plus one low-rank
  product ("bspm-lowrank"; the full-rank sharpening costs eight more sparse products per batch).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

FILTERS = ("linear", "gfcf", "bspm")


def rk4_polynomial(lam: Tensor, h: float) -> Tensor:
    """The factor one RK4 step of ``dy/dt = -lam * y`` with step ``h`` multiplies ``y`` by."""
    x = h * lam
    return 1 - x + x**2 / 2 - x**3 / 6 + x**4 / 24


@dataclass
class GraphFilter:
    """A fitted item-item graph filter; :meth:`score` gives users x items scores."""

    kind: str
    train: sp.csr_matrix
    item_item: sp.csr_matrix  # A = R~^T R~
    d_half: Tensor  # D_i^1/2 (items x 1)
    d_inv_half: sp.dia_matrix  # D_i^-1/2
    v: Tensor | None  # items x rank, top right singular vectors of R~
    s2: Tensor | None  # rank, eigenvalues of A on v
    alpha: float = 0.3
    beta: float = 0.2
    sharpen_t: float = 2.5

    @classmethod
    def fit(
        cls,
        train: sp.csr_matrix,
        *,
        kind: str = "bspm",
        rank: int = 448,
        alpha: float = 0.3,
        beta: float = 0.2,
        sharpen_t: float = 2.5,
        seed: int = 0,
    ) -> GraphFilter:
        """Normalise ``train``, build ``A`` and, for a low-pass term, take the SVD of ``R~``."""
        if kind not in FILTERS:
            raise ValueError(f"unknown filter {kind!r}: one of {FILTERS}")
        r = sp.csr_matrix(train, dtype=np.float32)
        du = np.asarray(r.sum(axis=1)).ravel()
        di = np.asarray(r.sum(axis=0)).ravel()
        with np.errstate(divide="ignore"):
            du_ih = np.where(du > 0, du**-0.5, 0.0)
            di_ih = np.where(di > 0, di**-0.5, 0.0)
        norm = (sp.diags(du_ih) @ r @ sp.diags(di_ih)).tocsr().astype(np.float32)
        item_item = (norm.T @ norm).tocsr()
        v = s2 = None
        if kind != "linear" and rank > 0:
            torch.manual_seed(seed)
            k = min(rank, min(r.shape) - 1)
            coo = norm.tocoo()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                a = torch.sparse_coo_tensor(
                    torch.from_numpy(np.vstack([coo.row, coo.col])),
                    torch.from_numpy(coo.data),
                    size=coo.shape,
                ).coalesce()
            _, s, vv = torch.svd_lowrank(a, q=k, niter=2)
            v, s2 = vv.contiguous(), s**2
        return cls(
            kind=kind,
            train=r,
            item_item=item_item,
            d_half=torch.from_numpy(np.sqrt(di).astype(np.float32))[:, None],
            d_inv_half=sp.diags(di_ih.astype(np.float32)),
            v=v,
            s2=s2,
            alpha=alpha,
            beta=beta,
            sharpen_t=sharpen_t,
        )

    @torch.no_grad()
    def score(self, users: np.ndarray) -> Tensor:
        """Scores of every item for ``users`` (rows), from their training rows."""
        return self.score_rows(self.train[users])

    @torch.no_grad()
    def item_rows(self, k: int, *, block: int = 1024) -> sp.csr_matrix:
        """The filter as item-to-item lists: each item's ``k`` highest positive entries of the
        (linear) operator ``x -> score``, itself excluded.

        A user's filter score is ``sum over its history of row[i]``; keeping ``k`` entries a
        row is what a feed can store and read (``SIMILAR`` / Redis lists). Computed in blocks
        of rows (``block`` x items dense at a time), so memory stays bounded.
        """
        eye = sp.identity(self.train.shape[1], dtype=np.float32, format="csr")
        return self._top_rows(k, block, lambda rows: self.score_rows(eye[rows]))

    @torch.no_grad()
    def highpass_rows(self, k: int, *, block: int = 1024) -> sp.csr_matrix:
        """The filter's high-pass part ``H = A - V diag(s^2) V^T`` as item-to-item lists: each
        item's ``k`` highest positive entries, itself excluded.

        ``A`` minus its top eigenspace keeps what the low-rank vectors cannot say (specific
        co-engagement), and its rows have far lighter tails than ``A``'s (whose popular,
        low-frequency mass the vectors carry exactly), so cutting them costs little. A linear
        filter has no low-rank part: its lists are ``A``'s rows. Dense ``block`` x items at a
        time, memory bounded.
        """

        def highpass(rows: np.ndarray) -> torch.Tensor:
            m = torch.from_numpy(self.item_item[rows].toarray())
            if self.v is not None and self.s2 is not None and self.kind != "linear":
                m -= (self.v[rows] * self.s2) @ self.v.T
            return m

        return self._top_rows(k, block, highpass)

    def _top_rows(
        self, k: int, block: int, dense: Callable[[np.ndarray], torch.Tensor]
    ) -> sp.csr_matrix:
        """Each item's ``k`` highest positive entries of the item x item matrix whose rows
        ``dense(rows)`` gives (``block`` rows at a time), the item itself excluded."""
        n = self.train.shape[1]
        k = max(1, min(k, n - 1))
        idx = np.zeros((n, k), dtype=np.int64)
        val = np.zeros((n, k), dtype=np.float32)
        for s in range(0, n, block):
            rows = np.arange(s, min(n, s + block))
            m = dense(rows)
            m[torch.arange(len(rows)), torch.from_numpy(rows)] = -torch.inf
            top = m.topk(k, dim=1)
            idx[rows] = top.indices.numpy()
            val[rows] = top.values.numpy()
        out = sp.csr_matrix(
            (np.maximum(val.ravel(), 0.0), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n)
        )
        out.eliminate_zeros()
        return out

    @torch.no_grad()
    def spectral_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The low-rank part exactly, as two vectors per item: ``(query, key)``, items x d.

        ``score_rows(x) == x @ H + (x @ query) @ key.T`` with ``H`` the high-pass part of
        :meth:`highpass_rows`: a user's vector is the sum of its history's query vectors
        (one addition per event) and its low-rank score of an item a dot product with the
        item's key vector, which a vector index serves. ``d = 2 * rank``: the low-pass term
        reads the history through ``D^-1/2 V``, ``A``'s top eigenspace and the sharpening
        through ``V``. A linear filter: ``d = 0``.
        """
        n = self.train.shape[1]
        if self.kind == "linear" or self.v is None or self.s2 is None:
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.float32)
        v, dh, s2 = self.v, self.d_half, self.s2
        q_blur = torch.from_numpy(np.asarray(self.d_inv_half @ v.numpy(), dtype=np.float32))
        query = torch.cat([q_blur, v], dim=1).contiguous()
        if self.kind == "gfcf":
            key = torch.cat([self.alpha * v * dh, v * s2], dim=1).contiguous()
            return query.numpy(), key.numpy()
        # BSPM: x A + beta w V^T D^1/2 + ((x V) s2 + beta w gram) diag(c) V^T, w = x D^-1/2 V,
        # with x A = x H + (x V) s2 V^T.
        c = rk4_polynomial(s2, self.sharpen_t) - 1
        gram = (v * dh).T @ v
        k_blur = self.beta * (v * dh + (v * c) @ gram.T)
        k_sharp = v * (s2 * (1 + c))
        key = torch.cat([k_blur, k_sharp], dim=1).contiguous()
        return query.numpy(), key.numpy()

    @torch.no_grad()
    def score_rows(self, x: sp.csr_matrix) -> Tensor:
        """Scores of every item for interaction rows ``x`` (users x items, any weights)."""
        out = torch.from_numpy((x @ self.item_item).toarray())
        if self.kind == "linear" or self.v is None or self.s2 is None:
            return out
        # w = x D^-1/2 V (batch x rank), from the sparse rows: cheap.
        w = torch.from_numpy(np.asarray(x @ self.d_inv_half @ self.v.numpy(), dtype=np.float32))
        if self.kind == "gfcf":
            return out + self.alpha * (w @ (self.v * self.d_half).T)
        # BSPM: y = x A + beta * w V^T D^1/2; y V = (x V) s^2 + beta * w (V^T D^1/2 V).
        xv = torch.from_numpy(np.asarray(x @ self.v.numpy(), dtype=np.float32))
        gram = (self.v * self.d_half).T @ self.v
        yv = xv * self.s2 + self.beta * (w @ gram)
        c = rk4_polynomial(self.s2, self.sharpen_t) - 1
        out += self.beta * (w @ (self.v * self.d_half).T)
        out += (yv * c) @ self.v.T
        return out
