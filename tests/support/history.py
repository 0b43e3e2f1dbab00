"""Small hand-made histories for tests that import a dataset: rows to :class:`Interactions`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphrec.importer.dataset import KIND_INDEX, Interactions


def interactions(rows: Sequence[tuple[int, int, int, str]]) -> Interactions:
    """``(user index, item index, at ms, kind)`` rows as the importer's columns (no watch time)."""
    return Interactions(
        kind=np.array([KIND_INDEX[r[3]] for r in rows], np.int8),
        user=np.array([r[0] for r in rows], np.int32),
        item=np.array([r[1] for r in rows], np.int32),
        at=np.array([r[2] for r in rows], np.int64),
        watch_ms=np.zeros(len(rows), np.int32),
    )
