"""The learned ranker's offline validation lists see the served score (the ``blend`` source):
its candidates and rank come from :meth:`FilterBlend.score` on parts fitted on the lists'
training part only, and a ranker is published only when it beats the blend's own order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from support.history import interactions

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed.sources import served_scores
from graphrec.importer.dataset import Dataset
from graphrec.importer.generic import with_impressions
from graphrec.importer.load import import_dataset
from graphrec.learn.baselines import binary
from graphrec.learn.blend import FilterBlend, HistoryBlend, unit_rows
from graphrec.learn.export import export_graph
from graphrec.learn.pipeline import validation_blend
from graphrec.learn.ranker import (
    FEATURES,
    GAINS,
    GRADED,
    GRID,
    HISTORY,
    LOGGED,
    PER_SOURCE,
    ImpressionLists,
    TrainingLists,
    VideoTable,
    feature_matrix,
    fit_log_ranker,
    fit_ranker,
    training_lists,
)
from graphrec.learn.similar import ItemItem, export_last_at, fit_item_item
from graphrec.learn.spectral import fit_filter

T0 = 1_600_000_000_000
TASTES, PER_TASTE, USERS = 3, 25, 90


def three_tastes() -> Dataset:
    """90 users, 75 videos in three tastes (tagged by taste): each user views 12 videos,
    mostly of their taste, and likes some; more than :data:`PER_SOURCE` videos stay unseen
    for everyone, so the blend source's top is a real cut."""
    rng = np.random.default_rng(3)
    n_items = TASTES * PER_TASTE
    rows: list[tuple[int, int, int, str]] = []
    for u in range(USERS):
        taste = u % TASTES
        own = taste * PER_TASTE + rng.permutation(PER_TASTE)[:10]
        other = rng.permutation(n_items)[:4]
        picks = list(dict.fromkeys([*own.tolist(), *other.tolist()]))[:12]
        for j, i in enumerate(picks):
            at = T0 + u * 100_000 + j * 1_000
            rows.append((u, i, at, "view"))
            if rng.random() < 0.5:
                rows.append((u, i, at + 1, "like"))
    inter = interactions(rows)
    return Dataset(
        name="three-tastes",
        users=[{"id": f"u{u}", "name": f"u{u}", "created_at": None} for u in range(USERS)],
        creators=[{"id": f"c{i}", "name": f"c{i}", "created_at": None} for i in range(15)],
        items=[
            {
                "id": f"v{i}",
                "creator": f"c{i % 15}",
                "caption": f"v{i}",
                "tags": [f"taste{i // PER_TASTE}"],
                "categories": ["food"],
                "created_at": T0 - 1,
                "duration_ms": None,
            }
            for i in range(n_items)
        ],
        interactions=with_impressions(inter),
    )


Offline = tuple[TrainingLists, ItemItem, list[str], VideoTable]


@pytest.fixture
def offline(graph: Graph, settings: Settings) -> Offline:
    """The graph's validation lists with the blend source (g = 1.5, no embedding)."""
    import_dataset(graph, three_tastes(), settings=settings)
    export = export_graph(graph, settings=settings)
    types = [t for t, w in settings.learn_weights.items() if w > 0]
    last_at = export_last_at(graph, export, types=types)
    model = fit_item_item(export.matrix, last_at=last_at, neighbours=20, lambdas=(10.0,))
    blend = validation_blend(model, None, FilterBlend(g=1.5, w=0.0), settings=settings)
    assert blend is not None and model.inner_ranks is not None and model.held is not None
    by_type = {t: export_last_at(graph, export, types=[t]) for t, _ in GRADED}
    lists, table = training_lists(
        video_ids=export.video_ids, video_creator=export.video_creator,
        video_tags=export.video_tags, inner_ranks=model.inner_ranks, held=model.held,
        neighbours=model.inner, tau=model.tau or 1e9, at=last_at, by_type=by_type, blend=blend,
    )  # fmt: skip
    return lists, model, list(export.video_ids), table


def test_offline_lists_hold_the_blend_sources_candidates_and_rank(
    offline: Offline, settings: Settings
) -> None:
    lists, model, video_ids, _ = offline
    assert len(lists.groups) >= 30 and lists.blend is not None
    assert model.inner_ranks is not None and model.inner is not None and model.held is not None
    index = {v: j for j, v in enumerate(video_ids)}
    # The served score recomputed here from the library's parts, fitted on the training part
    # of the split only (the inner engagements): lists + g x M x spectral, of the latest
    # HISTORY inner engagements.
    _, vec = fit_filter(binary(model.inner_ranks), rank=settings.spectral_rank,
                        seed=settings.learn_seed)  # fmt: skip
    served = FilterBlend.fit(vec.key, vec.scale, None, g=1.5, w=0.0)
    col = FEATURES.index("rank_blend")
    bounds = np.r_[0, np.cumsum(lists.groups)]
    proposed_held = 0
    for i, u in enumerate(lists.users):
        r = model.inner_ranks.getrow(u)
        history = r.indices[(r.data > 0) & (r.data <= HISTORY)]
        q = vec.query[history].sum(axis=0)
        lsum = np.asarray(model.inner[history].sum(axis=0)).ravel()
        want = served.score(lsum, vec.key @ q, None, query=q).astype(np.float64)
        want[r.indices] = -np.inf  # seen (the inner part): never proposed
        order = np.lexsort((np.arange(len(want)), -want))[:PER_SOURCE].tolist()
        proposed_held += len(set(order) & set(model.held[u].tolist()))

        ids = [c.video_id for c in lists.candidates[i]]
        x = lists.x[bounds[i] : bounds[i + 1]]
        ranked = sorted((c for c in lists.candidates[i] if c.ranks.get("blend", 0) > 0),
                        key=lambda c: -c.ranks["blend"])  # fmt: skip
        # The blend's candidates are exactly its top PER_SOURCE, in its order, with the
        # feed's rank (1 .. 0.5) as the rank_blend feature; the others' rank_blend is 0.
        assert [index[c.video_id] for c in ranked] == order
        for k, c in enumerate(ranked):
            rel = 1.0 - 0.5 * k / (PER_SOURCE - 1)
            assert c.ranks["blend"] == pytest.approx(rel) and "blend" in c.sources
            assert x[ids.index(c.video_id), col] == pytest.approx(rel)
        others = [ids.index(c.video_id) for c in lists.candidates[i] if "blend" not in c.ranks]
        assert all(x[k, col] == 0 for k in others)
        # Every candidate's kept blend score (the blend's own order) is the served score.
        assert lists.blend[i] == pytest.approx([want[index[v]] for v in ids], rel=1e-4,
                                               abs=1e-4)  # fmt: skip
    assert proposed_held > 0  # the blend finds what the users went on to watch


def test_the_history_blend_is_the_feeds_function() -> None:
    """:class:`HistoryBlend` scores a history as the feed's blend source does from stored
    values (``served_scores``, the Neo4j path), embedding part included."""
    rng = np.random.default_rng(5)
    n, d, k = 30, 6, 4
    keys = rng.normal(size=(n, d)).astype(np.float32)
    query = rng.normal(size=(n, d)).astype(np.float32)
    videos = rng.normal(size=(n, k)).astype(np.float32)
    users = rng.normal(size=(3, k)).astype(np.float32)
    lists = sp.random(n, n, density=0.2, random_state=1, format="csr", dtype=np.float32)
    blend = FilterBlend.fit(keys, 2.0, videos, g=1.5, w=2.0)
    hb = HistoryBlend(blend, lists, query, keys, users, unit_rows(videos))
    history = [3, 7, 11]
    got = hb.score(1, history)
    q = query[history].sum(axis=0)
    want = served_scores(blend, np.asarray(lists[history].sum(axis=0)).ravel().tolist(),
                         keys.tolist(), videos.tolist(), q, users[1].tolist())  # fmt: skip
    assert got == pytest.approx(want, rel=1e-4, abs=1e-4)
    assert np.any(hb.blend.embedding_factor(q, users[1]) != 0)  # the embedding counts


def _regraded(lists: TrainingLists, grade_of: object) -> TrainingLists:
    """The same lists with new grades (``grade_of(list index, candidate k)`` -> GAINS index)
    and their ideal DCG@20."""
    disc = 1.0 / np.log2(np.arange(2, 22))
    grades, ideal = [], []
    for i, n in enumerate(lists.groups):
        g = np.array([grade_of(i, k) for k in range(n)], dtype=np.int32)  # type: ignore[operator]
        grades.append(g)
        best = np.sort(np.asarray(GAINS)[g])[::-1][:20]
        ideal.append(float(np.dot(best, disc[: len(best)])))
    return TrainingLists(lists.x, np.concatenate(grades), lists.groups, lists.users,
                         lists.candidates, lists.contexts, ideal, lists.blend)  # fmt: skip


def test_the_gate_refuses_a_ranker_that_does_not_beat_the_blend_order(
    offline: Offline,
) -> None:
    """Grades that follow the blend exactly (its best 5 of each list liked): the blend's own
    order is perfect, so no ranker beats it and none is published, although the grid beats
    the hand weights (what the gate compared with before). Grades that go against the
    blend's order (its lowest-ranked candidates liked): a ranker beats it and is published."""
    lists, _, _, table = offline
    assert lists.blend is not None
    like = GAINS.index(1.0)
    # The blend's best 20 of each list graded by its rank: like, complete, then view.
    steps = (like, GAINS.index(0.4), GAINS.index(0.1))
    place = [{int(j): r for r, j in enumerate(np.argsort(-b, kind="stable")[:20])}
             for b in lists.blend]  # fmt: skip

    def follow(i: int, k: int) -> int:
        r = place[i].get(k)
        return 0 if r is None else steps[0 if r < 4 else 1 if r < 10 else 2]

    # Each user told to like a taste at random (the hand weights follow the tag affinity;
    # the blend does not): the features recomputed for those contexts.
    rng = np.random.default_rng(0)
    contexts = [replace(c, tag_weights={f"taste{rng.integers(3)}": 2.0}) for c in lists.contexts]
    x = np.concatenate([feature_matrix(cs, c, table)
                        for cs, c in zip(lists.candidates, contexts, strict=True)])  # fmt: skip
    following = _regraded(replace(lists, x=x, contexts=contexts), follow)
    fit = fit_ranker(following, table)
    v = fit.validation
    assert v["blend_order"] == 1.0
    assert max(v[f"grid_{k}"] for k in range(len(GRID))) > v["hand_weights"] + 0.1, v
    assert not fit.published and fit.model is None, v

    col = FEATURES.index("rank_blend")
    bounds = np.r_[0, np.cumsum(lists.groups)]

    def against(i: int, k: int) -> int:
        rb = lists.x[bounds[i] + k, col]
        return like if 0 < rb < 0.62 else 0  # the blend's last 9 or so

    fit = fit_ranker(_regraded(lists, against), table)
    v = fit.validation
    best = max(v[f"grid_{k}"] for k in range(len(GRID)))
    assert best > v["blend_order"] and best > v["hand_weights"], v
    assert fit.published and fit.model is not None
    assert "rank_blend" in fit.model.features


def test_the_log_gate_compares_with_the_blend_order_too() -> None:
    """Served pages whose liked items are the ones the blend ranked first (rank_blend), the
    hand score pointing the other way: the blend's own order on the pages is perfect, so no
    log-trained model is published, though it beats the hand weights."""
    rng = np.random.default_rng(2)
    rows, grades = [], []
    rb, hand = LOGGED.index("rank_blend"), LOGGED.index("hand_score")
    for _ in range(300):
        x = rng.random((8, len(LOGGED))).astype(np.float32)
        x[:, rb] = 0.5 + 0.5 * rng.random(8)
        x[:, hand] = 1.0 - x[:, rb]
        rows.append(x)
        grades.append(np.where(x[:, rb] > 0.8, 10, 0))
    lists = ImpressionLists(np.concatenate(rows), np.concatenate(grades).astype(np.int32),
                            [8] * 300, [f"u{i % 30}" for i in range(300)],
                            list(range(300)))  # fmt: skip
    fit = fit_log_ranker(lists, None)
    v = fit.validation
    assert v["blend_order"] == 1.0 and v["hand_weights"] < 0.9, v
    assert max(v[k] for k in v if k.startswith("grid_")) > v["hand_weights"], v
    assert not fit.published and fit.model is None
