"""The learned feed ranker on a real graph: trained by the pipeline on the graph's own
validation lists, published as a file, used by the feed's rank step, hand weights without it."""

from __future__ import annotations

import math
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
    BASE_FEATURES,
    DAY_MS,
    FEATURES,
    GAINS,
    SOURCES,
    FeedRanker,
    RankerModel,
    TrainingLists,
    VideoTable,
    _slog,
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


def cell_by_cell(cands: list[Candidate], ctx: UserContext, table: VideoTable,
                 among: list[Candidate] | None) -> np.ndarray:  # fmt: skip
    """feature_matrix's definition, one array cell at a time (its code until round 17)."""
    x = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
    strongest = max((w for w in ctx.tag_weights.values() if w > 0), default=0.0)
    pool = cands if among is None else among
    best_sim = max((c.scores.get("similar", 0.0) for c in pool), default=0.0)
    b = len(BASE_FEATURES)
    others = [s for s in SOURCES if s != "similar"]
    for i, c in enumerate(cands):
        x[i, b] = c.relevance
        x[i, b + 1] = len(c.sources) if c.sources else 1
        x[i, b + 2] = c.quality
        x[i, b + 3] = math.log1p(c.duration_ms / 1000) if c.duration_ms else np.nan
        for k, name in enumerate(others):
            x[i, b + 4 + k] = c.ranks.get(name, 0.0)
        sim = c.scores.get("similar", 0.0)
        tw = [ctx.tag_weights.get(t, 0.0) for t in c.tags]
        aff = sum(tw)
        x[i, 0] = c.ranks.get("similar", 0.0)
        x[i, 1] = sim
        x[i, 2] = sim / best_sim if best_sim > 0 else 0.0
        x[i, 3] = aff / (1.0 + abs(aff))
        x[i, 4] = max(tw, default=0.0) / strongest if strongest > 0 else 0.0
        x[i, 5] = ctx.skipped_creators.get(c.creator_id, 0)
        x[i, 6] = 1.0 if c.creator_id in ctx.follows else 0.0
        j = table.index.get(c.video_id)
        if j is None:
            x[i, 7:11] = np.nan
            continue
        x[i, 7] = math.log1p(table.engaged[j])
        x[i, 8] = table.like_rate[j]
        first, last = table.first_at[j], table.last_at[j]
        x[i, 9] = _slog((ctx.now - first) / DAY_MS) if not math.isnan(first) else np.nan
        x[i, 10] = _slog((ctx.now - last) / DAY_MS) if not math.isnan(last) else np.nan
    return x


def test_feature_rows_are_the_cell_by_cell_definition_to_the_bit() -> None:
    """The rows made as numbers and cast once equal the array filled cell by cell: every
    column, unknown videos (NaN counters), unknown times, no duration, no sources, ranks of
    sources a model does not know, users without positive tags or similar scores."""
    rng = np.random.default_rng(3)
    nv = 300
    ids = [f"v{i}" for i in range(nv)]
    times = T0 + rng.random(nv) * 1e10
    table = VideoTable({v: i for i, v in enumerate(ids)}, rng.integers(0, 90, nv).astype(float),
                       rng.random(nv), np.where(rng.random(nv) < 0.2, np.nan, times),
                       np.where(rng.random(nv) < 0.2, np.nan, times + 1e9))  # fmt: skip
    tags = [f"t{i}" for i in range(20)]
    for case in range(12):
        weights = {t: float(rng.normal()) for t in tags[: int(rng.integers(0, 20))]}
        if case % 4 == 0:
            weights = {t: -abs(w) for t, w in weights.items()}  # no positive tag
        ctx = UserContext("u", weights, {}, ["c1", "c4"], {"c2": 3, "c3": -1}, [], False, set(),
                          True, NOW)  # fmt: skip
        cands = []
        for i in range(int(rng.integers(1, 80))):
            srcs = [s for s in (*SOURCES, "elsewhere") if rng.random() < 0.25]
            vid = ids[int(rng.integers(nv))] if rng.random() < 0.8 else f"new{i}"
            c = Candidate(vid, f"c{int(rng.integers(6))}",
                          [str(t) for t in rng.choice(tags, int(rng.integers(0, 4)))],
                          srcs[0] if srcs else "catalogue", float(rng.random()), "",
                          quality=float(rng.random()),
                          duration_ms=int(rng.integers(0, 90_000)) if rng.random() < 0.9 else None,
                          sources=srcs)  # fmt: skip
            for s in srcs:
                c.ranks[s] = float(0.5 + rng.random() / 2)
                if case % 3:  # else no similar score anywhere
                    c.scores[s] = float(rng.random() * 5)
            cands.append(c)
        for among in (None, cands + cands[:3], cands[: len(cands) // 2] or None):
            page = cands[: int(rng.integers(1, len(cands) + 1))]
            got = feature_matrix(page, ctx, table, among=among)
            want = cell_by_cell(page, ctx, table, among)
            assert got.dtype == np.float32 and got.shape == want.shape
            assert got.tobytes() == want.tobytes()
    assert feature_matrix([], ctx, table).shape == (0, len(FEATURES))
