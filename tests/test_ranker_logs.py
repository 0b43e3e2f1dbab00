"""The learned ranker's training log, against real Neo4j and real Redis (world S): a served
feed's impressions keep what the ranker saw on both paths (the Neo4j feed's SAW; on the
spine the queue entry, the "served" stream entry, the graph writer's SAW), the impression
lists are labelled by what the user did after the serve, and a ranker trained on such logs
puts first what the liked impressions share."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.events import ingest
from graphrec.feed import Recommender
from graphrec.feed.policy import FeedPolicy, Mix, mix, scenario
from graphrec.feed.rank import hand_score, score
from graphrec.feed.sources import Candidate, UserContext
from graphrec.learn.ranker import (
    EMPTY_TABLE,
    FEATURES,
    LOG_GAINS,
    LOG_GRID,
    LOGGED,
    ImpressionLists,
    RankerModel,
    _train,
    columns,
    decode_log,
    encode_log,
    encode_logs,
    feature_matrix,
    fit_log_ranker,
    impression_lists,
    log_grade,
    log_vectors,
)
from graphrec.spine import Spine
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.stream import Entry
from graphrec.spine.writer import GraphWriter
from graphrec.world.generate import World

T = 1_900_000_000_000


def saws(graph: Graph, user_id: str) -> list[dict[str, Any]]:
    records = graph.driver.execute_query(
        "MATCH (:User {id: $u})-[s:SAW]->(v:Video) WHERE s.served_id IS NOT NULL "
        "RETURN v.id AS video_id, s.served_id AS served_id, s.x AS x, s.pos AS pos, s.at AS at",
        {"u": user_id},
    ).records
    return [dict(r) for r in records]


def test_a_neo4j_feed_keeps_what_the_ranker_saw_with_each_impression(
    loaded_graph: Graph, settings: Settings, world_s: World
) -> None:
    uid = world_s.users[2]["id"]
    feed = Recommender(loaded_graph, settings, ranker=score).feed(uid, 8, at=T)
    got = {r["video_id"]: r for r in saws(loaded_graph, uid)}
    assert set(got) == {i.video_id for i in feed.items} and len(got) == 8
    feeds = {r["served_id"].split(":")[0] for r in got.values()}
    assert len(feeds) == 1  # one served feed: one list
    hand, cold, explore = (LOGGED.index(n) for n in ("hand_score", "cold_start_slot",
                                                      "exploration_slot"))  # fmt: skip
    assert sorted(r["pos"] for r in got.values()) == list(range(8))
    for pos, item in enumerate(feed.items):
        r = got[item.video_id]
        assert r["served_id"].endswith(":" + item.video_id) and r["at"] == T
        assert r["pos"] == pos
        assert len(r["x"]) == len(LOGGED)
        assert math.isclose(r["x"][hand], item.score, rel_tol=1e-4, abs_tol=1e-4)  # hand weights
        assert r["x"][cold] == float(item.source == "cold_start")
        assert r["x"][explore] == float(item.exploration)
        assert r["x"][LOGGED.index("relevance")] > 0  # every candidate has a source's rank
    # The item clients see carries no features.
    assert "x" not in feed.items[0].as_dict()


def test_the_spine_keeps_the_features_through_queue_stream_and_graph_writer(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    uid = world_s.users[4]["id"]
    rec = StreamRecommender(spine, ranker=score)
    ranked = rec.feed(uid, 10)  # a miss: ranked, granted, recorded, its next pages queued
    assert "gather" in ranked.timings_ms
    entry = spine.r.lindex(spine.keys.user(uid, "q"), 0)
    assert entry is not None and entry.count(b"\t") == 3  # video, bits, features, item
    queued = rec.feed(uid, 10)  # from the queue: one script
    assert set(queued.timings_ms) == {"queue"}
    assert b'"x"' not in queued.to_json()
    stream = spine.r.xrange(spine.keys.stream(spine.keys.part(uid)))
    served = [f for _, f in stream if f[b"k"] == b"served"]
    assert len(served) == 2
    for f in served:
        xs = f[b"x"].decode().split(";")
        assert len(xs) == len(f[b"v"].decode().split(","))
        assert all(len(decode_log(x) or []) == len(LOGGED) for x in xs)
    # An entry appended before the features were logged still applies (no x on its SAW).
    old = world_s.videos[-1]["id"]
    spine.r.xadd(spine.keys.stream(spine.keys.part(uid)),
                 {"k": "served", "u": uid, "at": T, "f": "old", "v": old})  # fmt: skip
    writer = GraphWriter(loaded_graph, spine)
    writer.drain()
    got = {r["video_id"]: r for r in saws(loaded_graph, uid)}
    for feed in (ranked, queued):
        for pos, item in enumerate(feed.items):
            r = got[item.video_id]
            assert len(r["x"]) == len(LOGGED) and r["pos"] == pos
            hand = r["x"][LOGGED.index("hand_score")]
            assert math.isclose(hand, item.score, rel_tol=1e-4, abs_tol=1e-4)
    assert got[old]["x"] is None and got[old]["served_id"] == f"old:{old}"
    # Applying the same entries again changes nothing (idempotent by served_id).
    again = [Entry("s", i.decode(), {k.decode(): x.decode() for k, x in f.items()})
             for i, f in spine.r.xrange(spine.keys.stream(spine.keys.part(uid)))]  # fmt: skip
    assert writer.apply(again)["served"] == 0
    assert len(saws(loaded_graph, uid)) == len(got)


def test_impression_lists_are_labelled_by_what_the_user_did_after_the_serve(
    loaded_graph: Graph, settings: Settings, world_s: World
) -> None:
    uid = world_s.users[6]["id"]
    feed = Recommender(loaded_graph, settings, ranker=score).feed(uid, 6, at=T)
    v = [i.video_id for i in feed.items]

    def ev(kind: str, video: str, at: int) -> dict[str, Any]:
        return {"event_id": f"e-{kind}-{video}-{at}", "user_id": uid, "kind": kind,
                "video_id": video, "at": at}  # fmt: skip

    events = [
        ev("view", v[0], T + 5_000), ev("complete", v[0], T + 5_000),
        ev("like", v[0], T + 5_100),  # liked after the serve: graded highest
        ev("skip", v[1], T + 900),  # skipped: 0
        ev("view", v[2], T + 8_000),  # viewed: a little
        ev("like", v[3], T + 3 * 3_600_000),  # liked hours later: outside the window
        ev("like", v[4], T - 60_000),  # liked before the serve: not an answer to it
    ]  # fmt: skip
    assert not ingest(loaded_graph, events, settings=settings, now=T + 4 * 3_600_000).rejected
    lists = impression_lists(loaded_graph, since=T - 1, until=T + 1)
    assert lists.groups == [6] and lists.users == [uid]
    served = [i.video_id for i in feed.items]
    by_video = dict(zip(served, lists.grade.tolist(), strict=True))  # ordered by position
    assert by_video[v[0]] == log_grade(["VIEWED", "COMPLETED", "LIKED"], False) == 15
    assert by_video[v[1]] == 0 and by_video[v[3]] == 0 and by_video[v[4]] == 0
    assert by_video[v[2]] == 1
    assert LOG_GAINS[by_video[v[0]]] == 1.5
    assert lists.useful == [0]


def test_feeds_served_at_one_moment_come_in_user_order_not_random_feed_id_order(
    loaded_graph: Graph, world_s: World
) -> None:
    """Feed ids are random: ordered by them, the same log reached training in another order
    in every run (a simulation serves several feeds at one moment), and a seeded refit, hence
    the simulated day, differed from run to run. Lists served at one moment come by user."""
    users = sorted(u["id"] for u in world_s.users[10:13])
    videos = [v["id"] for v in world_s.videos[:2]]
    x = [0.0] * len(LOGGED)
    rows = [
        {"served_id": f"{feed}:{v}", "user_id": u, "video_id": v, "at": T + 7, "pos": p, "x": x}
        for u, feed in zip(users, ("fz", "fm", "fa"), strict=True)  # feed ids in reverse
        for p, v in enumerate(videos)
    ]
    rows.sort(key=lambda r: r["video_id"])
    assert loaded_graph.write("serving/apply_served", rows=rows)[0]["applied"] == 6
    lists = impression_lists(loaded_graph, since=T + 6, until=T + 8)
    assert lists.users == users and lists.groups == [2, 2, 2]


def synthetic(n_lists: int, seed: int) -> ImpressionLists:
    """Served pages of 8 whose liked items are the ones with a high ``affinity``; the hand
    score and (loosely) the relevance point the other way."""
    rng = np.random.default_rng(seed)
    rows, grades = [], []
    aff, hand, rel = (LOGGED.index(n) for n in ("affinity", "hand_score", "relevance"))
    for _ in range(n_lists):
        x = rng.random((8, len(LOGGED))).astype(np.float32)
        g = np.where(x[:, aff] > 0.6, 10, np.where(rng.random(8) < 0.3, 1, 0))
        x[:, hand] = 1.0 - x[:, aff] + 0.1 * rng.random(8)
        x[:, rel] = 1.0 - x[:, aff] + 0.5 * rng.random(8)  # the sources' order: loosely wrong
        rows.append(x)
        grades.append(g)
    return ImpressionLists(np.concatenate(rows), np.concatenate(grades).astype(np.int32),
                           [8] * n_lists, [f"u{i % 30}" for i in range(n_lists)],
                           list(range(n_lists)))  # fmt: skip


def test_a_ranker_trained_on_logs_puts_first_what_the_liked_share() -> None:
    fit = fit_log_ranker(synthetic(300, 0), None)
    v = fit.validation
    assert fit.published and fit.model is not None, fit.as_dict()
    assert max(v[f"grid_{k}"] for k in range(len(LOG_GRID))) > v["hand_weights"] + 0.1
    probe = np.full((2, len(LOGGED)), 0.5, dtype=np.float32)
    probe[0, LOGGED.index("affinity")], probe[1, LOGGED.index("affinity")] = 0.9, 0.2
    probe[:, LOGGED.index("hand_score")] = [0.1, 0.9]  # the hand weights disagree
    pred = fit.model.predict(probe)
    assert pred[0] > pred[1]
    imp = fit.model.booster.feature_importance("gain")
    assert fit.model.booster.feature_name()[int(np.argmax(imp))] == "affinity"


def test_too_few_served_feeds_or_a_better_current_model_publish_nothing() -> None:
    few = fit_log_ranker(synthetic(40, 1), None)
    assert not few.published and few.model is None
    # A current model that already ranks as well: the new one must beat it, not tie.
    first = fit_log_ranker(synthetic(300, 0), None)
    assert first.model is not None
    again = fit_log_ranker(synthetic(300, 0), first.model)
    assert again.validation["current"] >= max(
        again.validation[f"grid_{k}"] for k in range(len(LOG_GRID))
    )
    assert not again.published and again.model is None


def test_a_logged_vector_survives_its_string() -> None:
    row = [1.0, math.nan, -0.25, 123456.789, 0.0]
    text = encode_log(row)
    back = decode_log(text)
    assert back is not None and math.isnan(back[1])
    assert [back[i] for i in (0, 2, 4)] == [1.0, -0.25, 0.0]
    assert back[3] == float(np.float32(123456.789))
    assert decode_log("") is None and decode_log(None) is None
    assert not set(";\t,{") & set(text)  # it travels in queue entries and stream fields
    # Logs written before the float32 format (numbers as text, NaN empty) still read.
    old = decode_log("1,,-0.25,1.2346e+05,0")
    assert old is not None and math.isnan(old[1])
    assert [old[i] for i in (0, 2, 3, 4)] == [1.0, -0.25, 123460.0, 0.0]


def test_a_logged_vector_is_the_float32_numbers_the_ranker_saw_to_the_bit() -> None:
    """Every row decodes to exactly its float32 values (signed zeros, infinities, NaN,
    subnormals included), and encode_logs' rows are encode_log's, row by row."""
    rng = np.random.default_rng(5)
    edge = [math.nan, -math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-40, 3.4e38, 123456.789,
            -0.000012345678, 99999.5, 1.0, np.float32(0.1), np.float64(2.5)]  # fmt: skip
    rows = [edge, [math.nan], [math.nan] * 4]
    rows += [list(rng.normal(0, 10.0 ** rng.integers(-6, 7), size=rng.integers(1, 40)))
             for _ in range(300)]  # fmt: skip
    for row in rows:
        want = np.asarray(row, dtype=np.float32)
        back = np.asarray(decode_log(encode_log(row)), dtype=np.float32)
        assert back.tobytes() == want.tobytes()
    x = rng.normal(size=(50, len(LOGGED))).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    assert encode_logs(x) == [encode_log(r) for r in x.tolist()]
    assert encode_logs(np.zeros((0, len(LOGGED)))) == []


def test_a_residual_model_ranks_by_the_hand_score_plus_its_correction(tmp_path: Path) -> None:
    lists = synthetic(200, 3)
    hand = lists.x[:, LOGGED.index("hand_score")]
    params = next(p for p in LOG_GRID if p.get("residual"))
    booster = _train(lists.x[:, columns(FEATURES)], lists.grade, lists.groups, params, 1,
                     FEATURES, LOG_GAINS, hand)  # fmt: skip
    saved = RankerModel(booster, EMPTY_TABLE, {"residual": True}, FEATURES).save(tmp_path / "r.npz")
    model = RankerModel.load(saved)
    assert model.residual and model.features == FEATURES
    ctx = UserContext("u", {"a": 1.0, "b": -0.5}, {}, [], {"c2": 1}, [], False, set(), True, T)
    cands = []
    for i, (tags, src) in enumerate([(["a"], "similar"), (["b"], "embedding"), ([], "cold_start")]):
        c = Candidate(f"v{i}", f"c{i}", tags, src, 1.0 - 0.2 * i, "", quality=0.1 * i,
                      duration_ms=20_000, sources=[src])  # fmt: skip
        c.ranks[src] = c.relevance
        cands.append(c)
    policy = FeedPolicy()
    m = mix(policy, defaults=Mix({}, 0.1, 0.1, 2, 0.4, scenario(None)), sc=scenario(None))
    model.rank(cands, ctx, policy, m)
    x = feature_matrix(cands, ctx, EMPTY_TABLE)
    want = booster.predict(x) + np.array([hand_score(c, ctx, policy, m) for c in cands])
    assert np.allclose([c.score for c in cands], want)
    assert len({round(c.score, 6) for c in cands}) == 3


def test_a_ranked_pages_log_is_the_rows_the_ranker_scored(tmp_path: Path) -> None:
    """log_vectors reuses the rows RankerModel.rank scored (over the whole list): the same
    strings as recomputing them, for any subset of the list served."""
    lists = synthetic(200, 4)
    booster = _train(lists.x[:, columns(FEATURES)], lists.grade, lists.groups, LOG_GRID[0], 1,
                     FEATURES, LOG_GAINS, None)  # fmt: skip
    model = RankerModel(booster, EMPTY_TABLE, {}, FEATURES)
    ctx = UserContext("u", {"a": 1.0, "b": -0.5, "c": 0.3}, {}, ["c1"], {"c2": 2}, [], False,
                      set(), True, T)  # fmt: skip
    cands = []
    for i in range(12):
        src = ("similar", "embedding", "cold_start", "interest")[i % 4]
        c = Candidate(f"v{i}", f"c{i % 3}", [("a", "b", "c")[i % 3]], src, 1.0 - 0.05 * i, "",
                      quality=0.1 * i, duration_ms=5_000 * (i + 1), sources=[src])  # fmt: skip
        c.ranks[src] = c.relevance
        c.scores[src] = 0.3 * (12 - i)  # the best "similar" score is over the whole list
        cands.append(c)
    policy = FeedPolicy()
    m = mix(policy, defaults=Mix({}, 0.1, 0.1, 2, 0.4, scenario(None)), sc=scenario(None))
    model.rank(cands, ctx, policy, m)
    assert all(c.features is not None for c in cands)
    for chosen in (cands[3:7], cands[::5], cands):
        reused = log_vectors(chosen, cands, ctx, EMPTY_TABLE, policy, m)
        fresh = [Candidate(**{**c.__dict__, "features": None, "hand": None}) for c in chosen]
        assert reused == log_vectors(fresh, cands, ctx, EMPTY_TABLE, policy, m)


def test_a_pages_log_reuses_the_hand_score_the_rank_step_computed(tmp_path: Path) -> None:
    """The hand weights (``score``) and a residual model keep each candidate's hand score
    (``Candidate.hand``); log_vectors logs it instead of computing it again: the same
    strings as a log of candidates without it. A stale value would show: the test plants
    one and sees it logged."""
    lists = synthetic(200, 4)
    params = next(p for p in LOG_GRID if p.get("residual"))
    hand_col = lists.x[:, LOGGED.index("hand_score")]
    booster = _train(lists.x[:, columns(FEATURES)], lists.grade, lists.groups, params, 1,
                     FEATURES, LOG_GAINS, hand_col)  # fmt: skip
    residual = RankerModel(booster, EMPTY_TABLE, {"residual": True}, FEATURES)
    ctx = UserContext("u", {"a": 1.0, "b": -0.5}, {}, [], {"c1": 1}, [], False, set(), True, T)
    policy = FeedPolicy()
    m = mix(policy, defaults=Mix({}, 0.1, 0.1, 2, 0.4, scenario(None)), sc=scenario(None))
    for rank in (score, residual.rank):
        cands = [
            Candidate(
                f"v{i}",
                f"c{i % 2}",
                [("a", "b")[i % 2]],
                "interest",
                1.0 - 0.1 * i,
                "",
                quality=0.1 * i,
                duration_ms=9_000,
                sources=["interest"],
            )
            for i in range(6)
        ]
        rank(cands, ctx, policy, m)
        assert [c.hand for c in cands] == [hand_score(c, ctx, policy, m) for c in cands]
        fresh = [Candidate(**{**c.__dict__, "features": None, "hand": None}) for c in cands]
        want = log_vectors(fresh, cands, ctx, EMPTY_TABLE, policy, m)
        assert log_vectors(cands, cands, ctx, EMPTY_TABLE, policy, m) == want
        cands[0].hand = 123.0
        planted = log_vectors(cands, cands, ctx, EMPTY_TABLE, policy, m)[0]
        assert decode_log(planted)[LOGGED.index("hand_score")] == 123.0


def test_the_online_trainer_refits_the_ranker_on_a_sliding_window_of_the_logs(
    loaded_graph: Graph, settings: Settings, world_s: World, spine: Spine, tmp_path: Path
) -> None:
    """The ranker's online learning (issue 16): served feeds whose last item is the one
    liked (what the hand weights rank lowest) are refitted on, on the trainer's schedule,
    from the window of logs it is given, and published for the feeds to load."""
    from graphrec.learn.online import OnlineLearner, VectorSnapshot
    from graphrec.learn.ranker import LogRankerRefresh
    from graphrec.spine.trainer import OnlineTrainer

    rec = Recommender(loaded_graph, settings, ranker=score)
    events = []
    served = 0
    for i, u in enumerate(world_s.users[:100]):
        at = T + i * 60_000
        feed = rec.feed(u["id"], 6, at=at)
        if len(feed.items) < 2:
            continue
        served += 1
        last = feed.items[-1].video_id
        events += [
            {"event_id": f"rf-{u['id']}-{k}", "user_id": u["id"], "kind": k,
             "video_id": last, "at": at + 10_000}
            for k in ("view", "complete", "like")
        ]  # fmt: skip
    assert served >= 85  # a quarter of them, the time-held-out check, is >= MIN_LOG_TAIL
    assert not ingest(loaded_graph, events, settings=settings, now=T + 10 * 3_600_000).rejected
    now = [(T + 5 * 3_600_000) / 1000]  # seconds: the refresh's clock
    path = tmp_path / "ranker.npz"
    refresh = LogRankerRefresh(loaded_graph, path, every_s=600, window_s=6 * 3600,
                               min_lists=20, clock=lambda: now[0])  # fmt: skip
    assert not refresh.due()  # not before every_s
    # In the online trainer's loop: a due refit starts in its own thread.
    empty = np.zeros((0, 8), np.float32)
    learner = OnlineLearner(8)
    snap = VectorSnapshot([], [], empty, empty, np.zeros(0, dtype=bool))
    trainer = OnlineTrainer(spine, learner, snap, ranker=refresh)
    now[0] += 601
    assert refresh.due()
    trainer.step(block=False)
    refresh.join()
    got = trainer.summary()["ranker"]
    assert got["refits"] == 1 and got["last_useful_lists"] == served, got
    assert got["published"] == 1 and path.exists(), refresh.last
    model = RankerModel.load(path)
    assert model.meta["source"] == "impressions"
    # Nothing new since: the model published is the bar, and an equal refit is not published.
    again = refresh.run_once()
    assert not again["published"] and refresh.published == 1
    # A window that ends before the feeds were served holds none of them.
    late = LogRankerRefresh(loaded_graph, tmp_path / "late.npz", every_s=600, window_s=60,
                            min_lists=20, clock=lambda: now[0] + 86_400)  # fmt: skip
    info = late.run_once()
    assert info["useful_lists"] == 0 and not info["published"] and "why" in info


def test_impression_lists_seek_the_serve_time_index(loaded_graph: Graph) -> None:
    """The training log reads its window through ``schema/saw_at`` (an index seek on SAW.at),
    not by scanning every user's SAW: its cost follows the window, not the history."""
    from graphrec import cypher

    text = cypher.load("learn/impression_lists").text
    # The statistics of a graph in use: the SAW.at index was sampled when it was created, on
    # an empty graph, and the planner, costing a seek and a scan of an "empty" index alike,
    # chose either (a scan in about a third of the runs on a fresh server).
    loaded_graph.driver.execute_query("CALL db.prepareForReplanning()")
    plan = loaded_graph.driver.execute_query(
        "EXPLAIN " + text, {"since": T, "until": T + 1, "window": 1}
    ).summary.plan

    def ops(op: dict[str, Any]) -> list[str]:
        here = [f"{op['operatorType']} {op.get('args', {}).get('Details', '')}"]
        return here + [o for c in op.get("children", []) for o in ops(c)]

    found = ops(plan)
    assert any("RelationshipIndexSeekByRange" in o and "SAW(at)" in o for o in found), found
    assert not any(o.startswith("NodeByLabelScan") for o in found), found
