"""The item-to-item source on a real graph: SIMILAR written from co-engagement at training
time, served from the user's recent history, changed at once by a new event."""

from __future__ import annotations

from support.history import interactions

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.events import ingest
from graphrec.feed import FeedPolicy, Recommender
from graphrec.importer.dataset import Dataset
from graphrec.importer.generic import with_impressions
from graphrec.importer.load import import_dataset
from graphrec.learn.export import export_graph
from graphrec.learn.similar import fit_item_item, write_similar
from graphrec.world.load import summary

T0 = 1_600_000_000_000
ONLY_SIMILAR = FeedPolicy(
    embedding=False, interest=False, communities=False, following=False, pools=False,
    spillover=False, lookback=False, cold_start=False, catalogue=False, diversity=False,
    exploration_share=0.0,
)  # fmt: skip


def two_tastes() -> Dataset:
    """40 users: half watch cooking videos c0..c5, half watch music videos m0..m5 (each
    misses one); 'new' has watched only c0."""
    items = [f"c{i}" for i in range(6)] + [f"m{i}" for i in range(6)]
    users = [f"u{i}" for i in range(40)] + ["new"]
    rows: list[tuple[int, int, int, str]] = []
    for u in range(40):
        block = range(6) if u < 20 else range(6, 12)
        for j, i in enumerate(block):
            if j != u % 6:
                rows.append((u, i, T0 + u * 1000 + j, "view"))
    rows.append((40, 0, T0 + 999_999, "view"))
    inter = interactions(rows)
    return Dataset(
        name="two-tastes",
        users=[{"id": u, "name": u, "created_at": None} for u in users],
        creators=[{"id": c, "name": c, "created_at": None} for c in ("chef", "dj")],
        items=[
            {
                "id": i,
                "creator": "chef" if i[0] == "c" else "dj",
                "caption": i,
                "tags": [],
                "categories": ["food" if i[0] == "c" else "music"],
                "created_at": T0 - 1,
                "duration_ms": None,
            }
            for i in items
        ],
        interactions=with_impressions(inter),
    )


def test_similar_source_follows_the_latest_history(graph: Graph, settings: Settings) -> None:
    import_dataset(graph, two_tastes(), settings=settings)
    export = export_graph(graph, settings=settings)
    model = fit_item_item(export.matrix, neighbours=5, lambdas=(10.0,))
    written = write_similar(graph, export, model)
    assert written == summary(graph)["relationship"]["SIMILAR"] > 0
    rec = Recommender(graph, settings, policy=ONLY_SIMILAR, shared_ttl_s=0)
    feed = rec.feed("new", 4, record=False)
    ids = [it.video_id for it in feed.items]
    assert ids and all(i.startswith("c") and i != "c0" for i in ids)
    assert feed.items[0].source == "similar" and "c0" in feed.items[0].reason
    # One new event: the user watches a music video; the next feed leads with music.
    res = ingest(
        graph,
        [{"event_id": "e1", "user_id": "new", "kind": "view", "video_id": "m3", "at": T0 + 10**7}],
        settings=settings,
    )
    assert res.accepted == 1
    after = [it.video_id for it in rec.feed("new", 4, record=False).items]
    assert after[0].startswith("m") and "m3" not in after
    # Retraining replaces the neighbours rather than adding to them.
    assert write_similar(graph, export, model) == written
    assert summary(graph)["relationship"]["SIMILAR"] == written


def test_similar_on_the_spine_reflects_the_next_event(graph: Graph, settings: Settings) -> None:
    """The same source served from Redis: neighbours synced after training, the history kept
    at append time, so an appended event changes the next feed before the graph sees it."""
    import redis as redis_lib  # noqa: F401 (the fixture's client type)

    from graphrec.spine import Spine
    from graphrec.spine.append import append_events
    from graphrec.spine.feed import StreamRecommender
    from graphrec.spine.state import sync_state

    import_dataset(graph, two_tastes(), settings=settings)
    export = export_graph(graph, settings=settings)
    write_similar(graph, export, fit_item_item(export.matrix, neighbours=5, lambdas=(10.0,)))
    assert settings.redis_url is not None
    spine = Spine.connect(settings.redis_url, settings)
    try:
        sync_state(graph, spine)
        rec = StreamRecommender(spine, settings, policy=ONLY_SIMILAR)
        before = rec.feed("new", 4, record=False)
        assert before.items and all(
            it.video_id.startswith("c") and it.video_id != "c0" for it in before.items
        )
        assert before.items[0].source == "similar" and "c0" in before.items[0].reason
        event = {"event_id": "s1", "user_id": "new", "kind": "like", "video_id": "m3",
                 "at": T0 + 10**7}  # fmt: skip
        assert append_events(spine, [event]).accepted == 1
        after = [it.video_id for it in rec.feed("new", 4, record=False).items]
        assert after[0].startswith("m") and "m3" not in after
    finally:
        spine.close()
