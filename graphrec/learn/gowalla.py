"""Loader for the LightGCN-format split: ``train.txt`` / ``test.txt``, ``user item item ...``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from graphrec.errors import InvalidInput, NotFound


@dataclass
class ImplicitSplit:
    """A user-item train matrix and each user's held-out test items."""

    train: sp.csr_matrix
    test: list[np.ndarray]
    name: str = ""

    @property
    def num_users(self) -> int:
        return int(self.train.shape[0])

    @property
    def num_items(self) -> int:
        return int(self.train.shape[1])

    def summary(self) -> dict[str, int | str]:
        return {
            "name": self.name,
            "users": self.num_users,
            "items": self.num_items,
            "train": int(self.train.nnz),
            "test": int(sum(len(t) for t in self.test)),
        }


def _read(path: Path) -> dict[int, np.ndarray]:
    rows: dict[int, np.ndarray] = {}
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                ids = np.array([int(p) for p in parts], dtype=np.int64)
            except ValueError:
                raise InvalidInput(f"{path}:{line_no}: not a list of integer ids") from None
            if (ids < 0).any():
                raise InvalidInput(f"{path}:{line_no}: negative id")
            rows[int(ids[0])] = np.unique(ids[1:])
    return rows


def load_split(folder: str | Path) -> ImplicitSplit:
    """Read ``folder/train.txt`` and ``folder/test.txt`` (LightGCN / NGCF format)."""
    folder = Path(folder)
    train_path, test_path = folder / "train.txt", folder / "test.txt"
    for p in (train_path, test_path):
        if not p.is_file():
            raise NotFound(f"{p} is missing: expected a LightGCN-format split in {folder}")
    train_rows, test_rows = _read(train_path), _read(test_path)
    all_users = list(train_rows) + list(test_rows)
    if not all_users:
        raise InvalidInput(f"{folder}: the split is empty")
    n_users = max(all_users) + 1
    n_items = 1 + max(
        max((int(v.max()) for v in d.values() if len(v)), default=-1)
        for d in (train_rows, test_rows)
    )
    r, c = [], []
    for u, items in train_rows.items():
        r.append(np.full(len(items), u))
        c.append(items)
    rows, cols = np.concatenate(r), np.concatenate(c)
    train = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_users, n_items)
    )
    test = [test_rows.get(u, np.zeros(0, dtype=np.int64)) for u in range(n_users)]
    return ImplicitSplit(train=train, test=test, name=folder.name)
