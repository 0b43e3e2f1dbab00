"""A day on the platform: simulated users with known tastes react to real feeds.

Each policy runs on the same world, the same users, the same seed and the same simulated
hours, from the same starting graph (the world is reloaded for each). Users open the app
around their active hour, fetch pages of the feed (through the library, or the HTTP API),
and react according to their latent interests with noise drawn per (user, video), so the
same user reacts to the same video the same way under every policy. Creators keep uploading
(strong, weak and malicious videos); the pool cycle runs on a schedule; part of the users
change taste half-way, to measure how fast each feed adapts.
"""

from __future__ import annotations

import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from graphrec.config import Settings, get_settings
from graphrec.domain import CATEGORY_KEYWORDS
from graphrec.errors import InvalidInput
from graphrec.sim import metrics as M
from graphrec.world import behaviour
from graphrec.world.generate import DAY_MS, World
from graphrec.world.vocab import CAPTION_TEMPLATES, category_tags

HOUR_MS = 3_600_000
NEW_CREATOR_DAYS = 14
# Strong uploads appeal beyond their niche (a viral video is watched by people who never
# looked for its category): the affinity a viewer has for them is at least this.
BROAD_APPEAL = {"planted_strong": 4.0, "strong": 1.5}
ADAPTATION_PAGES = 8  # feed pages followed after the planted change of taste
ADAPTED_SHARE = 0.25  # adapted: a quarter of the page is the new favourite category
BASELINES = ("random", "popular")
ABLATIONS = ("no_realtime", "no_cold_start", "no_diversity", "no_communities")
# graphrec's feed with the model also learning online from the day's events (docs/online-training.md)
ONLINE = "online"
ALL_POLICIES = ("graphrec", ONLINE, *ABLATIONS, *BASELINES)
ENGAGED_KINDS = frozenset({"view", "complete", "like", "comment", "share"})
MIN_AUDIENCE = 3  # engaged users an upload needs before its vector is followed in the mean


@dataclass(frozen=True)
class SimConfig:
    """What to simulate; every field is a CLI flag of ``graphrec simulate``."""

    seed: int = 0
    hours: int = 24
    users: int | None = None  # the first N users of the world; None = all
    page_size: int = 8
    pages_per_session: int = 3
    session_rate: float = 0.35  # chance to open the app at one's active hour
    uploads_per_hour: int = 6  # on average: the hours with more sessions get more
    cycle_every_hours: int = 3
    shift_share: float = 0.15  # share of users whose taste changes during the day
    shift_after: float = 0.4  # ... once this share of the day's sessions is over
    policies: tuple[str, ...] = ALL_POLICIES
    # Cold-start budget for the day's uploads; None scales 200-300 to the population
    # (a 240-user world cannot give a video 200 impressions in a day).
    cold_start_budget: tuple[int, int] | None = None
    # graphrec's feed ranker retrained on the day's served impressions at every pool cycle
    # (graphrec.learn.ranker.train_from_logs; published when it beats the current one).
    ranker_from_logs: bool = True
    # How long, in simulated seconds, graphrec's feed keeps the shared candidate lists (pools,
    # trending, each tag's best videos): the production feed keeps them feed_shared_ttl_s of
    # wall time at thousands of feeds a second; a simulated day serves a few hundred feeds an
    # hour. Reloaded before they are served, never in the background: a seeded day repeats
    # itself exactly. 0: read again for every feed.
    shared_ttl_s: float = 300.0

    def __post_init__(self) -> None:
        unknown = [p for p in self.policies if p not in ALL_POLICIES]
        if unknown:
            raise InvalidInput(f"unknown policies {unknown}: choose from {', '.join(ALL_POLICIES)}")
        if self.hours < 1 or self.page_size < 1 or self.pages_per_session < 1:
            raise InvalidInput("hours, page_size and pages_per_session must be at least 1")
        if not 0 <= self.shift_share <= 1 or not 0 < self.session_rate <= 1:
            raise InvalidInput("shift_share must be in [0, 1] and session_rate in (0, 1]")
        if not 0 <= self.shift_after < 1:
            raise InvalidInput("shift_after must be in [0, 1)")
        if self.shared_ttl_s < 0:
            raise InvalidInput("shared_ttl_s must be at least 0")


class Platform(Protocol):
    """What a simulated user needs from graphrec: a feed page and somewhere to send events."""

    def feed(self, user_id: str, n: int, at: int) -> list[dict[str, Any]]: ...

    def send(self, events: list[dict[str, Any]], at: int) -> None: ...


@dataclass
class VideoFacts:
    """What the simulation knows about a video (its latent truth)."""

    category: int
    quality: float
    duration_ms: int
    creator: str
    kind: str = "world"  # world | normal | strong | weak | malicious | planted_strong | ...
    uploaded_at: int | None = None
    appeal: float = 0.0  # broad appeal: the least affinity anyone has for it (0: niche only)


@dataclass
class PolicyResult:
    """Everything one policy produced in the run (raw logs and the figures)."""

    policy: str
    figures: dict[str, Any] = field(default_factory=dict)
    hourly_watch_s: list[float] = field(default_factory=list)
    adaptation_curve: list[float] = field(default_factory=list)
    creator_impressions: dict[str, int] = field(default_factory=dict)
    pool_counts: dict[str, int] = field(default_factory=dict)
    cycles: list[dict[str, Any]] = field(default_factory=list)  # hour of the day, moves, counts
    # Per simulated hour: cosine between an upload's vector (as the graph serves it) and the
    # mean start-of-day vector of the users who engaged with it so far ("planted_strong": the
    # trending newcomer's upload; "uploads": the mean over the uploads with MIN_AUDIENCE).
    audience_cosine: dict[str, list[float | None]] = field(default_factory=dict)
    seconds: float = 0.0


def _draws(seed: int, user: int, video_id: str, k: int = 8) -> np.ndarray:
    """Uniform draws fixed per (seed, user, video): a user reacts alike under every policy."""
    return np.random.default_rng([seed, user, zlib.crc32(video_id.encode())]).random(k)


class Simulation:
    """One run over several policies; see the module docstring."""

    def __init__(
        self,
        world: World,
        config: SimConfig,
        *,
        settings: Settings | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        if "user_interests" not in world.latent:
            raise InvalidInput(
                "the world has no latent truth (latent.npz): generate it with graphrec"
            )
        self.world = world
        self.cfg = config
        self.settings = settings or get_settings()
        self.tick = progress or (lambda stage, done, total: None)
        lat = world.latent
        self.n_cat = len(world.categories)
        self.cat_names = [c["id"] for c in world.categories]
        n_users = len(world.users) if config.users is None else min(config.users, len(world.users))
        self.users = world.users[:n_users]
        self.theta0 = lat["user_interests"][:n_users].astype(float)
        self.community = lat["user_community"][:n_users]
        self.start = world.now_ms + HOUR_MS  # the simulated day starts an hour after the world
        self.videos: dict[str, VideoFacts] = {}
        for i, v in enumerate(world.videos):
            self.videos[v["id"]] = VideoFacts(
                category=int(lat["video_category"][i]),
                quality=float(lat["video_quality"][i]),
                duration_ms=int(v["duration_ms"]),
                creator=v["creator"],
            )
        self.new_creators = {
            c["id"]
            for c in world.creators
            if int(c["joined_at"]) >= world.now_ms - NEW_CREATOR_DAYS * DAY_MS
        }
        self.approved_world = sum(1 for v in world.videos if v["status"] == "approved")
        self._plan()

    # --- the plan: the same for every policy ---------------------------------------------
    def _plan(self) -> None:
        cfg, rng = self.cfg, np.random.default_rng([self.cfg.seed, 1])
        n = len(self.users)
        shifted = rng.random(n) < cfg.shift_share
        self.shift_target = np.full(n, -1)
        for i in np.flatnonzero(shifted):
            self.shift_target[i] = int(np.argmin(self.theta0[i]))  # their least-liked category
        # Sessions: (hour, user, minute) for users near their active hour.
        hours = np.arange(cfg.hours)
        start_hour = int((self.start // HOUR_MS) % 24)
        self.sessions: list[list[tuple[int, int]]] = []
        active = np.array([int(u.get("active_hour", 20)) for u in self.users])
        for h in hours:
            clock = (start_hour + h) % 24
            d = np.minimum(np.abs(active - clock), 24 - np.abs(active - clock))
            p = cfg.session_rate * np.exp(-(d**2) / 8.0)
            opened = np.flatnonzero(rng.random(n) < p)
            minutes = rng.integers(0, 50, size=len(opened))
            self.sessions.append(sorted(zip(minutes.tolist(), opened.tolist(), strict=True)))
        # The planted change of taste happens once a share (shift_after) of the day's
        # sessions are over, so the shifted users still have sessions (and pages) to adapt in.
        cum = np.cumsum([len(x) for x in self.sessions])
        at = cfg.shift_after * cum[-1]
        self.shift_at = int(np.searchsorted(cum, at)) + 1 if cum[-1] else cfg.hours
        # Uploads: creators keep posting; planted ones at hour 1.
        tags = category_tags(max(4, len(self.world.tags) // max(self.n_cat, 1)))
        lat = self.world.latent
        fav = int(np.argmax(self.theta0.sum(axis=0)))
        newcomers = sorted(self.new_creators) or [self.world.creators[0]["id"]]
        self.uploads: list[list[dict[str, Any]]] = [[] for _ in hours]

        def upload(h: int, k: int, creator: str, cat: int, kind: str, quality: float) -> None:
            words = CATEGORY_KEYWORDS[self.cat_names[cat]]
            caption = CAPTION_TEMPLATES[(h + k) % len(CAPTION_TEMPLATES)].format(
                w1=words[k % len(words)], w2=words[(k + h) % len(words)], n=h * 10 + k + 2
            )
            if kind in ("malicious", "planted_malicious"):
                caption += " free followers, link in bio https://spam.example"
            vid = f"sim{cfg.seed}-h{h:03d}-{k}"
            self.uploads[h].append(
                {
                    "id": vid,
                    "creator": creator,
                    "caption": caption,
                    "hashtags": tags[self.cat_names[cat]][: 2 + (k % 2)],
                    "duration_ms": int(12_000 + 1_000 * ((h * 7 + k * 13) % 40)),
                    "_kind": kind,
                    "_quality": quality,
                    "_category": cat,
                }
            )

        # The day's uploads (uploads_per_hour on average) follow its traffic: an hour with
        # few sessions gets few uploads, which it could not have judged anyway.
        sizes = np.array([len(x) for x in self.sessions], dtype=float)
        share = sizes / sizes.sum() if sizes.sum() else np.full(cfg.hours, 1 / cfg.hours)
        cum = np.round(np.cumsum(share) * cfg.uploads_per_hour * cfg.hours).astype(int)
        per_hour = np.diff(np.r_[0, cum]).tolist()
        upload(min(1, cfg.hours - 1), 0, newcomers[0], fav, "planted_strong", 0.99)
        upload(min(1, cfg.hours - 1), 1, newcomers[-1], fav, "planted_malicious", 0.9)
        kinds = np.array(["normal", "strong", "weak", "malicious"])
        for h in hours:
            for k in range(2, 2 + per_hour[h]):
                c = int(rng.integers(0, len(self.world.creators)))
                kind = str(kinds[np.searchsorted([0.6, 0.75, 0.93, 1.0], rng.random())])
                q = {
                    "normal": float(lat["creator_quality"][c]),
                    "strong": 0.85,
                    "weak": 0.08,
                    "malicious": 0.5,
                }[kind]
                upload(
                    int(h), k, self.world.creators[c]["id"], int(lat["creator_primary"][c]), kind, q
                )

    def theta(self, user: int, hour: int) -> np.ndarray:
        """The user's true interests at ``hour`` (after the planted shift, if any)."""
        t = self.theta0[user]
        target = self.shift_target[user]
        if target >= 0 and hour >= self.shift_at:
            t = 0.2 * t
            t[target] += 0.8
        return t

    # --- reactions ------------------------------------------------------------------------
    def react(
        self, user: int, hour: int, items: list[dict[str, Any]], at: int
    ) -> tuple[list[dict[str, Any]], dict[str, float]]:
        """Events for one page and what they add up to (watch time, completions ...)."""
        events: list[dict[str, Any]] = []
        tally: defaultdict[str, float] = defaultdict(float)
        theta = self.theta(user, hour)
        uid = self.users[user]["id"]
        t = at
        for item in items:
            facts = self.videos.get(item["video_id"])
            if facts is None:
                continue
            u = _draws(self.cfg.seed, user, item["video_id"])
            aff = np.array([max(theta[facts.category] * self.n_cat, facts.appeal)])
            q = np.array([facts.quality])
            base = behaviour.engagement(aff, q)[0]
            ev = f"{self.cfg.seed}:{uid}:{item['video_id']}"
            tally["impressions"] += 1
            if u[0] >= behaviour.p_view(aff, q)[0]:
                events.append(
                    {
                        "event_id": f"{ev}:skip",
                        "user_id": uid,
                        "kind": "skip",
                        "video_id": item["video_id"],
                        "watch_ms": 900,
                        "at": t + 900,
                    }
                )
                tally["skips"] += 1
                tally["watch_ms"] += 900
                t += 900
                continue
            complete = u[1] < behaviour.p_complete(aff, q)[0]
            frac = 1.0 if complete else float(behaviour.watch_fraction(q, np.array([u[2]]))[0])
            watch = int(facts.duration_ms * frac)
            t += watch
            tally["views"] += 1
            tally["watch_ms"] += watch
            events.append(
                {
                    "event_id": f"{ev}:view",
                    "user_id": uid,
                    "kind": "view",
                    "video_id": item["video_id"],
                    "watch_ms": watch,
                    "at": t,
                }
            )
            if complete:
                tally["completes"] += 1
                events.append(
                    {
                        "event_id": f"{ev}:complete",
                        "user_id": uid,
                        "kind": "complete",
                        "video_id": item["video_id"],
                        "at": t,
                    }
                )
            for j, kind in enumerate(("like", "comment", "share", "follow"), start=3):
                scale, floor = behaviour.ENGAGEMENT_RATES[kind]
                if u[j] < scale * base + floor:
                    tally[kind + "s"] += 1
                    e = {"event_id": f"{ev}:{kind}", "user_id": uid, "kind": kind, "at": t + 100}
                    if kind == "follow":
                        e["creator_id"] = facts.creator
                    else:
                        e["video_id"] = item["video_id"]
                    events.append(e)
        return events, dict(tally)

    # --- one policy --------------------------------------------------------------------------
    def run_policy(
        self,
        name: str,
        platform: Platform,
        *,
        upload: Callable[[dict[str, Any], int], dict[str, Any]],
        cycle: Callable[[int], dict[str, Any] | None],
        pool_of: Callable[[list[str]], dict[str, str | None]],
        vectors: Callable[[str, list[str]], dict[str, np.ndarray]] | None = None,
    ) -> PolicyResult:
        """Run the simulated hours for one policy on a graph prepared for it. ``vectors``
        (``"user"`` or ``"video"``, ids: their embeddings in the graph) lets the day follow
        how each upload's vector moves to its audience (``audience_cosine``)."""
        cfg = self.cfg
        res = PolicyResult(policy=name)
        started = time.perf_counter()
        day = _Day(total_sessions=sum(len(s) for s in self.sessions))
        # Where the audience is: every user's vector at the start of the day (the same
        # starting graph, so the same yardstick, for every policy).
        start_users = vectors("user", [u["id"] for u in self.users]) if vectors else {}
        # The platform was running before the day: the day opens with a pool cycle that
        # settles what the world's history left decided (spent budgets, old videos for
        # look-back), so the day's uploads form their own cohorts. It counts as the day's
        # (hour 0 in ``cycles``).
        opening = cycle(self.start - 1)
        day.add_cycle(opening)
        res.cycles.append(
            {"hour": 0, **{k: (opening or {}).get(k, {}) for k in ("moves", "counts")}}
        )
        for h in range(cfg.hours):
            hour_start = self.start + h * HOUR_MS
            self._upload_hour(h, hour_start, upload, day)
            hour_watch = 0.0
            hour_sessions = 0
            for minute, user in self.sessions[h]:
                hour_watch += self._session(
                    name, platform, h, hour_start + minute * 60_000, user, day
                )
                hour_sessions += 1
            day.per_hour_watch.append(
                hour_watch / 1000 / hour_sessions if hour_sessions else float("nan")
            )
            if vectors and start_users:
                self._follow_vectors(res, day, vectors, start_users)
            if (h + 1) % cfg.cycle_every_hours == 0 or h == cfg.hours - 1:
                self.tick(f"{name}: pool cycle", h + 1, cfg.hours)
                done = cycle(hour_start + HOUR_MS - 1)
                day.add_cycle(done)
                res.cycles.append(
                    {"hour": h + 1, **{k: (done or {}).get(k, {}) for k in ("moves", "counts")}}
                )
                res.pool_counts = self._track_pools(pool_of(list(day.uploaded)), hour_start, day)
        res.seconds = time.perf_counter() - started
        res.hourly_watch_s = day.per_hour_watch
        res.creator_impressions = dict(day.creator_imp)
        res.adaptation_curve = self._adaptation_curve(day)
        res.figures = self._figures(res, day)
        return res

    def _upload_hour(
        self,
        h: int,
        hour_start: int,
        upload: Callable[[dict[str, Any], int], dict[str, Any]],
        day: _Day,
    ) -> None:
        """The hour's planned uploads, through the platform's upload path."""
        for up in self.uploads[h]:
            data = {k: v for k, v in up.items() if not k.startswith("_")}
            out = upload(data, hour_start)
            if out.get("status") == "rejected":
                day.rejected[out["video_id"]] = (up["_kind"], list(out.get("reasons") or []))
            facts = VideoFacts(
                up["_category"],
                up["_quality"],
                up["duration_ms"],
                up["creator"],
                up["_kind"],
                hour_start,
                BROAD_APPEAL.get(up["_kind"], 0.0),
            )
            self.videos[out["video_id"]] = facts
            day.uploaded[out["video_id"]] = facts

    def _session(
        self, name: str, platform: Platform, h: int, at: int, user: int, day: _Day
    ) -> float:
        """One user's session: feed pages, reactions sent as events; returns its watch ms."""
        cfg = self.cfg
        uid = self.users[user]["id"]
        target = self.shift_target[user]
        session_watch = 0.0
        pages = cfg.pages_per_session
        if target >= 0 and h >= self.shift_at and user not in day.shift_curves:
            # A user whose taste has just changed scrolls on, looking for the new favourite:
            # their first session after the change is followed for ADAPTATION_PAGES pages.
            pages = max(pages, ADAPTATION_PAGES)
        for _page in range(pages):
            items = platform.feed(uid, cfg.page_size, at)
            if not items:
                break
            for it in items:
                facts = self.videos.get(it["video_id"])
                day.creator_imp[facts.creator if facts else it.get("creator_id", "?")] += 1
                day.shown.add(it["video_id"])
                if facts and facts.uploaded_at is not None:  # uploaded during the day
                    day.upload_imp += 1
                if facts and facts.kind in ("malicious", "planted_malicious"):
                    day.malicious_impressions += 1
            cats = [
                self.videos[i["video_id"]].category for i in items if i["video_id"] in self.videos
            ]
            day.diversity.append(M.category_diversity([str(c) for c in cats]))
            if target >= 0 and h >= self.shift_at and cats:
                day.shift_curves[user].append(sum(c == target for c in cats) / len(cats))
            events, tally = self.react(user, h, items, at)
            for k, v in tally.items():
                day.totals[k] += v
            for e in events:  # the day's uploads' audiences (audience_cosine)
                if e["kind"] in ENGAGED_KINDS and e.get("video_id") in day.uploaded:
                    day.audience[e["video_id"]][user] = None
            session_watch += tally.get("watch_ms", 0.0)
            if events:  # sent once the page is watched: its last event is not in the future
                platform.send(events, max(at, *(int(e["at"]) for e in events)))
            at += int(tally.get("watch_ms", 0.0)) + 1_000
        day.sessions_done += 1
        day.totals["session_watch_ms"] += session_watch
        self.tick(name, day.sessions_done, day.total_sessions)
        return session_watch

    def _follow_vectors(
        self,
        res: PolicyResult,
        day: _Day,
        vectors: Callable[[str, list[str]], dict[str, np.ndarray]],
        start_users: dict[str, np.ndarray],
    ) -> None:
        """At the end of an hour: how close each upload's vector (as the graph serves it
        now) is to the mean start-of-day vector of the users who engaged with it so far."""
        uids = [u["id"] for u in self.users]
        watched = [v for v, aud in day.audience.items() if aud]
        now = vectors("video", watched) if watched else {}
        cos: dict[str, tuple[float, int]] = {}
        for vid in watched:
            users = [start_users[uids[u]] for u in day.audience[vid] if uids[u] in start_users]
            if vid not in now or not users:
                continue
            mean = np.mean([x / (np.linalg.norm(x) or 1.0) for x in users], axis=0)
            v = now[vid]
            denom = float(np.linalg.norm(v) * np.linalg.norm(mean)) or 1.0
            cos[vid] = (float(v @ mean) / denom, len(users))
        planted = next((v for v, f in day.uploaded.items() if f.kind == "planted_strong"), None)
        wide = [c for c, n in cos.values() if n >= MIN_AUDIENCE]
        res.audience_cosine.setdefault("planted_strong", []).append(
            round(cos[planted][0], 4) if planted in cos else None
        )
        res.audience_cosine.setdefault("uploads", []).append(
            round(float(np.mean(wide)), 4) if wide else None
        )
        res.audience_cosine.setdefault("uploads_followed", []).append(float(len(wide)))

    def _track_pools(
        self, pools: dict[str, str | None], hour_start: int, day: _Day
    ) -> dict[str, int]:
        """After a cycle: when each upload first reached boost and trending; pool counts."""
        for vid, pool in pools.items():
            uploaded_at = day.uploaded[vid].uploaded_at
            assert uploaded_at is not None  # the day's uploads have their hour
            if pool in ("boost", "trending") and pool not in day.reached[vid]:
                day.reached[vid][pool] = (hour_start + HOUR_MS - uploaded_at) / HOUR_MS
                if pool == "trending" and "boost" not in day.reached[vid]:
                    day.reached[vid]["boost"] = day.reached[vid]["trending"]
        counts: dict[str, int] = {}
        for pool in pools.values():
            counts[str(pool)] = counts.get(str(pool), 0) + 1
        return counts

    def _adaptation_curve(self, day: _Day) -> list[float]:
        """Mean share of the new favourite category in the k-th feed page after the shift,
        over the shifted users (pages with fewer than 3 users left out)."""
        curve = []
        for k in range(ADAPTATION_PAGES):
            if sum(1 for c in day.shift_curves.values() if len(c) > k) < 3:
                break
            vals = [c[k] for c in day.shift_curves.values() if len(c) > k]
            curve.append(float(np.mean(vals)))
        return curve

    def _figures(self, res: PolicyResult, day: _Day) -> dict[str, Any]:
        """The policy's figures (report.json's headline)."""
        totals, creator_imp, uploaded, reached = (
            day.totals,
            day.creator_imp,
            day.uploaded,
            day.reached,
        )
        imps = totals["impressions"] or 1.0
        all_creators = {c["id"] for c in self.world.creators}
        exposure = [creator_imp.get(c, 0) for c in sorted(all_creators)]
        new_imp = sum(v for c, v in creator_imp.items() if c in self.new_creators)
        approved = [v for v in uploaded if v not in day.rejected]  # the day's, past the audit
        by_kind: dict[str, list[str]] = defaultdict(list)
        for vid, f in uploaded.items():
            by_kind[f.kind].append(vid)

        def reach_share(kind: str) -> float | None:
            vids = by_kind.get(kind, [])
            return sum(1 for v in vids if "boost" in reached[v]) / len(vids) if vids else None

        strong = by_kind.get("planted_strong", [None])[0]
        planted_bad = [r for k, r in day.rejected.values() if k == "planted_malicious"]
        sessions_done = day.sessions_done
        return {
            "sessions": sessions_done,
            "impressions": int(totals["impressions"]),
            "watch_time_per_session_s": round(
                totals["session_watch_ms"] / 1000 / max(sessions_done, 1), 2
            ),
            "completion_rate": round(totals["completes"] / imps, 4),
            "like_rate": round(totals["likes"] / imps, 4),
            "skip_rate": round(totals["skips"] / imps, 4),
            "new_creator_share": round(new_imp / imps, 4),
            # what the cold-start pool is for: the day's uploads get impressions
            "upload_impression_share": round(day.upload_imp / imps, 4),
            "uploads_shown": round(
                sum(v in day.shown for v in approved) / max(len(approved), 1), 4
            ),
            "creator_gini": round(M.gini(exposure), 4),
            "coverage": round(len(day.shown) / max(self.approved_world + len(uploaded), 1), 4),
            "intra_feed_diversity": round(
                float(np.mean(day.diversity)) if day.diversity else 0.0, 4
            ),
            "strong_new_video_hours_to_boost": reached[strong].get("boost") if strong else None,
            "strong_new_video_hours_to_trending": reached[strong].get("trending")
            if strong
            else None,
            "strong_uploads_reaching_boost": reach_share("strong"),
            "weak_uploads_reaching_boost": reach_share("weak"),
            "malicious_uploads_reaching_boost": reach_share("malicious"),
            "malicious_impressions": day.malicious_impressions,
            # The story of the day (docs/simulation.md): the planted malicious upload
            # stopped at audit and why, malicious uploads rejected, winners amplified in
            # their community, old videos revived by look-back, every pool move.
            "planted_malicious_rejected": bool(planted_bad),
            "planted_malicious_reasons": planted_bad[0] if planted_bad else [],
            "malicious_rejected_at_audit": sum(
                1 for k, _r in day.rejected.values() if k in ("malicious", "planted_malicious")
            ),
            "amplified_in_community": day.cycle_counts.get("amplified_community", 0),
            "look_back_revivals": day.cycle_moves.get("long_tail->cold_start", 0),
            "reached_trending": sum(1 for r in reached.values() if "trending" in r),
            "reached_boost": sum(1 for r in reached.values() if "boost" in r),
            "pool_moves": dict(sorted(day.cycle_moves.items())),
            "adaptation_pages": M.adaptation_time(res.adaptation_curve, ADAPTED_SHARE),
            # how close the uploads' vectors are to their audience at the end of the day
            "trending_upload_audience_cosine": _last(res.audience_cosine.get("planted_strong")),
            "upload_audience_cosine": _last(res.audience_cosine.get("uploads")),
            "wall_s": round(res.seconds, 1),
        }


def _last(values: list[float | None] | None) -> float | None:
    """The last figure of an hourly series that has one (None when none has)."""
    return next((v for v in reversed(values or []) if v is not None), None)


@dataclass
class _Day:
    """What one policy's simulated day has added up so far."""

    total_sessions: int
    sessions_done: int = 0
    creator_imp: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    shown: set[str] = field(default_factory=set)
    upload_imp: int = 0  # impressions of videos uploaded during the day
    diversity: list[float] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    per_hour_watch: list[float] = field(default_factory=list)
    shift_curves: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    uploaded: dict[str, VideoFacts] = field(default_factory=dict)
    reached: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    malicious_impressions: int = 0
    # the users (indices) who engaged with each of the day's uploads, in order
    audience: dict[str, dict[int, None]] = field(default_factory=lambda: defaultdict(dict))
    rejected: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # kind, reasons
    cycle_moves: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cycle_counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add_cycle(self, report: dict[str, Any] | None) -> None:
        """Add up what a pool cycle moved (``from->to``) and counted (amplified ...)."""
        for k, v in (report or {}).get("moves", {}).items():
            self.cycle_moves[k] += int(v)
        for k, v in (report or {}).get("counts", {}).items():
            self.cycle_counts[k] += int(v)


__all__ = [
    "ALL_POLICIES",
    "ONLINE",
    "Platform",
    "PolicyResult",
    "SimConfig",
    "Simulation",
    "VideoFacts",
]
