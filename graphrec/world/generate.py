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
    n_cat = len(cats)
    tag_names = category_tags(ws.tags_per_category)

    categories = [{"id": c, "name": c} for c in cats]
    tags = [{"id": t, "category": c} for c in cats for t in tag_names[c]]

    # --- users: latent interests around a few natural communities -------------------------
    k = ws.communities
    prototypes = np.full((k, n_cat), 0.05)
    favourites = [rng.choice(n_cat, size=3, replace=False) for _ in range(k)]
    for c, fav in enumerate(favourites):
        prototypes[c, fav] += np.array([4.0, 2.0, 1.0])
    community = rng.integers(0, k, size=ws.users)
    theta = np.vstack([rng.dirichlet(prototypes[c] * 3.0 + 0.02) for c in community])
    activity = rng.lognormal(mean=0.0, sigma=0.8, size=ws.users)
    active_hour = (rng.normal(20, 3, size=ws.users).round() % 24).astype(int)
    user_created = now - rng.integers(ws.history_days * DAY_MS // 2, 400 * DAY_MS, size=ws.users)

    # --- creators: most with one niche, some mixed ----------------------------------------
    vertical = rng.random(ws.creators) < 0.8
    niche = np.zeros((ws.creators, n_cat))
    primary = rng.integers(0, n_cat, size=ws.creators)
    for i in range(ws.creators):
        if vertical[i]:
            niche[i, primary[i]] = 0.9
            niche[i] += 0.1 / n_cat
        else:
            niche[i, rng.choice(n_cat, size=3, replace=False)] = 1 / 3
    creator_quality = rng.beta(2.5, 2.5, size=ws.creators)
    popularity = rng.pareto(1.3, size=ws.creators) + 0.2  # a few influencers, a long tail
    followers = (popularity * 400 * (0.5 + creator_quality)).astype(int)
    strikes = (rng.random(ws.creators) < 0.03).astype(int) * rng.integers(1, 3, size=ws.creators)
    creator_joined = now - rng.integers(10 * DAY_MS, 900 * DAY_MS, size=ws.creators)
    # Newest creators: no followers yet; they must compete through the cold-start pool.
    newcomer = rng.random(ws.creators) < 0.1
    followers[newcomer] = 0
    popularity[newcomer] = 0.2  # a newcomer posts a little, like the long tail
    creator_joined[newcomer] = now - rng.integers(1 * DAY_MS, 10 * DAY_MS, size=newcomer.sum())

    # --- videos -----------------------------------------------------------------------------
    weight = popularity * (0.3 + creator_quality)
    vid_creator = rng.choice(ws.creators, size=ws.videos, p=weight / weight.sum())
    cum_niche = niche.cumsum(axis=1)
    cum_niche /= cum_niche[:, -1:]
    vid_cat = (cum_niche[vid_creator] < rng.random(ws.videos)[:, None]).sum(axis=1)
    vid_cat = np.minimum(vid_cat, n_cat - 1)
    vid_quality = np.clip(creator_quality[vid_creator] + rng.normal(0, 0.15, ws.videos), 0, 1)
    age = rng.exponential(ws.history_days * DAY_MS / 3, size=ws.videos).astype(np.int64)
    age = np.minimum(age, ws.history_days * DAY_MS)
    vid_created = np.maximum(now - age, creator_joined[vid_creator] + DAY_MS // 2)
    vid_created = np.minimum(vid_created, now - 60_000)
    duration_ms = (rng.gamma(2.0, 14.0, size=ws.videos) * 1000 + 5000).astype(np.int64)
    duration_ms = np.minimum(duration_ms, 180_000)
    rejected = rng.random(ws.videos) < 0.01
    age_days = (now - vid_created) / DAY_MS

    # Pool state the history ended in: recent uploads are still in cold start; older ones
    # were promoted by quality, the rest settled in the long tail.
    pool = np.where(age_days < 1.0, "cold_start", "long_tail").astype(object)
    older = ~rejected & (age_days >= 1.0)
    q_rank = np.argsort(np.argsort(-(vid_quality + rng.normal(0, 0.05, ws.videos))))
    frac = q_rank / ws.videos
    pool[older & (frac < 0.10)] = "boost"
    pool[older & (frac < 0.01) & (age_days < 14)] = "trending"
    pool[rejected] = ""  # rejected by the audit: in no pool, never served
    exposure = np.select(
        [pool == "trending", pool == "boost", pool == "long_tail", pool == "cold_start"],
        [40.0, 8.0, 1.0, 0.6],
        default=0.0,
    ) * (0.5 + vid_quality)

    # --- impressions: users by activity, videos by their interest and exposure -------------
    n_imp_target = int(ws.interactions / 1.6)
    draw = int(n_imp_target * 1.08)
    u = rng.choice(ws.users, size=draw, p=activity / activity.sum())
    personal = rng.random(draw) < 0.7
    cum_theta = theta.cumsum(axis=1)
    cat_draw = (cum_theta[u] < rng.random(draw)[:, None] * cum_theta[u, -1:]).sum(axis=1)
    cat_share = np.bincount(vid_cat, weights=exposure, minlength=n_cat)
    cat_rand = rng.choice(n_cat, size=draw, p=cat_share / cat_share.sum())
    c = np.where(personal, np.minimum(cat_draw, n_cat - 1), cat_rand)
    v = np.empty(draw, dtype=np.int64)
    for ci in range(n_cat):
        idx = np.flatnonzero(c == ci)
        members = np.flatnonzero((vid_cat == ci) & (exposure > 0))
        if len(members) == 0:
            members = np.flatnonzero(exposure > 0)
        w = exposure[members].cumsum()
        v[idx] = members[np.searchsorted(w, rng.random(len(idx)) * w[-1])]
    pair = np.unique(u.astype(np.int64) * ws.videos + v, return_index=True)[1]
    keep = np.sort(rng.permutation(pair)[:n_imp_target])
    u, v = u[keep].astype(np.int64), v[keep]
    # Cold-start videos never exceed their budget.
    budget = np.where(
        pool == "cold_start", rng.integers(*COLD_START_BUDGET, size=ws.videos, endpoint=True), 0
    )
    budget = np.where(
        pool == "boost", rng.integers(*BOOST_BUDGET, size=ws.videos, endpoint=True), budget
    )
    cs = pool[v] == "cold_start"
    if cs.any():
        order = np.flatnonzero(cs)
        rank = np.zeros(len(order), dtype=np.int64)
        vv = v[order]
        srt = np.argsort(vv, kind="stable")
        starts = np.r_[0, np.flatnonzero(np.diff(vv[srt])) + 1]
        rank[srt] = np.arange(len(srt)) - np.repeat(starts, np.diff(np.r_[starts, len(srt)]))
        drop = order[rank >= (budget[vv] * 0.8).astype(np.int64)]
        mask = np.ones(len(v), dtype=bool)
        mask[drop] = False
        u, v = u[mask], v[mask]
    n = len(u)
    created = vid_created[v]
    span = np.maximum(now - created, 60_000)
    at = created + (rng.random(n) ** 1.5 * span).astype(np.int64)

    # --- reactions, from the latent affinity of the user for the video's category ----------
    affinity = theta[u, vid_cat[v]] * n_cat  # 1.0 = indifferent
    q = vid_quality[v]
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
        key = u[fidx] * ws.creators + vid_creator[v[fidx]]
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
    inter = Interactions(
        kind=np.concatenate([p[0] for p in parts]),
        user=np.concatenate([p[1] for p in parts]).astype(np.int32),
        video=np.concatenate([p[2] for p in parts]).astype(np.int32),
        at=np.minimum(np.concatenate([p[3] for p in parts]), now).astype(np.int64),
        watch_ms=np.concatenate([p[4] for p in parts]).astype(np.int32),
    )

    # --- rows ---------------------------------------------------------------------------------
    user_ids = [f"u{i:07d}" for i in range(ws.users)]
    creator_ids = [f"c{i:06d}" for i in range(ws.creators)]
    video_ids = [f"v{i:08d}" for i in range(ws.videos)]
    last_active = np.full(ws.users, 0, dtype=np.int64)
    np.maximum.at(last_active, inter.user, inter.at)
    last_active = np.where(last_active > 0, last_active, user_created)
    users = [
        {
            "id": user_ids[i],
            "name": f"{FIRST_NAMES[i % len(FIRST_NAMES)]}{i}",
            "created_at": int(user_created[i]),
            "last_active_at": int(last_active[i]),
            "active_hour": int(active_hour[i]),
        }
        for i in range(ws.users)
    ]
    creators = [
        {
            "id": creator_ids[i],
            "name": f"@{FIRST_NAMES[(i * 7) % len(FIRST_NAMES)]}_{cats[primary[i]]}_{i}",
            "followers": int(followers[i]),
            "strikes": int(strikes[i]),
            "joined_at": int(creator_joined[i]),
        }
        for i in range(ws.creators)
    ]
    videos = []
    for i in range(ws.videos):
        cat = cats[vid_cat[i]]
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
        status = "rejected" if rejected[i] else "approved"
        videos.append(
            {
                "id": video_ids[i],
                "creator": creator_ids[vid_creator[i]],
                "caption": caption,
                "hashtags": list(dict.fromkeys(chosen)),
                "duration_ms": int(duration_ms[i]),
                "created_at": int(vid_created[i]),
                "status": status,
                "reasons": ["spam: link bait in caption"] if rejected[i] else [],
                "pool": str(pool[i]) or None,
                "budget": int(budget[i]),
            }
        )
    latent = {
        "user_interests": theta.astype(np.float32),
        "user_community": community.astype(np.int16),
        "community_prototypes": prototypes.astype(np.float32),
        "video_quality": vid_quality.astype(np.float32),
        "video_category": vid_cat.astype(np.int16),
        "creator_quality": creator_quality.astype(np.float32),
        "creator_vertical": vertical,
        "creator_primary": primary.astype(np.int16),
    }
    return World(
        size=ws.name,
        seed=seed,
        now_ms=now,
        categories=categories,
        tags=tags,
        creators=creators,
        users=users,
        videos=videos,
        interactions=inter,
        latent=latent,
    )
