"""What shapes a feed: the policy (which sources, real time or not, weights) and scenarios.

A :class:`FeedPolicy` is fixed per :class:`~graphrec.feed.Recommender` (the simulation builds
ablations from it); a :class:`Scenario` shifts one request's mix (time of day, device,
session length). Every scenario and what it changes is listed in :data:`SCENARIOS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from graphrec.errors import InvalidInput

SOURCE_NAMES = (
    "blend",
    "similar",
    "spectral",
    "embedding",
    "interest",
    "community",
    "following",
    "pools",
    "spillover",
    "lookback",
    "cold_start",
    "catalogue",
)

DEFAULT_SOURCE_WEIGHTS: dict[str, float] = {
    "blend": 1.2,  # the served score (lists + g x spectral + w x embedding, validated)
    "similar": 1.1,  # item-to-item from co-engagement: the strongest single signal
    "spectral": 1.0,  # the graph filter's low-rank part (vector index)
    "embedding": 1.0,
    "interest": 0.9,
    "community": 0.8,
    "following": 0.8,
    "pools": 0.5,
    "spillover": 0.6,
    "lookback": 0.5,
    "cold_start": 0.4,
    "catalogue": 0.2,  # a filler: only wins a slot when the others have run dry
}


@dataclass(frozen=True)
class FeedPolicy:
    """Which candidate sources run and how items are scored and re-ranked.

    ``realtime=False`` makes the feed ignore online updates: the learned embedding (not the
    online one), declared interests only (not weights moved by events), likes stored before
    any event (no ``event_id``), no skip penalties. Seen videos are still dropped.
    The shares and caps default (None) to the settings' ``feed_*`` values.
    """

    realtime: bool = True
    cold_start: bool = True
    diversity: bool = True
    communities: bool = True
    blend: bool = True
    similar: bool = True
    spectral: bool = True
    embedding: bool = True
    interest: bool = True
    following: bool = True
    pools: bool = True
    spillover: bool = True
    lookback: bool = True
    catalogue: bool = True
    source_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SOURCE_WEIGHTS))
    affinity_weight: float = 0.6  # the item's tags against the user's tag weights
    quality_weight: float = 0.4  # engagement per impression
    multi_source_bonus: float = 0.1  # per extra source that proposed the same video
    skip_penalty: float = 0.5  # per skip of the creator's videos (real time only)
    drop_after_skips: int = 2  # a creator skipped this often is left out altogether
    dislike_below: float = -1.5  # items whose tags sum below this weight are left out
    cold_start_share: float | None = None
    exploration_share: float | None = None
    max_per_creator: int | None = None
    max_tag_share: float | None = None
    candidates_per_source: int = 40

    def enabled(self, source: str) -> bool:
        flag = {"cold_start": "cold_start", "community": "communities"}.get(source, source)
        return bool(getattr(self, flag, False))


@dataclass(frozen=True)
class Scenario:
    """How one request shifts the mix; ``doc`` says what it changes."""

    name: str
    doc: str
    source_factors: dict[str, float] = field(default_factory=dict)
    cold_start_share: float | None = None
    exploration_share: float | None = None
    max_tag_share: float | None = None
    # Preferred video length: items within [min_ms, max_ms] get +duration_bonus, others -.
    min_ms: int | None = None
    max_ms: int | None = None
    duration_bonus: float = 0.0

    def prefers(self, duration_ms: int | None) -> float:
        """The duration bonus (or malus) of a video of this length."""
        if not self.duration_bonus or duration_ms is None:
            return 0.0
        lo, hi = self.min_ms or 0, self.max_ms or 10**9
        return self.duration_bonus if lo <= duration_ms <= hi else -self.duration_bonus


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("default", "the policy as configured; nothing shifted"),
        Scenario(
            "morning",
            "time of day, morning: catch up on followed creators (following x1.5) and what is "
            "trending (pools x1.3); videos up to 45 s favoured",
            source_factors={"following": 1.5, "pools": 1.3},
            max_ms=45_000,
            duration_bonus=0.1,
        ),
        Scenario(
            "evening",
            "time of day, evening (prime time): more personal (embedding, community x1.2), "
            "more discovery (exploration share 0.2)",
            source_factors={"embedding": 1.2, "community": 1.2},
            exploration_share=0.2,
        ),
        Scenario(
            "night",
            "time of day, late night: familiar content (interest, following x1.3), no "
            "exploration slots, half the cold-start share",
            source_factors={"interest": 1.3, "following": 1.3},
            exploration_share=0.0,
            cold_start_share=0.1,
        ),
        Scenario(
            "commute",
            "short session on a phone: short videos (<= 30 s) strongly favoured, trending x1.3, "
            "no exploration",
            source_factors={"pools": 1.3},
            exploration_share=0.0,
            max_ms=30_000,
            duration_bonus=0.3,
        ),
        Scenario(
            "binge",
            "long session: more variety (tag share cap 0.3), more exploration (0.25) and more "
            "new videos (cold-start share 0.3)",
            exploration_share=0.25,
            cold_start_share=0.3,
            max_tag_share=0.3,
        ),
        Scenario(
            "tv",
            "device, TV (lean back): longer videos (>= 45 s) favoured, followed creators and "
            "communities x1.2",
            source_factors={"following": 1.2, "community": 1.2},
            min_ms=45_000,
            duration_bonus=0.2,
        ),
    )
}


def scenario(name: str | None) -> Scenario:
    """The scenario called ``name`` (None: ``default``); an unknown name is an input error."""
    if name is None or name == "":
        return SCENARIOS["default"]
    try:
        return SCENARIOS[name]
    except KeyError:
        raise InvalidInput(
            f"scenario: unknown scenario {name!r}; one of {', '.join(SCENARIOS)}"
        ) from None


@dataclass(frozen=True)
class Mix:
    """The numbers one request runs with: policy, settings and scenario combined."""

    source_weights: dict[str, float]
    cold_start_share: float
    exploration_share: float
    max_per_creator: int
    max_tag_share: float
    scenario: Scenario


def mix(policy: FeedPolicy, *, defaults: Mix, sc: Scenario) -> Mix:
    """Combine policy overrides, settings defaults and the scenario's shifts."""
    weights = {
        k: policy.source_weights.get(k, DEFAULT_SOURCE_WEIGHTS[k]) * sc.source_factors.get(k, 1.0)
        for k in SOURCE_NAMES
    }

    def pick(*values: float | int | None) -> float:
        return next(float(v) for v in values if v is not None)

    return replace(
        defaults,
        source_weights=weights,
        cold_start_share=pick(
            sc.cold_start_share, policy.cold_start_share, defaults.cold_start_share
        ),
        exploration_share=pick(
            sc.exploration_share, policy.exploration_share, defaults.exploration_share
        ),
        max_per_creator=int(pick(policy.max_per_creator, defaults.max_per_creator)),
        max_tag_share=pick(sc.max_tag_share, policy.max_tag_share, defaults.max_tag_share),
        scenario=sc,
    )
