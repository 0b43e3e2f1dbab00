"""A TikTok-like population, generated deterministically from a size and a seed.

Users have latent interests over categories, drawn around a few natural communities; creators
mostly work one niche; videos inherit their creator's niche and quality; the interaction
history follows those latent tastes with realistic rates (impressions >> views > completions
> likes > comments, shares, follows). The latent truth is kept beside the data so a
simulation or an evaluation can check what the recommender found against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphrec.domain import (
    BOOST_BUDGET,
    CATEGORY_HASHTAGS,
    CATEGORY_KEYWORDS,
    COLD_START_BUDGET,
    HISTORY_KINDS,
)
from graphrec.errors import InvalidInput
from graphrec.world import behaviour
from graphrec.world.vocab import CAPTION_TEMPLATES, FIRST_NAMES, category_tags

DAY_MS = 86_400_000
# The generated world's "now": fixed so a seed gives the same world on any day.
WORLD_NOW_MS = 1_780_000_000_000
KINDS = HISTORY_KINDS  # an Interactions.kind value indexes this tuple


@dataclass(frozen=True)
class WorldSize:
    name: str
    users: int
    creators: int
    videos: int
    tags_per_category: int
    interactions: int
    communities: int
    history_days: int = 60


SIZES: dict[str, WorldSize] = {
    "S": WorldSize(
        "S",
        users=240,
        creators=30,
        videos=480,
        tags_per_category=4,
        interactions=12_000,
        communities=4,
    ),
    "M": WorldSize(
        "M",
        users=20_000,
        creators=2_000,
        videos=50_000,
        tags_per_category=19,
        interactions=1_000_000,
        communities=8,
    ),
    "L": WorldSize(
        "L",
        users=100_000,
        creators=10_000,
        videos=250_000,
        tags_per_category=19,
        interactions=5_000_000,
        communities=8,
    ),
}


def world_size(name: str) -> WorldSize:
    try:
        return SIZES[name.upper()]
    except KeyError:
        raise InvalidInput(
            f"unknown world size {name!r}: choose one of {', '.join(SIZES)}"
        ) from None


@dataclass
class Interactions:
    """The interaction history as columns (one row per event)."""

    kind: np.ndarray  # int8 index into KINDS
    user: np.ndarray  # int32 index into users
    video: np.ndarray  # int32 index into videos
    at: np.ndarray  # int64 epoch ms
    watch_ms: np.ndarray  # int32, views only (0 elsewhere)

    def __len__(self) -> int:
        return int(self.kind.shape[0])


@dataclass
class World:
    """A generated (or read) world: rows for nodes, columns for the interaction history."""

    size: str
    seed: int
    now_ms: int
    categories: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    creators: list[dict[str, Any]]
    users: list[dict[str, Any]]
    videos: list[dict[str, Any]]
    interactions: Interactions
    latent: dict[str, np.ndarray] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = {
            "categories": len(self.categories),
            "tags": len(self.tags),
            "creators": len(self.creators),
            "users": len(self.users),
            "videos": len(self.videos),
            "interactions": len(self.interactions),
        }
        kinds = np.bincount(self.interactions.kind, minlength=len(KINDS))
        out.update({f"{k}s": int(kinds[i]) for i, k in enumerate(KINDS)})
        return out


def generate(size: str | WorldSize, seed: int = 0) -> World:
    """Generate a world of ``size`` (S, M or L); the same seed always gives the same world."""
    ws = size if isinstance(size, WorldSize) else world_size(size)
    rng = np.random.default_rng(seed)
    now = WORLD_NOW_MS
    cats = list(CATEGORY_HASHTAGS)
    tag_names = category_tags(ws.tags_per_category)
    # Every draw below comes from ``rng`` in this order: a seed gives the same world.
    users = _draw_users(rng, ws, len(cats), now)
    creators = _draw_creators(rng, ws, len(cats), now)
    videos = _draw_videos(rng, ws, creators, len(cats), now)
    pool, exposure = _pool_state(rng, ws, videos)
    u, v = _draw_impressions(rng, ws, users, videos, exposure)
    budget = _draw_budgets(rng, ws, pool)
    u, v = _within_cold_start_budgets(u, v, pool, budget)
    inter = _react(rng, ws, users, videos, creators, u, v, now)
    return World(
        size=ws.name,
        seed=seed,
        now_ms=now,
        categories=[{"id": c, "name": c} for c in cats],
        tags=[{"id": t, "category": c} for c in cats for t in tag_names[c]],
        creators=_creator_rows(ws, creators, cats),
        users=_user_rows(ws, users, inter),
        videos=_video_rows(rng, ws, videos, pool, budget, cats, tag_names),
        interactions=inter,
        latent={
            "user_interests": users.theta.astype(np.float32),
            "user_community": users.community.astype(np.int16),
            "community_prototypes": users.prototypes.astype(np.float32),
            "video_quality": videos.quality.astype(np.float32),
            "video_category": videos.category.astype(np.int16),
            "creator_quality": creators.quality.astype(np.float32),
            "creator_vertical": creators.vertical,
            "creator_primary": creators.primary.astype(np.int16),
        },
    )


@dataclass
class _Users:
    """Latent interests drawn around a few natural communities, activity and habits."""

    prototypes: np.ndarray
    community: np.ndarray
    theta: np.ndarray  # interest per category
    activity: np.ndarray
    active_hour: np.ndarray
    created: np.ndarray


@dataclass
class _Creators:
    """Most with one niche (vertical), some mixed; quality, popularity, a tenth newcomers."""

    vertical: np.ndarray
    niche: np.ndarray
    primary: np.ndarray
    quality: np.ndarray
    popularity: np.ndarray
    followers: np.ndarray
    strikes: np.ndarray
    joined: np.ndarray


@dataclass
class _Videos:
    """Each video's creator, category (the creator's niche), quality, times and audit."""

    creator: np.ndarray
    category: np.ndarray
    quality: np.ndarray
    created: np.ndarray
    duration_ms: np.ndarray
    rejected: np.ndarray
    age_days: np.ndarray


def _draw_users(rng: np.random.Generator, ws: WorldSize, n_cat: int, now: int) -> _Users:
    k = ws.communities
    prototypes = np.full((k, n_cat), 0.05)
    favourites = [rng.choice(n_cat, size=3, replace=False) for _ in range(k)]
    for c, fav in enumerate(favourites):
        prototypes[c, fav] += np.array([4.0, 2.0, 1.0])
    community = rng.integers(0, k, size=ws.users)
    theta = np.vstack([rng.dirichlet(prototypes[c] * 3.0 + 0.02) for c in community])
    activity = rng.lognormal(mean=0.0, sigma=0.8, size=ws.users)
    active_hour = (rng.normal(20, 3, size=ws.users).round() % 24).astype(int)
    created = now - rng.integers(ws.history_days * DAY_MS // 2, 400 * DAY_MS, size=ws.users)
    return _Users(prototypes, community, theta, activity, active_hour, created)


def _draw_creators(rng: np.random.Generator, ws: WorldSize, n_cat: int, now: int) -> _Creators:
    vertical = rng.random(ws.creators) < 0.8
    niche = np.zeros((ws.creators, n_cat))
    primary = rng.integers(0, n_cat, size=ws.creators)
    for i in range(ws.creators):
        if vertical[i]:
            niche[i, primary[i]] = 0.9
            niche[i] += 0.1 / n_cat
        else:
            niche[i, rng.choice(n_cat, size=3, replace=False)] = 1 / 3
    quality = rng.beta(2.5, 2.5, size=ws.creators)
    popularity = rng.pareto(1.3, size=ws.creators) + 0.2  # a few influencers, a long tail
    followers = (popularity * 400 * (0.5 + quality)).astype(int)
    strikes = (rng.random(ws.creators) < 0.03).astype(int) * rng.integers(1, 3, size=ws.creators)
    joined = now - rng.integers(10 * DAY_MS, 900 * DAY_MS, size=ws.creators)
    # Newest creators: no followers yet; they must compete through the cold-start pool.
    newcomer = rng.random(ws.creators) < 0.1
    followers[newcomer] = 0
    popularity[newcomer] = 0.2  # a newcomer posts a little, like the long tail
    joined[newcomer] = now - rng.integers(1 * DAY_MS, 10 * DAY_MS, size=newcomer.sum())
    return _Creators(vertical, niche, primary, quality, popularity, followers, strikes, joined)


def _draw_videos(
    rng: np.random.Generator, ws: WorldSize, creators: _Creators, n_cat: int, now: int
) -> _Videos:
    weight = creators.popularity * (0.3 + creators.quality)
    vid_creator = rng.choice(ws.creators, size=ws.videos, p=weight / weight.sum())
    cum_niche = creators.niche.cumsum(axis=1)
    cum_niche /= cum_niche[:, -1:]
    vid_cat = (cum_niche[vid_creator] < rng.random(ws.videos)[:, None]).sum(axis=1)
    vid_cat = np.minimum(vid_cat, n_cat - 1)
    quality = np.clip(creators.quality[vid_creator] + rng.normal(0, 0.15, ws.videos), 0, 1)
    age = rng.exponential(ws.history_days * DAY_MS / 3, size=ws.videos).astype(np.int64)
    age = np.minimum(age, ws.history_days * DAY_MS)
    created = np.maximum(now - age, creators.joined[vid_creator] + DAY_MS // 2)
    created = np.minimum(created, now - 60_000)
    duration_ms = (rng.gamma(2.0, 14.0, size=ws.videos) * 1000 + 5000).astype(np.int64)
    duration_ms = np.minimum(duration_ms, 180_000)
    rejected = rng.random(ws.videos) < 0.01
    age_days = (now - created) / DAY_MS
    return _Videos(vid_creator, vid_cat, quality, created, duration_ms, rejected, age_days)


def _pool_state(
    rng: np.random.Generator, ws: WorldSize, videos: _Videos
) -> tuple[np.ndarray, np.ndarray]:
    """The pool each video's history ended in, and how much exposure that pool gave it:
    recent uploads are still in cold start; older ones were promoted by quality, the rest
    settled in the long tail; a rejected video is in no pool ("") and never served."""
    age_days, rejected = videos.age_days, videos.rejected
    pool = np.where(age_days < 1.0, "cold_start", "long_tail").astype(object)
    older = ~rejected & (age_days >= 1.0)
    q_rank = np.argsort(np.argsort(-(videos.quality + rng.normal(0, 0.05, ws.videos))))
    frac = q_rank / ws.videos
    pool[older & (frac < 0.10)] = "boost"
    pool[older & (frac < 0.01) & (age_days < 14)] = "trending"
    pool[rejected] = ""
    exposure = np.select(
        [pool == "trending", pool == "boost", pool == "long_tail", pool == "cold_start"],
        [40.0, 8.0, 1.0, 0.6],
        default=0.0,
    ) * (0.5 + videos.quality)
    return pool, exposure


def _draw_impressions(
    rng: np.random.Generator, ws: WorldSize, users: _Users, videos: _Videos, exposure: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(user, video) impression pairs, each once: users by activity, videos by the user's
    interests (70 %) or the catalogue's exposure, weighted by exposure within a category."""
    n_cat = users.theta.shape[1]
    n_imp_target = int(ws.interactions / 1.6)
    draw = int(n_imp_target * 1.08)
    u = rng.choice(ws.users, size=draw, p=users.activity / users.activity.sum())
    personal = rng.random(draw) < 0.7
    cum_theta = users.theta.cumsum(axis=1)
    cat_draw = (cum_theta[u] < rng.random(draw)[:, None] * cum_theta[u, -1:]).sum(axis=1)
    cat_share = np.bincount(videos.category, weights=exposure, minlength=n_cat)
    cat_rand = rng.choice(n_cat, size=draw, p=cat_share / cat_share.sum())
    c = np.where(personal, np.minimum(cat_draw, n_cat - 1), cat_rand)
    v = np.empty(draw, dtype=np.int64)
    for ci in range(n_cat):
        idx = np.flatnonzero(c == ci)
        members = np.flatnonzero((videos.category == ci) & (exposure > 0))
        if len(members) == 0:
            members = np.flatnonzero(exposure > 0)
        w = exposure[members].cumsum()
        v[idx] = members[np.searchsorted(w, rng.random(len(idx)) * w[-1])]
    pair = np.unique(u.astype(np.int64) * ws.videos + v, return_index=True)[1]
    keep = np.sort(rng.permutation(pair)[:n_imp_target])
    return u[keep].astype(np.int64), v[keep]


def _draw_budgets(rng: np.random.Generator, ws: WorldSize, pool: np.ndarray) -> np.ndarray:
    """Each video's pool budget (cold start and boost; 0 elsewhere), drawn from the domain's
    ranges."""
    budget = np.where(
        pool == "cold_start", rng.integers(*COLD_START_BUDGET, size=ws.videos, endpoint=True), 0
    )
    return np.where(
        pool == "boost", rng.integers(*BOOST_BUDGET, size=ws.videos, endpoint=True), budget
    )


def _within_cold_start_budgets(
    u: np.ndarray, v: np.ndarray, pool: np.ndarray, budget: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Impressions of cold-start videos beyond 80 % of their budget dropped: a video still in
    cold start has not spent its budget."""
    cs = pool[v] == "cold_start"
    if not cs.any():
        return u, v
    order = np.flatnonzero(cs)
    rank = np.zeros(len(order), dtype=np.int64)
    vv = v[order]
    srt = np.argsort(vv, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(vv[srt])) + 1]
    rank[srt] = np.arange(len(srt)) - np.repeat(starts, np.diff(np.r_[starts, len(srt)]))
    drop = order[rank >= (budget[vv] * 0.8).astype(np.int64)]
    mask = np.ones(len(v), dtype=bool)
    mask[drop] = False
    return u[mask], v[mask]


def _react(
    rng: np.random.Generator,
    ws: WorldSize,
    users: _Users,
    videos: _Videos,
    creators: _Creators,
    u: np.ndarray,
    v: np.ndarray,
    now: int,
) -> Interactions:
    """The interaction history: each impression's time and the reactions it drew, from the
    latent affinity of the user for the video's category (world/behaviour.py's curves)."""
    n = len(u)
    created = videos.created[v]
    span = np.maximum(now - created, 60_000)
    at = created + (rng.random(n) ** 1.5 * span).astype(np.int64)
    n_cat = users.theta.shape[1]
    duration_ms = videos.duration_ms
    affinity = users.theta[u, videos.category[v]] * n_cat  # 1.0 = indifferent
    q = videos.quality[v]
    viewed = rng.random(n) < behaviour.p_view(affinity, q)
    frac_watched = np.clip(rng.beta(2 + 3 * q, 2.0), 0.05, 1.0)
    completed = viewed & (rng.random(n) < behaviour.p_complete(affinity, q))
    watch = np.where(completed, duration_ms[v], (frac_watched * duration_ms[v]).astype(np.int64))
    base = behaviour.engagement(affinity, q)
    rates = behaviour.ENGAGEMENT_RATES
    liked = viewed & (rng.random(n) < rates["like"][0] * base + rates["like"][1])
    commented = viewed & (rng.random(n) < rates["comment"][0] * base + rates["comment"][1])
    shared = viewed & (rng.random(n) < rates["share"][0] * base + rates["share"][1])
    followed = viewed & (rng.random(n) < rates["follow"][0] * base + rates["follow"][1])
    # One follow per (user, creator): keep the first.
    fidx = np.flatnonzero(followed)
    if len(fidx):
        key = u[fidx] * ws.creators + videos.creator[v[fidx]]
        first = np.unique(key, return_index=True)[1]
        followed[:] = False
        followed[fidx[first]] = True

    parts = []
    for kind, mask, offset in (
        ("impression", np.ones(n, dtype=bool), 0),
        ("view", viewed, 1_000),
        ("complete", completed, 2_000),
        ("like", liked, 3_000),
        ("comment", commented, 4_000),
        ("share", shared, 5_000),
        ("follow", followed, 6_000),
    ):
        idx = np.flatnonzero(mask)
        if kind == "view":
            wm = watch[idx]
        elif kind == "complete":
            wm = duration_ms[v[idx]]
        else:
            wm = np.zeros(len(idx), dtype=np.int64)
        t = (
            at[idx]
            + (offset if kind != "view" else 500)
            + (watch[idx] if kind not in ("impression", "view") else 0)
        )
        parts.append((np.full(len(idx), KINDS.index(kind), dtype=np.int8), u[idx], v[idx], t, wm))
    return Interactions(
        kind=np.concatenate([p[0] for p in parts]),
        user=np.concatenate([p[1] for p in parts]).astype(np.int32),
        video=np.concatenate([p[2] for p in parts]).astype(np.int32),
        at=np.minimum(np.concatenate([p[3] for p in parts]), now).astype(np.int64),
        watch_ms=np.concatenate([p[4] for p in parts]).astype(np.int32),
    )


def _user_rows(ws: WorldSize, users: _Users, inter: Interactions) -> list[dict[str, Any]]:
    last_active = np.full(ws.users, 0, dtype=np.int64)
    np.maximum.at(last_active, inter.user, inter.at)
    last_active = np.where(last_active > 0, last_active, users.created)
    return [
        {
            "id": f"u{i:07d}",
            "name": f"{FIRST_NAMES[i % len(FIRST_NAMES)]}{i}",
            "created_at": int(users.created[i]),
            "last_active_at": int(last_active[i]),
            "active_hour": int(users.active_hour[i]),
        }
        for i in range(ws.users)
    ]


def _creator_rows(ws: WorldSize, creators: _Creators, cats: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"c{i:06d}",
            "name": f"@{FIRST_NAMES[(i * 7) % len(FIRST_NAMES)]}_{cats[creators.primary[i]]}_{i}",
            "followers": int(creators.followers[i]),
            "strikes": int(creators.strikes[i]),
            "joined_at": int(creators.joined[i]),
        }
        for i in range(ws.creators)
    ]


def _video_rows(
    rng: np.random.Generator,
    ws: WorldSize,
    videos: _Videos,
    pool: np.ndarray,
    budget: np.ndarray,
    cats: list[str],
    tag_names: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """Video rows: hashtags from the video's category (sometimes one from another) and a
    caption written from the category's keywords."""
    n_cat = len(cats)
    rows = []
    for i in range(ws.videos):
        cat = cats[videos.category[i]]
        own = tag_names[cat]
        n_tags = int(rng.integers(1, 5))
        chosen = list(dict.fromkeys([own[0], *rng.choice(own, size=n_tags - 1)]))
        if rng.random() < 0.15:
            other = cats[int(rng.integers(0, n_cat))]
            chosen.append(tag_names[other][int(rng.integers(0, len(tag_names[other])))])
        words = CATEGORY_KEYWORDS[cat]
        caption = CAPTION_TEMPLATES[int(rng.integers(0, len(CAPTION_TEMPLATES)))].format(
            w1=words[int(rng.integers(0, len(words)))],
            w2=words[int(rng.integers(0, len(words)))],
            n=int(rng.integers(2, 60)),
        )
        rejected = bool(videos.rejected[i])
        rows.append(
            {
                "id": f"v{i:08d}",
                "creator": f"c{int(videos.creator[i]):06d}",
                "caption": caption,
                "hashtags": list(dict.fromkeys(chosen)),
                "duration_ms": int(videos.duration_ms[i]),
                "created_at": int(videos.created[i]),
                "status": "rejected" if rejected else "approved",
                "reasons": ["spam: link bait in caption"] if rejected else [],
                "pool": str(pool[i]) or None,
                "budget": int(budget[i]),
            }
        )
    return rows
