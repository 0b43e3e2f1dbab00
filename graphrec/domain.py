"""The product's vocabulary: interaction kinds, traffic pools and their budgets, categories.

Everything here is a plain constant the whole product shares: the event API, the loader, the
lifecycle (tagging, pools), the generator and the simulation import it from here, never from
each other. :mod:`graphrec.config` takes its default budgets from here; a setting may
override them for one deployment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

# --- interaction kinds ---------------------------------------------------------------------


class EventKind(StrEnum):
    """What a user did to a video (or, for a follow, to its creator)."""

    impression = "impression"
    view = "view"
    complete = "complete"
    like = "like"
    comment = "comment"
    share = "share"
    follow = "follow"
    skip = "skip"


# Each interaction kind: the relationship it is stored as and the Video counter it moves.
# (User)-[:TYPE]->(Video), except follows, which go to the creator. The loader and the event
# API (graphrec.events) store interactions with this one table.
INTERACTIONS: dict[str, tuple[str, str]] = {
    "impression": ("SAW", "impressions"),
    "view": ("VIEWED", "views"),
    "complete": ("COMPLETED", "completions"),
    "like": ("LIKED", "likes"),
    "comment": ("COMMENTED", "comments"),
    "share": ("SHARED", "shares"),
    "follow": ("FOLLOWS", "follows"),
    "skip": ("SKIPPED", "skips"),
}

# The kinds a world's history holds, in the order its files and arrays index them (a skip is
# a live event only: a generated or imported history has none).
HISTORY_KINDS: tuple[str, ...] = (
    "impression",
    "view",
    "complete",
    "like",
    "comment",
    "share",
    "follow",
)

# How far one live event moves the user's profile (INTERESTED_IN weight per tag of the video
# and the online embedding's step towards the video). Negative: away from it.
KIND_WEIGHTS: dict[EventKind, float] = {
    EventKind.impression: 0.0,
    EventKind.view: 0.1,
    EventKind.complete: 0.4,
    EventKind.like: 1.0,
    EventKind.comment: 0.6,
    EventKind.share: 1.0,
    EventKind.follow: 0.8,
    EventKind.skip: -0.3,  # weak: most of a feed is skipped, and a skip is a mild "no"
}
# An INTERESTED_IN weight stays within these bounds however many events push it.
MIN_WEIGHT, MAX_WEIGHT = -5.0, 10.0


# --- traffic pools ---------------------------------------------------------------------------

# Default budgets (impressions) a video gets on entering a pool, drawn uniformly in the range.
COLD_START_BUDGET: tuple[int, int] = (200, 300)
BOOST_BUDGET: tuple[int, int] = (10_000, 100_000)


@dataclass(frozen=True)
class Pool:
    """A traffic pool level: review -> cold start -> boost -> trending; and the long tail."""

    id: str
    level: int
    name: str
    budget_min: int = 0
    budget_max: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


POOLS: tuple[Pool, ...] = (
    Pool("review", 0, "review"),
    Pool("cold_start", 1, "cold start", *COLD_START_BUDGET),
    Pool("boost", 2, "boost", *BOOST_BUDGET),
    Pool("trending", 3, "trending"),
    Pool("long_tail", -1, "long tail"),
)
POOL_IDS: tuple[str, ...] = tuple(p.id for p in POOLS)
# The pools a served (approved) video can be in; review holds uploads before their audit.
SERVED_POOLS: tuple[str, ...] = ("cold_start", "boost", "trending", "long_tail")


# --- categories and their words ----------------------------------------------------------

# Each category: a handful of real-looking hashtags (the first is the category's own tag).
CATEGORY_HASHTAGS: dict[str, list[str]] = {
    "dance": ["dance", "dancechallenge", "choreography", "kpopdance", "hiphopdance", "ballet"],
    "comedy": ["comedy", "funny", "skit", "prank", "standup", "memes"],
    "diy": ["diy", "crafts", "homedecor", "woodworking", "upcycle", "lifehacks"],
    "cringe": ["cringe", "awkward", "fail", "secondhandembarrassment", "yikes", "oops"],
    "food": ["food", "recipe", "cooking", "streetfood", "baking", "foodie"],
    "pets": ["pets", "dog", "cat", "puppy", "kitten", "petsoftiktok"],
    "sports": ["sports", "football", "basketball", "soccer", "skills", "workoutmotivation"],
    "music": ["music", "singing", "cover", "guitar", "piano", "newmusic"],
    "beauty": ["beauty", "makeup", "skincare", "grwm", "nails", "hairstyle"],
    "gaming": ["gaming", "gamer", "minecraft", "fortnite", "speedrun", "esports"],
    "travel": ["travel", "wanderlust", "roadtrip", "beach", "hiking", "citytour"],
    "fitness": ["fitness", "gym", "workout", "yoga", "running", "homeworkout"],
    "education": ["education", "learnontiktok", "science", "history", "math", "studytips"],
    "fashion": ["fashion", "ootd", "streetstyle", "thrift", "outfit", "styling"],
    "tech": ["tech", "gadgets", "coding", "ai", "smartphone", "setup"],
    "art": ["art", "drawing", "painting", "digitalart", "sketch", "sculpture"],
}

# Words a caption may contain, per category; the tagger maps them back to the category.
CATEGORY_KEYWORDS: dict[str, list[str]] = {
    "dance": ["dance", "choreo", "moves", "routine", "dancing"],
    "comedy": ["funny", "joke", "laugh", "hilarious", "skit"],
    "diy": ["diy", "build", "craft", "handmade", "project"],
    "cringe": ["cringe", "awkward", "embarrassing", "fail", "yikes"],
    "food": ["recipe", "cook", "delicious", "dinner", "bake"],
    "pets": ["dog", "cat", "puppy", "kitten", "pet"],
    "sports": ["goal", "match", "skills", "training", "game"],
    "music": ["song", "sing", "cover", "guitar", "beat"],
    "beauty": ["makeup", "skincare", "glow", "lipstick", "routine"],
    "gaming": ["gaming", "level", "boss", "stream", "speedrun"],
    "travel": ["trip", "travel", "beach", "city", "mountains"],
    "fitness": ["workout", "gym", "reps", "cardio", "stretch"],
    "education": ["learn", "fact", "science", "history", "explained"],
    "fashion": ["outfit", "style", "thrifted", "look", "fit"],
    "tech": ["gadget", "code", "phone", "setup", "ai"],
    "art": ["drawing", "paint", "sketch", "canvas", "art"],
}

# The category of a new tag whose text names no known category.
OTHER_CATEGORY = "other"
