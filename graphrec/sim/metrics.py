"""Figures of a simulated day: exposure fairness, coverage, diversity, adaptation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal, 1 = one takes all)."""
    x = np.sort(np.asarray(values, dtype=float))
    if x.size == 0 or x.sum() == 0:
        return 0.0
    n = x.size
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum / cum[-1]).sum()) / n)


def lorenz(
    values: Sequence[float] | np.ndarray, points: int = 101
) -> tuple[list[float], list[float]]:
    """The Lorenz curve: share of holders (x) against share of the total they hold (y)."""
    x = np.sort(np.asarray(values, dtype=float))
    if x.size == 0 or x.sum() == 0:
        grid = np.linspace(0, 1, points)
        return grid.tolist(), grid.tolist()
    cum = np.r_[0.0, np.cumsum(x) / x.sum()]
    pop = np.linspace(0, 1, x.size + 1)
    grid = np.linspace(0, 1, points)
    return grid.tolist(), np.interp(grid, pop, cum).tolist()


def category_diversity(categories: Sequence[str]) -> float:
    """Distinct categories per item in one feed page (1.0 = every item a different one)."""
    return len(set(categories)) / len(categories) if categories else 0.0


def adaptation_time(curve: Sequence[float], threshold: float) -> int | None:
    """The first session index (1-based) at which the curve reaches ``threshold``."""
    for i, v in enumerate(curve, start=1):
        if v >= threshold:
            return i
    return None
