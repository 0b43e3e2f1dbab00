"""The served score (graphrec.learn.blend.FilterBlend) on a real graph: the feed's ``blend``
source gives each candidate the library function's value, on the Neo4j path and on the Redis
spine, from the stored lists, spectral vectors, embeddings and validated weights."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed import FeedPolicy, Recommender
from graphrec.importer.load import import_dataset
from graphrec.learn.blend import BlendParts, FilterBlend, choose, unit_rows
from graphrec.learn.export import GraphExport, export_graph
from graphrec.learn.similar import ItemItem, _positive_top, write_similar
from graphrec.learn.spectral import SpectralVectors, fit_filter, write_spectral
from graphrec.learn.writeback import write_embeddings
from tests.test_feed_similar import T0, two_tastes

ONLY_BLEND = FeedPolicy(
    similar=False, spectral=False, embedding=False, interest=False, communities=False,
    following=False, pools=False, spillover=False, lookback=False, cold_start=False,
    catalogue=False, diversity=False, exploration_share=0.0,
)  # fmt: skip


def test_blend_score_is_the_formula_and_round_trips() -> None:
    rng = np.random.default_rng(1)
    keys = rng.normal(size=(30, 5)).astype(np.float32)
    videos = rng.normal(size=(30, 4)).astype(np.float32)
    b = FilterBlend.fit(keys, 2.0, videos, g=1.5, w=0.5)
    lists = rng.random((3, 30)).astype(np.float32)
    q = rng.normal(size=(3, 5)).astype(np.float32)
    u = rng.normal(size=(3, 4)).astype(np.float32)
    spec, emb = q @ keys.T, u @ unit_rows(videos).T
    got = b.score(lists, spec, emb, query=q, user=u)
    sd_s = (q @ keys.T).std(axis=1)
    sd_e = emb.std(axis=1)
    want = lists + 1.5 * 2.0 * spec + (0.5 * 1.5 * 2.0 * sd_s / sd_e)[:, None] * emb
    assert got == pytest.approx(want, rel=1e-4, abs=1e-4)
    # One user as 1-d rows: the same values.
    assert b.score(lists[0], spec[0], emb[0], query=q[0], user=u[0]) == pytest.approx(
        want[0], rel=1e-4, abs=1e-4
    )
    back = FilterBlend.from_props(b.props())
    assert back.score(lists, spec, emb, query=q, user=u) == pytest.approx(got, rel=1e-6)
    # No embedding: the embedding part is left out, whatever w.
    assert b.score(lists, spec, None, query=q) == pytest.approx(lists + 3.0 * spec, rel=1e-5)


def test_choose_picks_the_validated_pair() -> None:
    """Validation items are the lists' favourites: w = 0 and the smallest g win; a blend that
    ranks by the (anti-correlated) spectral part alone would miss them."""
    n = 40
    lists = np.tile(np.linspace(1.0, 0.0, n, dtype=np.float32), (4, 1))
    spectral = -lists * 0.01
    train = sp.csr_matrix(np.zeros((4, n), np.float32))
    held = [np.array([0, 1])] * 4

    def parts(users: np.ndarray) -> BlendParts:
        return BlendParts(lists=lists[users], spectral=spectral[users],
                          query=np.ones((len(users), 1), np.float32))  # fmt: skip

    base = FilterBlend(key_cov=np.ones((1, 1)))
    chosen = choose(base, parts, train, held, gs=(1.0, 500.0), ws=(0.0,))
    assert (chosen.g, chosen.w) == (1.0, 0.0)
    assert chosen.validation["g=1,w=0"]["recall"] == 1.0
    assert chosen.validation["g=500,w=0"]["recall"] == 0.0


def _trained(graph: Graph, settings: Settings) -> tuple[GraphExport, sp.csr_matrix,
                                                        SpectralVectors, np.ndarray, np.ndarray,
                                                        FilterBlend]:  # fmt: skip
    """What training writes for the blend, on the two-tastes graph: the filter's high-pass
    lists as SIMILAR, its vectors, (random unit) embeddings and a blend with g, w > 0."""
    import_dataset(graph, two_tastes(), settings=settings)
    export = export_graph(graph, settings=settings)
    x = sp.csr_matrix((export.matrix > 0).astype(np.float32))
    filt, vectors = fit_filter(x, rank=settings.spectral_rank)
    assert filt is not None
    lists = _positive_top(filt.highpass_rows(5), 5)
    write_similar(graph, export, ItemItem(lists, "highpass"))
    write_spectral(graph, export.video_ids, vectors)
    rng = np.random.default_rng(0)
    d = settings.embedding_dim
    users = unit_rows(rng.normal(size=(len(export.user_ids), d)))
    videos = unit_rows(rng.normal(size=(len(export.video_ids), d)))
    write_embeddings(graph, {
        "user": {u: (users[i], "trained") for i, u in enumerate(export.user_ids)},
        "video": {v: (videos[i], "trained") for i, v in enumerate(export.video_ids)},
        "tag": {}, "creator": {},
    })  # fmt: skip
    blend = FilterBlend.fit(vectors.key, vectors.scale, videos, g=1.5, w=2.0)
    graph.write("learn/write_model_info", id="blend",
                props={**blend.props(), "trained_at": int(time.time() * 1000)})  # fmt: skip
    return export, x, vectors, users, videos, blend


def _expected(export: GraphExport, x: sp.csr_matrix, vectors: SpectralVectors,
              users: np.ndarray, videos: np.ndarray, blend: FilterBlend,
              lists: sp.csr_matrix, user: str) -> dict[str, float]:  # fmt: skip
    """The library function's value of every video for ``user``, computed here."""
    u = export.user_index[user]
    h = x[[u]]
    q = np.asarray(h @ vectors.query, dtype=np.float32)
    parts = BlendParts(
        lists=(h @ lists).toarray(), spectral=q @ vectors.key.T, query=q,
        embedding=users[[u]] @ unit_rows(videos).T, user=users[[u]],
    )  # fmt: skip
    s = parts.score(blend)[0]
    return {v: float(s[i]) for i, v in enumerate(export.video_ids)}


def test_blend_source_scores_are_the_library_function_on_both_paths(
    graph: Graph, settings: Settings
) -> None:
    from graphrec.spine import Spine
    from graphrec.spine.feed import StreamRecommender
    from graphrec.spine.state import sync_state

    export, x, vectors, users, videos, blend = _trained(graph, settings)
    stored = sp.csr_matrix((len(export.video_ids),) * 2, dtype=np.float32).tolil()
    for r in graph.read("state/similar", after="", limit=100):
        for vid, score, _ in r["neighbours"]:
            stored[export.video_index[r["video_id"]], export.video_index[vid]] = score
    want = _expected(export, x, vectors, users, videos, blend, stored.tocsr(), "new")

    # The graph path: candidates with the served score, in its order.
    rec = Recommender(graph, settings, policy=ONLY_BLEND, shared_ttl_s=0)
    _, found = rec.gather("new", now=T0 + 10**7, limit=20)
    got = {c.video_id: c.scores["blend"] for c in found["blend"]}
    assert set(got) == set(export.video_ids) - {"c0"}  # every other video, history excluded
    assert got == pytest.approx({v: want[v] for v in got}, rel=1e-4, abs=1e-5)
    assert [c.video_id for c in found["blend"]] == sorted(got, key=lambda v: (-got[v], v))
    feed = rec.feed("new", 3, record=False)
    assert [it.video_id for it in feed.items] == [c.video_id for c in found["blend"]][:3]
    assert all(it.source == "blend" for it in feed.items)

    # The spine path: the same values from Redis (every video scored there).
    assert settings.redis_url is not None
    spine = Spine.connect(settings.redis_url, settings)
    try:
        sync_state(graph, spine)
        srec = StreamRecommender(spine, settings, policy=ONLY_BLEND)
        source = next(s for s in srec.active_sources() if s.name == "blend")
        ctx = srec.context("new", T0 + 10**7)[0]
        rows = source.store_rows(srec, ctx, 20)  # type: ignore[attr-defined]
        on_spine = {r["video_id"]: r["score"] for r in rows}
        assert set(on_spine) == set(got)
        assert on_spine == pytest.approx(got, rel=1e-4, abs=1e-5)
        items = srec.feed("new", 3, record=False).items
        assert [it.video_id for it in items] == [c.video_id for c in found["blend"]][:3]
    finally:
        spine.close()


def test_blend_source_is_empty_before_training(graph: Graph, settings: Settings) -> None:
    import_dataset(graph, two_tastes(), settings=settings)
    rec = Recommender(graph, settings, policy=ONLY_BLEND, shared_ttl_s=0)
    _, found = rec.gather("new", now=T0 + 10**7, limit=20)
    assert found["blend"] == []


def _stored_lists(graph: Graph, export: GraphExport) -> sp.csr_matrix:
    stored = sp.csr_matrix((len(export.video_ids),) * 2, dtype=np.float32).tolil()
    for r in graph.read("state/similar", after="", limit=100):
        for vid, score, _ in r["neighbours"]:
            stored[export.video_index[r["video_id"]], export.video_index[vid]] = score
    return stored.tocsr()


def test_blend_graph_path_copies_are_read_once_and_follow_every_change(
    graph: Graph, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Neo4j path keeps copies of the videos' vectors (GraphVectors): a second feed reads
    back no spectral vector and no unchanged embedding, and each stored change is served at
    once: embeddings moved online (the same model), the spectral vectors written again, a
    retrained blend. Every score stays the library function of what is stored."""
    import graphrec.feed.recommender as recommender
    from graphrec.feed.sources import BlendSource

    export, x, vectors, users, videos, blend = _trained(graph, settings)
    lists = _stored_lists(graph, export)
    read_back: dict[str, list[dict[str, object]]] = {}
    run_in = recommender.run_in

    def recording(tx: object, name: str, **params: object) -> list[dict[str, object]]:
        rows = run_in(tx, name, **params)  # type: ignore[arg-type]
        read_back[name] = [dict(r) for r in rows]
        return rows

    monkeypatch.setattr(recommender, "run_in", recording)
    rec = Recommender(graph, settings, policy=ONLY_BLEND, shared_ttl_s=0)
    source = next(s for s in rec.active_sources() if isinstance(s, BlendSource))

    def served(vectors: SpectralVectors, videos: np.ndarray, blend: FilterBlend) -> None:
        read_back.clear()
        want = _expected(export, x, vectors, users, videos, blend, lists, "new")
        _, found = rec.gather("new", now=T0 + 10**7, limit=20)
        got = {c.video_id: c.scores["blend"] for c in found["blend"]}
        assert set(got) == set(export.video_ids) - {"c0"}
        assert got == pytest.approx({v: want[v] for v in got}, rel=1e-4, abs=1e-5)

    def fetched(column: str) -> set[str]:
        return {str(r["video_id"]) for r in read_back["serving/blend_candidates"]
                if r[column] is not None}  # fmt: skip

    served(vectors, videos, blend)  # the first feed reads every vector back
    assert fetched("key") == fetched("embedding") == set(export.video_ids) - {"c0"}
    assert "serving/blend_vectors" in read_back  # the history's query vectors
    held = source._copies
    assert held is not None and len(held.spectral) == len(export.video_ids)

    served(vectors, videos, blend)  # the second: none
    assert fetched("key") == fetched("embedding") == set()
    assert "serving/blend_vectors" not in read_back and source._copies is held

    # Embeddings moved online (no retrain, no new version): those three are read again.
    rng = np.random.default_rng(5)
    moved = ["c2", "m1", "m4"]
    videos = videos.copy()
    for v in moved:
        videos[export.video_index[v]] = unit_rows(rng.normal(size=(1, videos.shape[1])))[0]
    graph.write_rows("learn/write_video_embeddings", [
        {"id": v, "embedding": videos[export.video_index[v]].astype(float).tolist(),
         "source": "online"} for v in moved
    ], extra={"at": T0 + 10**7})  # fmt: skip
    served(vectors, videos, blend)
    assert fetched("embedding") == set(moved) and fetched("key") == set()
    assert source._copies is held

    # The spectral vectors written again (another fit): the copies are dropped and reloaded.
    perm = np.roll(np.arange(len(export.video_ids)), 3)
    vectors = SpectralVectors(vectors.query[perm], vectors.key[perm], vectors.scale, vectors.rank)
    write_spectral(graph, export.video_ids, vectors)
    served(vectors, videos, blend)
    assert fetched("key") == set(export.video_ids) - {"c0"} and fetched("embedding") == set()
    assert source._copies is not held

    # A retrained blend (new weights) is served at once, from the copies.
    blend = blend.weighted(3.0, 0.5)
    graph.write("learn/write_model_info", id="blend",
                props={**blend.props(), "trained_at": int(time.time() * 1000) + 1})  # fmt: skip
    served(vectors, videos, blend)
    assert fetched("key") == fetched("embedding") == set()


def test_blend_graph_copies_are_bounded() -> None:
    """Past ``max_videos`` the copies keep nothing more: what is read is used, not kept."""
    from graphrec.feed.sources import GraphVectors

    copies = GraphVectors(version=(1, None))
    copies.max_videos = 2
    for v in ("a", "b", "c"):
        q, k = copies.keep_spectral(v, [1.0, 2.0], [3.0, 4.0])
        assert q is not None and k.tolist() == [3.0, 4.0]
        e = copies.embedding(v, [0.5, 0.5], f"rev-{v}", None)
        assert e.tolist() == [0.5, 0.5]
    assert sorted(copies.spectral) == sorted(copies.embeddings) == ["a", "b"]
    assert copies.rev_of(copies.embeddings.get("a")) == "rev-a"
    assert copies.rev_of(copies.embeddings.get("c")) is None
    # a held embedding is used only while the stored rev is its own
    held = copies.embeddings["a"]
    assert copies.embedding("a", None, "rev-a", held) is held[1]
    assert copies.embedding("a", None, "rev-other", held) is None
    # no version (no spectral model stored): nothing kept
    none = GraphVectors(version=None)
    none.keep_spectral("a", [1.0], [1.0])
    assert none.spectral == {}
