"""The online learner: vectors move with fresh interactions, cold start, the gate, and the
benchmark's protocol on a tiny MovieLens-shaped folder (its live stream part on a private
Redis the benchmark starts)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from typer.testing import CliRunner

from graphrec.bench.online import bench_online, load_movielens
from graphrec.cli import app
from graphrec.errors import InvalidInput, NotFound
from graphrec.learn.online import (
    Interactions,
    OnlineConfig,
    OnlineLearner,
    PrequentialGate,
    rank_snapshot,
)

DIM = 8


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _world(seed: int = 0, optimizer: str = "sgd") -> tuple[OnlineLearner, np.ndarray, np.ndarray]:
    """Two taste groups: users a0..a19 and videos va0..va29 near axis 0, b* near axis 1;
    each user's history is 5 videos of the own group."""
    rng = np.random.default_rng(seed)
    axis_a, axis_b = np.eye(DIM)[0], np.eye(DIM)[1]
    users = [f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)]
    items = [f"va{i}" for i in range(30)] + [f"vb{i}" for i in range(30)]
    uv = _unit(np.vstack([axis_a + 0.3 * rng.normal(size=(20, DIM)),
                          axis_b + 0.3 * rng.normal(size=(20, DIM))]))  # fmt: skip
    iv = _unit(np.vstack([axis_a + 0.3 * rng.normal(size=(30, DIM)),
                          axis_b + 0.3 * rng.normal(size=(30, DIM))]))  # fmt: skip
    hist = sp.lil_matrix((40, 60), dtype=np.float32)
    for u in range(40):
        base = 0 if u < 20 else 30
        for j in rng.choice(30, size=5, replace=False):
            hist[u, base + j] = 1.0
    tags = {v: ["tag_a"] if v.startswith("va") else ["tag_b"] for v in items}
    learner = OnlineLearner.from_vectors(
        user_ids=users, user_vectors=uv, item_ids=items, item_vectors=iv,
        history=hist.tocsr(), item_tags=tags, config=OnlineConfig(lr=0.05, steps=3, seed=seed, optimizer=optimizer),
    )  # fmt: skip
    return learner, axis_a, axis_b


def _vec(learner: OnlineLearner, item: str) -> np.ndarray:
    snap = learner.snapshot()
    return snap.items[snap.item_index()[item]]


def test_engagements_move_a_video_towards_its_audience() -> None:
    learner, _, _ = _world()
    before = _vec(learner, "va3")
    audience = learner.snapshot().users[20:40].mean(0)  # where group b's taste is
    assert before @ audience < 0  # an "a" video
    # Group b discovers va3: every b user engages with it, several mini-batches in a row.
    for _ in range(10):
        users = [f"b{i}" for i in range(20)]
        learner.update(Interactions(users, ["va3"] * 20, np.ones(20)))
    after = _vec(learner, "va3")
    assert after @ audience > before @ audience + 0.3
    assert after @ audience > 0  # now on the audience's side
    # What the batches touched (users, the video, sampled negatives) is marked for publishing.
    dirty_users, dirty_items = learner.take_dirty()
    assert set(dirty_users) == {f"b{i}" for i in range(20)}
    assert "va3" in dirty_items
    np.testing.assert_allclose(dirty_items["va3"], after, atol=1e-6)
    assert learner.take_dirty() == ({}, {})


def test_rehearsal_pulls_every_user_back_to_its_history() -> None:
    """A rehearsal (one pass over the replay reservoir, then every user folded into its
    history) repairs users whose vectors a burst pushed away, without their events."""
    learner, _, _ = _world()
    rng = np.random.default_rng(1)
    scrambled = _unit(rng.normal(size=(40, DIM))).astype(np.float32)
    learner.users.set_rows(np.arange(40), torch.from_numpy(scrambled))

    def fit() -> float:
        snap = learner.snapshot()
        return float(
            np.mean(
                [snap.users[u] @ snap.items[list(learner.history[u])].mean(0) for u in range(40)]
            )
        )

    before = fit()
    assert learner.rehearse() == learner.config.rehearse_epochs * learner._replay_n > 0
    assert fit() > before + 0.3
    dirty_users, _ = learner.take_dirty()
    assert len(dirty_users) == 40


def test_a_rehearsal_falls_due_every_rehearse_every_events_and_runs_in_slices() -> None:
    """update() never rehearses: a pass falls due, and rehearse_some advances it slice by
    slice (at least one per call), so fresh events never wait for a whole pass."""
    learner, _, _ = _world()
    learner.config.rehearse_every = 50
    learner.config.rehearse_batch = 60  # the reservoir's 260 pairs: 5 slices an epoch
    learner.config.rehearse_epochs = 2
    users = [f"a{i}" for i in range(20)]
    for k in range(3):  # 60 events: a pass falls due at the 50th
        learner.update(Interactions(users, [f"va{k}"] * 20, np.ones(20)))
        assert learner.rehearsal_due == (k == 2)
    assert learner.rehearsals == learner.rehearsal_passes == 0  # nothing ran inside update
    n = learner._replay_n
    slices = []
    while learner.rehearsal_due:
        slices.append(learner.rehearse_some(budget_s=0.0))
    # Replayed pairs per slice, the whole reservoir twice, then the fold-in (no pairs).
    assert slices[:10] == [60, 60, 60, 60, n - 240] * 2 and sum(slices) == 2 * n == 520
    assert learner.rehearsals == learner.rehearsal_passes == 1
    assert learner.rehearse_some() == 0 and not learner.rehearsal_due  # nothing due now


def test_each_rehearsal_epoch_steps_the_whole_reservoir_in_a_fresh_order() -> None:
    """rehearse_epochs epochs per pass: every reservoir pair is stepped once per epoch, each
    epoch in a new shuffled order (not the same batches again)."""
    learner, _, _ = _world()
    learner.config.rehearse_epochs = 3
    learner.config.rehearse_batch = 50
    seen: list[list[tuple[int, int]]] = []
    step = learner._step

    def recording(users: torch.Tensor, items: torch.Tensor, w: torch.Tensor) -> float:
        seen.append(list(zip(users.tolist(), items.tolist(), strict=True)))
        return step(users, items, w)

    learner._step = recording  # type: ignore[method-assign]
    n = learner._replay_n
    pairs_kept = zip(learner._replay_u[:n].tolist(), learner._replay_i[:n].tolist(), strict=True)
    reservoir = sorted(pairs_kept)
    assert learner.rehearse() == 3 * n
    per_epoch = -(-n // 50)
    assert len(seen) == 3 * per_epoch
    epochs = [[p for b in seen[e * per_epoch : (e + 1) * per_epoch] for p in b] for e in range(3)]
    for pairs in epochs:
        assert sorted(pairs) == reservoir
    assert epochs[0] != epochs[1] != epochs[2]


def test_more_rehearsal_epochs_fit_the_reservoir_better() -> None:
    """From the same scrambled start, a pass of two epochs leaves the replayed pairs better
    ranked (their sampled-softmax loss against every video) than a pass of one."""

    def loss_after(epochs: int) -> float:
        learner, _, _ = _world()
        learner.config.rehearse_epochs = epochs
        learner.config.rehearse_batch = 20
        rng = np.random.default_rng(3)
        scrambled = _unit(rng.normal(size=(60, DIM))).astype(np.float32)
        learner.items.set_rows(np.arange(60), torch.from_numpy(scrambled))
        learner.rehearse()
        n = learner._replay_n
        snap = learner.snapshot()
        scores = snap.users[learner._replay_u[:n]] @ snap.items.T / learner.config.temperature
        logits = torch.from_numpy(scores)
        target = torch.from_numpy(learner._replay_i[:n])
        return float(torch.nn.functional.cross_entropy(logits, target))

    one, two = loss_after(1), loss_after(2)
    assert two < one - 0.05


def test_replayed_pairs_per_update_are_capped() -> None:
    """A large batch (a trainer that fell behind) replays at most replay_max past pairs; a
    small one as many as it has fresh positives."""
    learner, _, _ = _world()
    learner.config.replay_max = 30
    users = [f"a{i % 20}" for i in range(100)]
    big = learner.update(Interactions(users, [f"va{i % 30}" for i in range(100)], np.ones(100)))
    assert big.positives == 100 and big.replayed == 30
    small = learner.update(Interactions(users[:10], ["va1"] * 10, np.ones(10)))
    assert small.replayed == 10


def test_new_video_starts_from_its_tags_then_from_its_first_engagements() -> None:
    learner, axis_a, axis_b = _world()
    learner.describe_items(["new_b"], tags={"new_b": ["tag_b"]})
    snap = learner.snapshot()
    tag_b = _unit(snap.items[30:60].mean(0))
    assert snap.items[snap.item_index()["new_b"]] @ tag_b == pytest.approx(1.0, abs=1e-5)
    # An untagged video nobody has seen has no vector and is never recommended.
    learner.describe_items(["blank"])
    snap = learner.snapshot()
    assert not snap.item_ready[snap.item_index()["blank"]]
    # Its first engagements (group a users) give it one, near their taste.
    stats = learner.update(Interactions([f"a{i}" for i in range(10)], ["blank"] * 10, np.ones(10)))
    assert stats.new_items == 0 and stats.positives == 10
    v = _vec(learner, "blank")
    assert v @ axis_a > 0.7
    # A brand-new user starts where the videos they engaged with are.
    stats = learner.update(Interactions(["newcomer"] * 3, ["vb0", "vb1", "vb2"], np.ones(3)))
    assert stats.new_users == 1
    snap = learner.snapshot()
    assert snap.users[snap.user_index()["newcomer"]] @ axis_b > 0.7


def test_a_videos_first_audience_outweighs_the_guess_from_its_tags() -> None:
    learner, axis_a, axis_b = _world()
    learner.describe_items(["mislabelled"], tags={"mislabelled": ["tag_b"]})
    assert _vec(learner, "mislabelled") @ axis_b > 0.7  # the guess: where tag_b's videos are
    # Its first audience is group a: its vector follows them, not the tag (no optimizer
    # steps here, so what moves it is the first-audience rule alone).
    learner.config.steps = 0
    learner.update(Interactions([f"a{i}" for i in range(10)], ["mislabelled"] * 10, np.ones(10)))
    v = _vec(learner, "mislabelled")
    assert v @ axis_a > v @ axis_b
    assert v @ axis_a > 0.5
    # With optimizer steps, sampled negatives are not stepped (default): only the positive
    # video is marked for publishing, not the catalogue it was contrasted with.
    learner.take_dirty()
    learner.config.steps = 3
    learner.update(Interactions([f"a{i}" for i in range(10)], ["va0"] * 10, np.ones(10)))
    _, dirty_items = learner.take_dirty()
    assert set(dirty_items) == {"va0"}


def test_engaged_videos_count_as_shown_for_the_negatives() -> None:
    """With no served feeds logged, engagements alone fill the ring of recently shown videos:
    half of the negatives then come from what is engaged with now; without engaged_as_shown
    the ring stays empty and the negatives are uniform over the catalogue."""
    hot = {f"va{k}" for k in range(5)}
    counts = {}
    for flag in (True, False):
        learner, _, _ = _world()
        learner.config.engaged_as_shown = flag
        users = [f"a{i}" for i in range(20)]
        learner.update(Interactions(users, [f"va{i % 5}" for i in range(20)], np.ones(20)))
        ring = learner._recent[learner._recent >= 0]
        assert (len(ring) == 20) == flag and len(ring) in (0, 20)
        neg = learner._negatives().tolist()
        counts[flag] = sum(learner.items.ids[j] in hot for j in neg)
    # 256 negatives: ~128 + 128 * 5/60 from the hot five with the flag, ~21 without.
    assert counts[True] > 110 and counts[False] < 45


def test_impressions_are_negatives_not_positives() -> None:
    learner, _, _ = _world()
    stats = learner.update(Interactions(["a0", "a1"], ["vb0", "vb1"], np.zeros(2)))
    assert stats.positives == 0
    assert "vb0" not in learner.user_history("a0")
    assert learner.take_dirty() == ({}, {})


def test_gate_publishes_a_sound_model_and_refuses_one_made_worse() -> None:
    learner, _, _ = _world()
    batch_model = learner.snapshot()
    rng = np.random.default_rng(1)

    def fresh() -> Interactions:  # each user engages 3 unseen videos of the own group
        us, vs = [], []
        for user in [f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)]:
            seen = set(learner.user_history(user))
            pool = [f"v{user[0]}{j}" for j in range(30) if f"v{user[0]}{j}" not in seen]
            for v in rng.choice(pool, size=3, replace=False):
                us.append(user)
                vs.append(str(v))
        return Interactions(us, vs, np.ones(len(us)))

    good = PrequentialGate(batch_model, margin=0.02, min_users=40, users_per_batch=40)
    for _ in range(3):
        b = fresh()
        good.observe(learner, b)
        learner.update(b)
    report = good.report()
    assert report.publish, report.reason
    assert report.online.users >= 40

    # Made worse on purpose: the videos' vectors scrambled.
    w = learner.items.emb.weight
    perm = rng.permutation(len(learner.items))
    w.data[: len(learner.items)] = w.data[perm]
    bad = PrequentialGate(batch_model, margin=0.02, min_users=40, users_per_batch=40)
    for _ in range(3):
        b = fresh()
        bad.observe(learner, b)
    report = bad.report()
    assert not report.publish
    assert report.online.ndcg < report.batch.ndcg - 0.02
    assert "below the batch model" in report.reason


def test_gate_gives_no_verdict_without_enough_held_out_users() -> None:
    learner, _, _ = _world()
    g = PrequentialGate(learner.snapshot(), min_users=50)
    g.observe(learner, Interactions(["a0"], ["va29"], np.ones(1)))
    report = g.report()
    assert report.publish and "held-out users so far" in report.reason  # no verdict yet


def test_rank_snapshot_masks_history_and_misses_unknown_ids() -> None:
    learner, _, _ = _world()
    snap = learner.snapshot()
    # a0's nearest videos are "a" videos; masking all of them leaves only "b" ones.
    every_a = [f"va{j}" for j in range(30)]
    r, n = rank_snapshot(snap, ["a0", "ghost"], [["vb0"], ["va0"]], [every_a, []], k=30)
    assert r[0] == 1.0 and 0 < n[0] <= 1.0
    assert r[1] == 0.0  # a user the model does not know: a miss, not an error


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidInput):
        Interactions(["a"], ["v", "w"], np.ones(1))
    with pytest.raises(InvalidInput):
        OnlineConfig(lr=0)
    with pytest.raises(InvalidInput, match="rehearse_epochs"):
        OnlineConfig(rehearse_epochs=0)
    with pytest.raises(InvalidInput):
        OnlineLearner.from_vectors(
            user_ids=["a"],
            user_vectors=np.ones((2, 4)),
            item_ids=["v"],
            item_vectors=np.ones((1, 4)),
        )


def test_tables_grow_and_keep_their_vectors_and_optimizer_state() -> None:
    learner, _, _ = _world(optimizer="adam")
    learner.update(Interactions(["a0", "b0"], ["va0", "vb0"], np.ones(2)))  # Adam state exists
    before = learner.snapshot()
    learner.describe_items([f"x{i}" for i in range(3000)])  # untagged: no vectors, many rows
    learner.update(Interactions([f"n{i}" for i in range(3000)], ["vb0"] * 3000, np.zeros(3000)))
    after = learner.snapshot()
    assert len(after.item_ids) == 3060 and len(after.user_ids) == 3040
    np.testing.assert_array_equal(after.items[:60], before.items)
    np.testing.assert_array_equal(after.users[:40], before.users)
    assert after.item_ready[:60].all() and not after.item_ready[60:].any()
    state = learner.items.opt.state[learner.items.weight]
    assert state["exp_avg"].shape[0] >= 3060  # the moments grew with the table
    learner.update(Interactions(["a1"], ["x5"], np.ones(1)))  # still learns after growing
    assert learner.snapshot().item_ready[learner.items.index["x5"]]


def _movielens(folder: Path, seed: int = 0) -> Path:
    """A MovieLens-shaped folder: 60 users in 2 taste groups, 40 movies, ratings over time."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["userId,movieId,rating,timestamp"]
    t = 1_000_000
    for _ in range(3):  # users come back in three sessions
        for u in rng.permutation(60):
            base = 0 if u < 30 else 20
            for m in rng.choice(20, size=4, replace=False):
                t += int(rng.integers(1, 50))
                lines.append(f"{u + 1},{base + m + 1},4.0,{t}")
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    movies = ["movieId,title,genres"] + [
        f'{m + 1},"Film {m}, the",{"Drama" if m < 20 else "Comedy|Romance"}' for m in range(40)
    ]
    (folder / "movies.csv").write_text("\n".join(movies) + "\n")
    return folder


def test_movielens_loader_sorts_by_time_and_reads_genres(tmp_path: Path) -> None:
    r = load_movielens(_movielens(tmp_path / "ml"))
    assert (np.diff(r.times) >= 0).all()
    assert r.genres["m21"] == ["Comedy", "Romance"] and r.genres["m1"] == ["Drama"]
    with pytest.raises(NotFound):
        load_movielens(tmp_path / "nowhere")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,2,3,x\n")
    with pytest.raises(InvalidInput, match="timestamp"):
        load_movielens(tmp_path / "bad")


def test_bench_online_cli_writes_the_figures(tmp_path: Path) -> None:
    data = _movielens(tmp_path / "ml")
    out = tmp_path / "online.json"
    res = CliRunner().invoke(
        app,
        ["bench", "online", "--data", str(data), "--periods", "3", "--batch-events", "50",
         "--epochs", "3", "--rate", "2000", "--stream-seconds", "2", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    figures = json.loads(out.read_text())
    for key in ("online_recall_at_20", "batch_recall_at_20", "online_ndcg_at_20",
                "batch_ndcg_at_20", "event_to_model_p99_s", "events_per_s",
                "online_cpu_s", "batch_cpu_s"):  # fmt: skip
        assert isinstance(figures[key], float), key
    assert [p["period"] for p in figures["periods"]] == [1, 2]
    assert figures["evaluated_users"] > 0 and figures["events_per_s"] > 0
    # The live stream (a private Redis, a producer process, the trainer): nothing lost, and
    # every entry's freshness measured from its append to its publication.
    live = figures["stream"]
    assert live["appended"] == live["learned"] == 4_000
    assert 0 < live["event_to_model_p50_s"] <= figures["event_to_model_p99_s"]
    assert live["offered_events_per_s"] > 0
    assert 0 <= figures["online_recall_at_20"] <= 1
    bad = CliRunner().invoke(app, ["bench", "online", "--data", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "missing" in bad.output


def test_bench_online_refuses_too_few_periods(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        bench_online(_movielens(tmp_path / "ml"), periods=1)


# --- the per-event fast paths (issue #16) do what the plain code did -----------------------


def _random_learner(seed: int, **cfg: object) -> OnlineLearner:
    rng = np.random.default_rng(seed)
    return OnlineLearner.from_vectors(
        user_ids=[f"u{i}" for i in range(50)], user_vectors=rng.normal(size=(50, DIM)),
        item_ids=[f"v{i}" for i in range(300)], item_vectors=rng.normal(size=(300, DIM)),
        config=OnlineConfig(seed=seed, **cfg),  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize("move_negatives", [False, True])
def test_the_written_out_sgd_step_is_autograds_step(move_negatives: bool) -> None:
    import copy

    rng = np.random.default_rng(3)
    mine = _random_learner(3, move_negatives=move_negatives, lr=0.05)
    ref = copy.deepcopy(mine)
    for _ in range(3):  # repeated users and videos, a video both positive and negative
        users = torch.from_numpy(rng.integers(0, 50, 400))
        items = torch.from_numpy(rng.integers(0, 300, 400))
        w = torch.from_numpy((rng.random(400) * 2).astype(np.float32))
        neg = torch.from_numpy(np.concatenate([items[:5].numpy(), rng.integers(0, 300, 59)]))
        got = mine._sgd_step(users, items, w, neg)
        want = ref._autograd_step(users, items, w, neg)
        assert got == pytest.approx(want, rel=1e-5)
        # float32 sums taken in another order (autograd's kernels, the host's SIMD width)
        # differ by a few ulps of the weights' size: up to 2.6e-6 at |w| ~ 2.5 on one host,
        # where 1e-6 failed; a wrong step differs by ~lr * gradient (~1e-2)
        for a, b in ((mine.users, ref.users), (mine.items, ref.items)):
            assert torch.allclose(a.weight, b.weight, rtol=1e-5, atol=1e-5)
    moved = (mine.items.weight - _random_learner(3).items.weight).abs().sum(1) > 0
    assert moved.any()  # the step moved something
    if move_negatives:
        assert bool(moved[neg].all())


def test_history_kept_a_key_at_a_time_is_what_pair_by_pair_insertion_keeps() -> None:
    def by_pairs(table: dict[int, dict[int, None]], keys: list[int], vals: list[int], cap: int):
        for a, b in zip(keys, vals, strict=True):
            h = table.setdefault(a, {})
            h.pop(b, None)
            h[b] = None
            if len(h) > cap:
                del h[next(iter(h))]

    rng = np.random.default_rng(5)
    learner = OnlineLearner(DIM, OnlineConfig(history=6, audience=3))
    hist: dict[int, dict[int, None]] = {}
    aud: dict[int, dict[int, None]] = {}
    for size in (1, 2, 40, 7, 300, 1, 0, 25):  # repeats within and across batches
        u = rng.integers(0, 9, size).astype(np.int64)
        i = rng.integers(0, 14, size).astype(np.int64)
        learner._remember(u, i)
        by_pairs(hist, u.tolist(), i.tolist(), 6)
        by_pairs(aud, i.tolist(), u.tolist(), 3)
        # same members in the same order (oldest first) for every key
        assert {k: list(v) for k, v in learner.history.items()} == {
            k: list(v) for k, v in hist.items()
        }
        assert {k: list(v) for k, v in learner.audience.items()} == {
            k: list(v) for k, v in aud.items()
        }


def test_means_by_one_sparse_product_are_the_gathered_means() -> None:
    learner = _random_learner(7)
    rng = np.random.default_rng(7)
    vectors = learner.items.weight.detach()
    few_t, few_s = np.array([0, 0, 2], dtype=np.int64), np.array([4, 4, 9], dtype=np.int64)
    many_t = np.sort(rng.integers(0, 20, 1_000)).astype(np.int64)  # more pairs than rows
    many_s = rng.integers(0, 300, 1_000).astype(np.int64)
    for t, s in ((few_t, few_s), (many_t, many_s)):
        got, has = learner._mean_of(20, t, s, vectors)
        unit = torch.nn.functional.normalize(vectors, dim=-1).numpy()
        for row in range(20):
            src = s[t == row]
            assert has[row] == (len(src) > 0)
            want = unit[src].mean(0) if len(src) else np.zeros(DIM)
            np.testing.assert_allclose(got[row].numpy(), want, atol=1e-5)


def test_the_gate_on_the_learners_rows_scores_what_snapshots_score() -> None:
    learner, _, _ = _world()
    batch_model = learner.snapshot()
    gate = PrequentialGate(batch_model, min_users=1, users_per_batch=10, seed=2)
    ref_rng = np.random.default_rng(2)  # the gate's sampling, replayed by the reference
    rng = np.random.default_rng(9)
    users = [f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)] + ["new-user"]
    items = [f"va{i}" for i in range(30)] + [f"vb{i}" for i in range(30)] + ["new-video"]
    for _ in range(4):
        us = [users[j] for j in rng.integers(0, len(users), 120)]
        vs = [items[j] for j in rng.integers(0, len(items), 120)]
        w = rng.choice([3.0, 0.0, -1.0], size=120)
        batch = Interactions(us, vs, w)
        # the reference: the plain code, on a snapshot and string ids
        truth: dict[str, set[str]] = {}
        for j in np.flatnonzero(w > 0).tolist():
            truth.setdefault(us[j], set()).add(vs[j])
        cand = [u for u in truth if u in batch_model.user_index() and u in learner.users.index]
        if len(cand) > 10:
            cand = ref_rng.choice(cand, size=10, replace=False).tolist()
        hist = {u: set(learner.user_history(u)) for u in cand}
        t = {u: sorted(truth[u] - hist[u]) for u in cand}
        kept = [u for u in cand if t[u]]
        snap = learner.snapshot()
        r_o, n_o = rank_snapshot(snap, kept, [t[u] for u in kept], [hist[u] for u in kept])
        r_b, n_b = rank_snapshot(batch_model, kept, [t[u] for u in kept], [hist[u] for u in kept])
        before = len(gate.scores)
        assert gate.observe(learner, batch) == len(kept)
        want = list(zip(r_o.tolist(), n_o.tolist(), r_b.tolist(), n_b.tolist(), strict=True))
        np.testing.assert_allclose(gate.scores[before:], want, atol=1e-9)
        learner.update(batch)
    assert len(gate.scores) > 10
