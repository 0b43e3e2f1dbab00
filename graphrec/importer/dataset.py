"""An imported data set in memory: rows for nodes, columns for the interaction history.

Both readers (:mod:`graphrec.importer.generic` for the documented CSV format and
:mod:`graphrec.importer.movielens` for the MovieLens files) produce a :class:`Dataset`;
:func:`graphrec.importer.load.import_dataset` writes one into the graph. Interactions are kept
as numpy columns (a million rows stay small) with the relationship type of each row already
checked against the product's table of interaction kinds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphrec.events import KIND_TYPES, EventKind

# Interaction kinds an import may hold, in the order ``Interactions.kind`` indexes them.
IMPORT_KINDS: tuple[str, ...] = tuple(k.value for k in EventKind)
KIND_INDEX: dict[str, int] = {k: i for i, k in enumerate(IMPORT_KINDS)}
REL_OF: dict[str, str] = {k.value: rel for k, (rel, _) in KIND_TYPES.items()}
COUNTER_OF: dict[str, str] = {k.value: str(c) for k, (_, c) in KIND_TYPES.items()}


@dataclass
class Interactions:
    """The history as columns, one row per interaction (indices into users and items)."""

    kind: np.ndarray  # int8 index into IMPORT_KINDS
    user: np.ndarray  # int32 index into Dataset.users
    item: np.ndarray  # int32 index into Dataset.items
    at: np.ndarray  # int64 epoch ms
    watch_ms: np.ndarray  # int32, 0 when unknown

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def take(self, mask: np.ndarray) -> Interactions:
        """The rows where ``mask`` holds (a boolean array or indices)."""
        return Interactions(
            kind=self.kind[mask],
            user=self.user[mask],
            item=self.item[mask],
            at=self.at[mask],
            watch_ms=self.watch_ms[mask],
        )

    @staticmethod
    def empty() -> Interactions:
        return Interactions(
            kind=np.zeros(0, np.int8),
            user=np.zeros(0, np.int32),
            item=np.zeros(0, np.int32),
            at=np.zeros(0, np.int64),
            watch_ms=np.zeros(0, np.int32),
        )


@dataclass
class Dataset:
    """Users, creators, items (with tags and categories) and their interaction history."""

    name: str
    users: list[dict[str, Any]]  # id, name, created_at (ms or None)
    creators: list[dict[str, Any]]  # id, name, created_at (ms or None)
    items: list[dict[str, Any]]  # id, creator, caption, tags, categories, created_at, duration_ms
    interactions: Interactions
    notes: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = {
            "users": len(self.users),
            "creators": len(self.creators),
            "items": len(self.items),
            "interactions": len(self.interactions),
        }
        kinds = np.bincount(self.interactions.kind, minlength=len(IMPORT_KINDS))
        out.update({k: int(kinds[i]) for i, k in enumerate(IMPORT_KINDS) if kinds[i]})
        return out

    def fingerprint(self) -> str:
        """A short hash of the history and the id lists: names the import's batches."""
        h = hashlib.sha1()
        inter = self.interactions
        for arr in (inter.kind, inter.user, inter.item, inter.at):
            h.update(np.ascontiguousarray(arr).tobytes())
        for rows in (self.users, self.items):
            h.update("\x1f".join(str(r["id"]) for r in rows).encode())
        return h.hexdigest()[:16]
