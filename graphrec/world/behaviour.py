"""How a user reacts to a video, from latent affinity and quality.

The generator draws the interaction history with these curves and the simulation draws a
simulated user's reactions with them, so both worlds behave alike. ``affinity`` is the user's
latent interest in the video's category times the number of categories (1.0 = indifferent);
``quality`` is the video's latent quality in [0, 1].
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def p_view(affinity: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Chance the user watches past the first seconds (else a skip)."""
    return _sigmoid(-2.7 + 1.3 * np.log(affinity + 0.05) + 2.2 * (quality - 0.5))


def p_complete(affinity: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Chance a view is watched to the end."""
    return _sigmoid(-1.9 + 2.5 * (quality - 0.5) + 0.6 * np.log(affinity + 0.05))


def engagement(affinity: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """The base of like, comment, share and follow chances for a viewer."""
    return _sigmoid(0.8 * np.log(affinity + 0.05) + 3.0 * (quality - 0.5))


# Chance of each engagement for a viewer, as (scale, floor) applied to engagement().
ENGAGEMENT_RATES: dict[str, tuple[float, float]] = {
    "like": (0.16, 0.01),
    "comment": (0.035, 0.0),
    "share": (0.03, 0.0),
    "follow": (0.02, 0.0),
}


def watch_fraction(quality: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """Share of the video a non-completing viewer watches (Beta(2+3q, 2) via a uniform)."""
    from scipy.stats import beta

    return np.asarray(np.clip(beta.ppf(draw, 2 + 3 * quality, 2.0), 0.05, 1.0))
