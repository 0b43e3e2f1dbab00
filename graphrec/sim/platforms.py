"""What a simulated user talks to: graphrec (library or HTTP) under a policy, or a baseline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.errors import GraphrecError, InvalidInput


def feed_policy(name: str) -> Any:
    """graphrec's FeedPolicy for a named policy (the full feed or one ablation)."""
    from graphrec.feed import FeedPolicy

    full = FeedPolicy()
    return {
        "graphrec": full,
        "online": full,  # the same feed; the model also learns online (OnlinePlatform)
        "no_realtime": replace(full, realtime=False),
        "no_cold_start": replace(full, cold_start=False),
        "no_diversity": replace(full, diversity=False),
        "no_communities": replace(full, communities=False),
    }[name]


class LibraryPlatform:
    """graphrec's own feed, called in-process, and its event ingestion."""

    def __init__(
        self,
        graph: Graph,
        settings: Settings,
        policy: str,
        ranker: Path | None = None,
        *,
        shared_ttl_s: float = 0.0,
    ) -> None:
        from graphrec.feed import Recommender
        from graphrec.feed.rank import score
        from graphrec.feed.sources import SharedLists
        from graphrec.learn.ranker import feed_ranker

        self.graph, self.settings = graph, settings
        # Shared lists kept on the simulated clock (``shared_ttl_s`` simulated seconds) and
        # reloaded before they are served: what a feed reads depends only on the simulated
        # moment, so a seeded run repeats itself exactly. The ranker is the one this run trained
        # (``ranker``), else the hand-set weights: a ranker file left at the settings' path by
        # another run (another graph) must not decide this day's feeds.
        self.ranker_path = ranker
        self.ranker = feed_ranker(ranker) if ranker else None
        self.now_s = 0.0  # the simulated clock, seconds: the moment of the feed being served
        lists = SharedLists(shared_ttl_s, clock=lambda: self.now_s, background=False)
        self.recommender = Recommender(
            graph, settings, policy=feed_policy(policy), shared=lists,
            ranker=self.ranker or score,
        )  # fmt: skip
        self.refits: list[dict[str, Any]] = []

    def learn(self, at: int) -> dict[str, Any] | None:
        """Retrain the feed ranker on the impressions served so far (a ranker-only refit
        from the graph, published at this platform's ranker path when it beats the current
        one on the latest served feeds); what it measured."""
        from graphrec.learn.ranker import train_from_logs

        if self.ranker is None or self.ranker_path is None:
            return None
        info = train_from_logs(self.graph, self.ranker_path, now=at, current=self.ranker.model)
        self.ranker.reload()
        keep = ("published", "params", "tail_ndcg_at_10", "lists", "useful_lists", "rows",
                "seconds", "why")  # fmt: skip
        out = {k: info[k] for k in keep if k in info}
        self.refits.append(out)
        return out

    def feed(self, user_id: str, n: int, at: int) -> list[dict[str, Any]]:
        self.now_s = at / 1000
        return [i.as_dict() for i in self.recommender.feed(user_id, n, at=at).items]

    def send(self, events: list[dict[str, Any]], at: int) -> None:
        from graphrec.events import ingest

        result = ingest(self.graph, events, settings=self.settings, now=at)
        if result.rejected:
            raise InvalidInput(f"the simulation sent bad events: {result.rejected[:3]}")


class OnlinePlatform(LibraryPlatform):
    """graphrec's full feed with the online trainer beside it (the ``online`` policy).

    Each page served and the events it drew are what the spine appends to the event stream
    (a ``served`` entry, then one entry per event, fields as ``lua/append_events`` writes
    them); as soon as the page's events are stored, the trainer's own
    :class:`~graphrec.spine.trainer.OnlineModel` learns them (``interactions_from``, the
    safety gate, ``OnlineLearner.update``) and writes the vectors that moved to Neo4j, where
    the vector index serves them to the next feed. The stream itself (Redis) is left out:
    the library feed reads the graph, and a page's events are learned before the next page,
    as the trainer does well within its 60 s.
    """

    def __init__(
        self,
        graph: Graph,
        settings: Settings,
        ranker: Path | None = None,
        *,
        shared_ttl_s: float = 0.0,
    ) -> None:
        from graphrec.spine.trainer import OnlineModel, kind_weights, learner_from_graph

        super().__init__(graph, settings, "graphrec", ranker=ranker, shared_ttl_s=shared_ttl_s)
        learner, batch_model = learner_from_graph(graph, settings=settings)
        self.model = OnlineModel(learner, batch_model)
        self.weights = kind_weights(settings)
        self.entries: list[Any] = []
        self.events = self.updates = self.written = 0
        self.seconds = 0.0

    def _entry(self, at: int, fields: dict[str, str]) -> None:
        from graphrec.spine.stream import Entry

        self.entries.append(Entry("sim", f"{at}-{len(self.entries)}", fields))

    def feed(self, user_id: str, n: int, at: int) -> list[dict[str, Any]]:
        items = super().feed(user_id, n, at)
        if items:
            self._entry(
                at, {"k": "served", "u": user_id, "v": ",".join(i["video_id"] for i in items)}
            )
        return items

    def send(self, events: list[dict[str, Any]], at: int) -> None:
        import time

        import torch

        from graphrec.spine.trainer import interactions_from

        super().send(events, at)
        for e in events:
            if e.get("video_id"):
                self._entry(int(e["at"]), {"k": e["kind"], "u": e["user_id"], "v": e["video_id"]})
        started = time.perf_counter()
        batch = interactions_from(self.entries, self.weights)
        self.entries = []
        # One thread: a page's ~20 events are too few to share, and on a busy machine two
        # threads waiting on each other made each update ~10x slower (1.4 s against 0.1 s
        # at load average 12 on 2 cores, measured).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self.model.learn(batch)
            self.model.rehearse()  # a due rehearsal pass, whole: the simulated clock waits
        finally:
            torch.set_num_threads(threads)
        self.model.moved()
        self.written += self.model.write_graph(self.graph, at=at)
        self.seconds += time.perf_counter() - started
        self.events += len(batch)
        self.updates += 1

    def summary(self) -> dict[str, Any]:
        """What the online trainer did over the day, and the safety gate's last verdict."""
        report = self.model.report
        return {
            "updates": self.updates,
            "events": self.events,
            "vectors_written": self.written,
            "refused_updates": self.model.refused,
            "seconds": round(self.seconds, 2),
            "gate": report.as_dict() if report else None,
        }


class HttpPlatform:
    """graphrec through its HTTP API (``graphrec simulate --http URL``): the full policy."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 10.0) -> None:
        import httpx

        headers = {"X-API-Key": api_key} if api_key else {}
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s)

    def feed(self, user_id: str, n: int, at: int) -> list[dict[str, Any]]:
        # The API serves at its own clock: the simulated time only stamps the events.
        r = self.client.get(f"/users/{user_id}/feed", params={"n": n})
        if r.status_code != 200:
            raise GraphrecError(f"GET feed of {user_id}: HTTP {r.status_code} {r.text[:200]}")
        return list(r.json()["items"])

    def send(self, events: list[dict[str, Any]], at: int) -> None:
        r = self.client.post("/events", json=events)
        if r.status_code >= 300:
            raise GraphrecError(f"POST /events: HTTP {r.status_code} {r.text[:200]}")


class BaselinePlatform:
    """A simple baseline (random or most popular), with impressions recorded like graphrec's.

    Events go through graphrec's ingestion too, so counters (which "most popular" reads) move.
    """

    def __init__(self, graph: Graph, settings: Settings, policy: str, seed: int) -> None:
        if policy not in ("random", "popular"):
            raise InvalidInput(f"no baseline called {policy!r}")
        self.graph, self.settings, self.policy, self.seed = graph, settings, policy, seed
        self.calls = 0

    def feed(self, user_id: str, n: int, at: int) -> list[dict[str, Any]]:
        self.calls += 1
        if self.policy == "random":
            rows = self.graph.read(
                "sim/random_feed", user_id=user_id, n=n, salt=f"{self.seed}:{self.calls}"
            )
        else:
            rows = self.graph.read("sim/popular_feed", user_id=user_id, n=n)
        if not rows:
            return []
        granted = self.graph.write(
            "pools/record_impressions",
            user_id=user_id,
            video_ids=[r["video_id"] for r in rows],
            at=at,
            feed_id=None,  # a baseline's feed: no ranker, nothing logged
            logs={},
        )
        ok = {g["video_id"] for g in granted if g["granted"]}
        return [
            {**r, "source": self.policy, "reason": self.policy} for r in rows if r["video_id"] in ok
        ]

    def send(self, events: list[dict[str, Any]], at: int) -> None:
        from graphrec.events import ingest

        ingest(self.graph, events, settings=self.settings, now=at)
