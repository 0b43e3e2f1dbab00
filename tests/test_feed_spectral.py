"""The spectral source on a real graph: the graph filter's low-rank part written as video
vectors at training time, served by the video_spectral vector index from the sum of the
user's latest engagements, in the filter's own order, moved at once by a new event."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.events import ingest
from graphrec.feed import FeedPolicy, Recommender
from graphrec.importer.load import import_dataset
from graphrec.learn.export import export_graph
from graphrec.learn.filters import GraphFilter
from graphrec.learn.spectral import fit_spectral, spectral_dim, write_spectral
from tests.test_feed_similar import T0, two_tastes

ONLY_SPECTRAL = FeedPolicy(
    similar=False, embedding=False, interest=False, communities=False, following=False,
    pools=False, spillover=False, lookback=False, cold_start=False, catalogue=False,
    diversity=False, exploration_share=0.0,
)  # fmt: skip


def test_vectors_give_the_filters_low_rank_part_exactly() -> None:
    """Lists of the high-pass part plus the vectors' dot product are the whole filter; the
    stored (padded, unit, augmented) keys keep the low-rank part's order."""
    rng = np.random.default_rng(0)
    x = sp.csr_matrix((rng.random((80, 50)) < 0.15).astype(np.float32))
    filt = GraphFilter.fit(x, kind="bspm", rank=6)
    query, key = filt.spectral_vectors()
    assert query.shape == key.shape == (50, 12)
    high = filt.item_item.toarray() - (filt.v * filt.s2).numpy() @ filt.v.numpy().T
    whole = filt.score_rows(x).numpy()
    assert x @ high + (x @ query) @ key.T == pytest.approx(whole, abs=1e-5)
    lists = filt.highpass_rows(49).toarray()
    np.fill_diagonal(high, 0.0)
    assert lists == pytest.approx(np.maximum(high, 0.0), abs=1e-6)
    served = fit_spectral(x, rank=6)
    assert served.query.shape == (50, spectral_dim(6))
    assert np.linalg.norm(served.key, axis=1) == pytest.approx(np.ones(50), abs=1e-5)
    assert served.scores(x) * served.scale == pytest.approx((x @ query) @ key.T, abs=1e-4)
    # A graph too small for the configured rank: fitted at rank 5, zero-padded, same scores.
    few = x[:6]
    padded = fit_spectral(few, rank=8)
    q5, k5 = GraphFilter.fit(few, kind="bspm", rank=5).spectral_vectors()
    assert padded.rank == 5 and padded.query.shape == (50, spectral_dim(8))
    assert padded.scores(few) * padded.scale == pytest.approx((few @ q5) @ k5.T, abs=1e-4)


def test_spectral_source_serves_the_filter_order_and_follows_events(
    graph: Graph, settings: Settings
) -> None:
    import_dataset(graph, two_tastes(), settings=settings)
    export = export_graph(graph, settings=settings)
    vectors = fit_spectral(export.matrix, rank=settings.spectral_rank)
    assert write_spectral(graph, export.video_ids, vectors) == len(export.video_ids) == 12
    # What the filter's low-rank part ranks first for 'new' (who watched c0), computed here.
    u = export.user_index["new"]
    scores = vectors.scores(export.matrix[[u]] > 0)[0]
    order = [export.video_ids[i] for i in np.argsort(-scores) if export.video_ids[i] != "c0"]
    rows = graph.read("serving/source_spectral", user_id="new", realtime=True, history=200,
                      k=12, limit=4)  # fmt: skip
    assert [r["video_id"] for r in rows] == order[:4]
    assert all(r["via"] == "c0" for r in rows)
    rec = Recommender(graph, settings, policy=ONLY_SPECTRAL, shared_ttl_s=0)
    feed = rec.feed("new", 4, record=False)
    assert {it.video_id for it in feed.items} <= {f"c{i}" for i in range(1, 6)}
    assert feed.items and all(it.source == "spectral" and "c0" in it.reason for it in feed.items)
    # Two new events: the user watches music; the summed history now leans to music.
    events = [
        {"event_id": f"e{i}", "user_id": "new", "kind": "view", "video_id": v, "at": T0 + 10**7 + i}
        for i, v in enumerate(("m3", "m4"))
    ]
    assert ingest(graph, events, settings=settings).accepted == 2
    after = [it.video_id for it in rec.feed("new", 4, record=False).items]
    assert after[0].startswith("m") and not {"m3", "m4"} & set(after)


def test_spectral_on_the_spine_matches_the_graph_and_reflects_the_next_event(
    graph: Graph, settings: Settings
) -> None:
    """The same source served from Redis: vectors synced after training, the history kept at
    append time, so an appended event changes the next feed before the graph sees it."""
    from graphrec.spine import Spine
    from graphrec.spine.append import append_events
    from graphrec.spine.feed import StreamRecommender
    from graphrec.spine.state import sync_state

    import_dataset(graph, two_tastes(), settings=settings)
    export = export_graph(graph, settings=settings)
    write_spectral(
        graph, export.video_ids, fit_spectral(export.matrix, rank=settings.spectral_rank)
    )
    on_graph = graph.read("serving/source_spectral", user_id="new", realtime=True, history=200,
                          k=12, limit=4)  # fmt: skip
    assert settings.redis_url is not None
    spine = Spine.connect(settings.redis_url, settings)
    try:
        assert sync_state(graph, spine)["spectral"]["wrote"] == {"videos": 12}
        rec = StreamRecommender(spine, settings, policy=ONLY_SPECTRAL)
        source = next(s for s in rec.active_sources() if s.name == "spectral")
        ctx = rec.context("new", T0 + 10**7)[0]
        rows = source.store_rows(rec, ctx, 4)  # type: ignore[attr-defined]
        assert [r["video_id"] for r in rows] == [r["video_id"] for r in on_graph]
        assert [r["score"] for r in rows] == pytest.approx([r["score"] for r in on_graph])
        before = rec.feed("new", 4, record=False)
        assert before.items and all(
            it.source == "spectral" and it.video_id[0] == "c" for it in before.items
        )
        events = [
            {"event_id": f"s{i}", "user_id": "new", "kind": "like", "video_id": v,
             "at": T0 + 10**7 + i}
            for i, v in enumerate(("m3", "m4"))
        ]  # fmt: skip
        assert append_events(spine, events).accepted == 2
        after = [it.video_id for it in rec.feed("new", 4, record=False).items]
        assert after[0].startswith("m") and not {"m3", "m4"} & set(after)
    finally:
        spine.close()
