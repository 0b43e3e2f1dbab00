"""The learned feed ranker on a real graph: trained by the pipeline on the graph's own
validation lists, published as a file, used by the feed's rank step, hand weights without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from support.history import interactions

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed import FeedPolicy, Recommender
from graphrec.feed.policy import Mix, mix, scenario
from graphrec.feed.rank import score
from graphrec.feed.sources import Candidate, UserContext
from graphrec.importer.dataset import Dataset, Interactions
from graphrec.importer.generic import with_impressions
from graphrec.importer.load import import_dataset
from graphrec.learn.export import export_graph
from graphrec.learn.pipeline import train_ranker
from graphrec.learn.ranker import (
    GAINS,
    FeedRanker,
    RankerModel,
    TrainingLists,
    VideoTable,
    feature_matrix,
    fit_ranker,
)
from graphrec.learn.similar import export_last_at, fit_item_item, write_similar

T0 = 1_600_000_000_000
NOW = T0 + 10**7  # the feeds are asked for just after the history (as the replay does)
SIMILAR_ONLY = FeedPolicy(
    embedding=False, interest=False, communities=False, following=False, pools=False,
    spillover=False, lookback=False, cold_start=False, catalogue=False, diversity=False,
    exploration_share=0.0,
)  # fmt: skip
LIKED = [f"w{i}" for i in range(6)]  # #bait: liked at once, never returned to
KEPT = [f"q{i}" for i in range(6)]  # #real: completed, what users go on to watch


def bait_and_real() -> Dataset:
    """60 users each like 4 #bait videos, then complete 3 #real ones. The validation part
    (each user's latest engagements) is #real: the tags the user liked point the wrong way
    (the hand weights follow them), the like rate and co-engagement do not. 'probe' liked
    w0..w2 and completed q0."""
    items = LIKED + KEPT
    users = [f"u{i}" for i in range(60)] + ["probe"]
    rng = np.random.default_rng(7)
    rows: list[tuple[int, int, int, str]] = []
    for u in range(61):
        if u == 60:
            picks = [0, 1, 2, 6]
        else:
            picks = rng.permutation(6)[:4].tolist() + (6 + rng.permutation(6)[:3]).tolist()
        for j, i in enumerate(picks):
            at = T0 + u * 100_000 + j * 1_000
            rows.append((u, i, at, "view"))
            rows.append((u, i, at + 1, "like" if i < 6 else "complete"))
    inter = interactions(rows)
    return Dataset(
        name="bait-and-real",
        users=[{"id": u, "name": u, "created_at": None} for u in users],
        creators=[{"id": f"c{i}", "name": f"c{i}", "created_at": None} for i in range(12)],
        items=[
            {
                "id": v,
                "creator": f"c{i}",
                "caption": v,
                "tags": ["bait", "clickbait", "hook"] if i < 6 else ["real"],
                "categories": ["food"],
                "created_at": T0 - 1,
                "duration_ms": None,
            }
            for i, v in enumerate(items)
        ],
        interactions=with_impressions(inter),
    )


def trained(graph: Graph, settings: Settings, path: Path) -> dict[str, object]:
    import_dataset(graph, bait_and_real(), settings=settings)
    export = export_graph(graph, settings=settings)
    types = [t for t, w in settings.learn_weights.items() if w > 0]
    last_at = export_last_at(graph, export, types=types)
    model = fit_item_item(export.matrix, last_at=last_at, neighbours=11, lambdas=(10.0,))
    write_similar(graph, export, model)
    return train_ranker(graph, export, model, last_at, settings=settings, path=path)


def kept_positions(items: list[str]) -> float:
    return float(np.mean([k for k, v in enumerate(items) if v in KEPT]))


def test_ranker_learns_from_the_graph_and_moves_what_users_return_to_up(
    graph: Graph, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "ranker.npz"
    s = settings.model_copy(update={"learn_ranker": path})
    info = trained(graph, s, path)
    assert info["published"] is True and path.is_file(), info
    val = info["validation_ndcg_at_20"]
    assert (
        isinstance(val, dict)
        and max(v for k, v in val.items() if k != "hand_weights") > (val["hand_weights"])
    )
    node = graph.read("state/model_info", id="ranker")
    assert node and node[0]["props"]["published"] is True

    # The rank step both paths use is the published model (Settings.ranker_path()).
    learned = Recommender(graph, s, policy=SIMILAR_ONLY, shared_ttl_s=0)
    assert isinstance(learned.rank, FeedRanker) and learned.rank.model is not None
    hand = Recommender(graph, s, policy=SIMILAR_ONLY, shared_ttl_s=0, ranker=score)
    by_model = [it.video_id for it in learned.feed("probe", 8, at=NOW, record=False).items]
    by_hand = [it.video_id for it in hand.feed("probe", 8, at=NOW, record=False).items]
    assert sorted(by_model) == sorted(by_hand) and len(by_model) == 8  # same candidates
    # The feed's order is the model's: its scores on the candidates' features, best first.
    model = learned.rank.model
    ctx, found = learned.gather("probe", now=NOW, limit=40)
    cands = [c for cs in found.values() for c in cs]
    pred = dict(zip([c.video_id for c in cands],
                    model.predict(feature_matrix(cands, ctx, model.table)).tolist(), strict=True))  # fmt: skip
    assert by_model == sorted(by_model, key=lambda v: (-pred[v], v))
    assert by_model != by_hand


def test_a_feature_tied_to_the_labels_moves_those_videos_up() -> None:
    """Lists where only the like rate tells the held-out engagements: the model puts the
    liked-kind videos first, although the hand weights (the source's order) put them last."""
    rng = np.random.default_rng(0)
    ids = [f"v{i}" for i in range(40)]
    engaged = sp.csr_matrix(np.ones((2, 40)))
    liked = sp.csr_matrix(np.vstack([np.arange(40) % 2 == 0, np.zeros(40)]).astype(float))
    table = VideoTable.build(ids, engaged, liked, engaged * T0)
    xs, grades, groups, cands, ctxs = [], [], [], [], []
    for u in range(60):
        ctx = UserContext(str(u), {}, {}, [], {}, [], False, set(), True, T0)
        picks = rng.permutation(40)[:12].tolist()
        listed = []
        for r, j in enumerate(sorted(picks, key=lambda j: j % 2 == 0)):  # liked kind last
            c = Candidate(ids[j], "c", [], "similar", 1.0 - r / 24, "", sources=["similar"])
            c.ranks["similar"], c.scores["similar"] = c.relevance, c.relevance
            listed.append(c)
        xs.append(feature_matrix(listed, ctx, table))
        grades.append(np.array([GAINS.index(1.0) if int(c.video_id[1:]) % 2 == 0 and
                                rng.random() < 0.8 else 0 for c in listed]))  # fmt: skip
        groups.append(len(listed))
        cands.append(listed)
        ctxs.append(ctx)
    ideal = [float(sum((GAINS[g] / np.log2(k + 2)) for k, g in enumerate(sorted(gr)[::-1])))
             for gr in grades]  # fmt: skip
    lists = TrainingLists(np.concatenate(xs), np.concatenate(grades), groups,
                          list(range(60)), cands, ctxs, ideal)  # fmt: skip
    fit = fit_ranker(lists, table)
    assert fit.published and fit.model is not None, fit.as_dict()
    probe = UserContext("p", {}, {}, [], {}, [], False, set(), True, T0)
    a = Candidate("v1", "c", [], "similar", 1.0, "", sources=["similar"])  # not the liked kind
    b = Candidate("v2", "c", [], "similar", 0.5, "", sources=["similar"])  # the liked kind
    for c in (a, b):
        c.ranks["similar"], c.scores["similar"] = c.relevance, c.relevance
    policy = FeedPolicy()
    m = mix(policy, defaults=Mix({}, 0.0, 0.0, 2, 1.0, scenario(None)), sc=scenario(None))
    score([a, b], probe, policy, m)
    assert a.score > b.score  # the hand weights: the source's order
    fit.model.rank([a, b], probe, policy, m)
    assert b.score > a.score  # the model: the like rate


def test_missing_or_foreign_model_falls_back_to_the_hand_weights(
    graph: Graph, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "ranker.npz"
    s = settings.model_copy(update={"learn_ranker": path})
    assert trained(graph, s, path)["published"] is True
    ranker = FeedRanker(path, check_s=0.0)
    rec = Recommender(graph, s, policy=SIMILAR_ONLY, shared_ttl_s=0, ranker=ranker)
    hand = Recommender(graph, s, policy=SIMILAR_ONLY, shared_ttl_s=0, ranker=score)
    with_model = rec.feed("probe", 8, at=NOW, record=False)
    expected = hand.feed("probe", 8, at=NOW, record=False)
    assert [it.score for it in with_model.items] != [it.score for it in expected.items]

    saved = RankerModel.load(path)
    path.unlink()  # no model: the hand weights, the same feed as the hand-weighted one
    without = rec.feed("probe", 8, at=NOW, record=False)
    assert ranker.model is None
    assert [(it.video_id, it.score) for it in without.items] == [
        (it.video_id, it.score) for it in expected.items
    ]

    # A model trained on another graph (none of these videos in its table): hand weights.
    saved.table.index = {f"other{i}": i for i in range(len(saved.table.index))}
    saved.save(path)
    again = rec.feed("probe", 8, at=NOW, record=False)
    assert ranker.model is not None
    assert [(it.video_id, it.score) for it in again.items] == [
        (it.video_id, it.score) for it in expected.items
    ]


def test_too_few_validation_lists_publish_nothing(
    graph: Graph, settings: Settings, tmp_path: Path
) -> None:
    """Too few validation lists (one user): nothing is published and a stale file goes."""
    path = tmp_path / "ranker.npz"
    path.write_bytes(b"stale")
    s = settings.model_copy(update={"learn_ranker": path})
    ds = bait_and_real()
    keep = ds.interactions.user < 1
    ds.interactions = Interactions(
        kind=ds.interactions.kind[keep], user=ds.interactions.user[keep],
        item=ds.interactions.item[keep], at=ds.interactions.at[keep],
        watch_ms=ds.interactions.watch_ms[keep],
    )  # fmt: skip
    import_dataset(graph, ds, settings=s)
    export = export_graph(graph, settings=s)
    last_at = export_last_at(graph, export, types=["VIEWED", "LIKED", "COMPLETED"])
    model = fit_item_item(export.matrix, last_at=last_at, neighbours=11, lambdas=(10.0,))
    info = train_ranker(graph, export, model, last_at, settings=s, path=path)
    assert info["published"] is False and not path.exists()
    assert graph.read("state/model_info", id="ranker")[0]["props"]["published"] is False
