"""Video scores: weighted engagement rates plus the creator's account score.

The pool cycle's Cypher (``cypher/pools/decide_*.cypher``) computes the score in the database
with the weights passed as ``$weights``; :func:`score` is the same formula in Python, for
unit tests and for explaining a score::

    rate(x)  = x / (impressions + prior)          # prior smooths tiny samples
    score    = view*rate(views) + completion*rate(completions) + like*rate(likes)
             + comment*rate(comments) + share*rate(shares) + follow*rate(follows)
             + account * creator.account_score
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from graphrec.config import Settings, get_settings
from graphrec.errors import ConfigError

COUNTERS = ("views", "completions", "likes", "comments", "shares", "follows")


@dataclass(frozen=True)
class Weights:
    view: float = 1.0
    completion: float = 2.0
    like: float = 4.0
    comment: float = 6.0
    share: float = 8.0
    follow: float = 10.0
    account: float = 0.5
    prior: float = 10.0

    def __post_init__(self) -> None:
        bad = {k: v for k, v in asdict(self).items() if v < 0}
        if bad:
            raise ConfigError(f"score weights must be >= 0: {bad}")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Weights:
        s = settings or get_settings()
        return cls(
            view=s.score_weight_view,
            completion=s.score_weight_completion,
            like=s.score_weight_like,
            comment=s.score_weight_comment,
            share=s.score_weight_share,
            follow=s.score_weight_follow,
            account=s.score_weight_account,
            prior=s.score_prior_impressions,
        )

    def param(self) -> dict[str, float]:
        """The ``$weights`` map the Cypher reads."""
        return {k: float(v) for k, v in asdict(self).items()}


def score(counters: Mapping[str, float], account_score: float, weights: Weights) -> float:
    """A video's score from its counters (impressions, views, ...) and its creator's score."""
    denom = float(counters.get("impressions", 0) or 0) + weights.prior
    if denom <= 0:
        engagement = 0.0
    else:
        engagement = (
            weights.view * counters.get("views", 0)
            + weights.completion * counters.get("completions", 0)
            + weights.like * counters.get("likes", 0)
            + weights.comment * counters.get("comments", 0)
            + weights.share * counters.get("shares", 0)
            + weights.follow * counters.get("follows", 0)
        ) / denom
    return engagement + weights.account * account_score


def promoted_count(
    cohort_size: int,
    share: float,
    min_cohort: int = 0,
    *,
    clearing_bar: int = 0,
) -> int:
    """How many of a cohort move up: floor(size * share), and at least one when the cohort
    has ``min_cohort`` videos or more (0: no such floor; a cohort under 1/share promotes none).
    A smaller cohort waits, except its ``clearing_bar`` videos (score at least
    GRAPHREC_PROMOTE_MIN_SCORE), which all move up at once."""
    if not 0 <= share <= 1:
        raise ConfigError(f"promote share must be in 0..1, not {share}")
    if min_cohort and cohort_size < min_cohort:
        return min(clearing_bar, cohort_size)
    k = int(cohort_size * share + 1e-9)
    return max(k, 1) if min_cohort and cohort_size >= min_cohort else k
