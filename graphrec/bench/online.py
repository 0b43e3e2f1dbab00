"""The online-training benchmark: MovieLens replayed in time order, online vs batch-retrained.

Protocol (``graphrec bench online``; figures in ``out/bench/online.json``):

- **Data**: ``ratings.csv`` of a MovieLens folder (``ml-latest-small``); every rating is an
  interaction (implicit feedback: the user chose to watch and rate it), ``movies.csv`` genres
  are the videos' tags. Events are sorted by timestamp (ties keep file order).
- **Periods**: MovieLens days are sparse (a user rates dozens of films in one sitting, then
  often never returns), so a period is one of ``periods`` equal-count chunks of the time-ordered
  stream (10 by default: about 10,000 ratings each).
- **Models**: both start from one LightGCN batch model trained on period 0. The *batch* model
  is then retrained from scratch on everything up to the end of each period (the nightly
  reset); the *online* model is never retrained: it learns each period's events in time order,
  in mini-batches of ``batch_events``, with :class:`~graphrec.learn.online.OnlineLearner`.
- **Measure**: before each period ``t >= 1`` is learned, both models rank every movie for each
  user who has history before ``t`` and new movies in ``t``; history is masked, the truth is
  the user's movies in ``t`` (Recall@20 / NDCG@20, LightGCN-paper definitions). Figures are
  averaged over all evaluated (user, period) pairs; per-period rows are kept too.
- **Cost**: process CPU seconds (all threads) of the batch retrains and of the online updates.
- **Freshness** (a live stream): a private Redis, a producer process appending likes (the
  ratings after period 0, cycled) to the event stream at ``rate`` entries/s for
  ``stream_seconds``, and the :class:`~graphrec.spine.trainer.OnlineTrainer` (the
  ``online-trainer`` group, started from the period-0 model) consuming it as in production:
  read, gate, learn, publish to Redis, acknowledge, and rehearse only while it keeps up.
  ``event_to_model_p99_s`` is the 99th percentile over every entry of (vectors published -
  entry appended, both clocks of this machine); ``events_per_s`` is the entries learned over
  the wall seconds from the first append to the last entry learned (a backlog left when the
  producer stops lowers it; even a trainer that keeps up stays a little under the offered
  rate, by the last round's delay: 15 s of arrivals learned within 0.5 s of the last is
  19,350/s). Whether the trainer **kept up** is said plainly: ``learned_per_s_while_producing``
  (entries learned by the time the producer appended its last one, over its seconds),
  ``learned_per_s_steady`` (per second between the first round after a fifth of the
  producer's run and the last before it stopped: a fixed delay does not lower it, a
  growing backlog does), ``backlog_when_producer_stopped`` (appended then, not yet learned), ``backlog_at_end``
  (0: all learned), ``kept_up`` (under one second of arrivals waiting when the producer
  stopped, and nothing left at the end), the trainer's CPU-seconds per 1,000 entries (all,
  and without the rehearsal, which only runs while it keeps up), and
  the load average at the start and end of the stream (the machine is shared).
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.errors import InvalidInput, NotFound
from graphrec.learn.online import (
    Interactions,
    OnlineConfig,
    OnlineLearner,
    VectorSnapshot,
    rank_snapshot,
)
from graphrec.learn.train import TrainConfig, train_model
from graphrec.spine.trainer import torch_threads

if TYPE_CHECKING:
    from graphrec.config import Settings


@dataclass
class Ratings:
    """A time-ordered MovieLens stream: string ids, times (s), and each movie's genres."""

    users: np.ndarray  # str
    items: np.ndarray  # str
    times: np.ndarray  # int64 seconds
    genres: dict[str, list[str]]


def load_movielens(folder: Path) -> Ratings:
    """``ratings.csv`` sorted by time (stable) and ``movies.csv`` genres (when present)."""
    path = folder / "ratings.csv"
    if not path.is_file():
        raise NotFound(f"{path} is missing: expected a MovieLens folder (ratings.csv)")
    users, items, times = [], [], []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"userId", "movieId", "timestamp"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise InvalidInput(f"{path}: expected the columns {sorted(need)}")
        for line, row in enumerate(reader, 2):
            try:
                times.append(int(row["timestamp"]))
            except (TypeError, ValueError):
                raise InvalidInput(f"{path}:{line}: timestamp is not an integer") from None
            users.append("u" + row["userId"])
            items.append("m" + row["movieId"])
    if not users:
        raise InvalidInput(f"{path}: no ratings")
    order = np.argsort(np.asarray(times), kind="stable")
    genres: dict[str, list[str]] = {}
    movies = folder / "movies.csv"
    if movies.is_file():
        with movies.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                g = [x for x in (row.get("genres") or "").split("|") if x and x[0] != "("]
                genres["m" + row["movieId"]] = g
    return Ratings(
        users=np.asarray(users, dtype=object)[order],
        items=np.asarray(items, dtype=object)[order],
        times=np.asarray(times, dtype=np.int64)[order],
        genres=genres,
    )


def _matrix(users: np.ndarray, items: np.ndarray) -> tuple[sp.csr_matrix, list[str], list[str]]:
    uids = sorted(set(users.tolist()))
    iids = sorted(set(items.tolist()))
    ui = {u: i for i, u in enumerate(uids)}
    ii = {v: i for i, v in enumerate(iids)}
    r = np.fromiter((ui[u] for u in users), dtype=np.int64, count=len(users))
    c = np.fromiter((ii[v] for v in items), dtype=np.int64, count=len(items))
    m = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(uids), len(iids)))
    m.data[:] = 1.0  # repeated ratings of one movie count once
    return m, uids, iids


def _batch_snapshot(users: np.ndarray, items: np.ndarray, cfg: TrainConfig) -> VectorSnapshot:
    """Train LightGCN from scratch on these interactions; its output vectors by id."""
    m, uids, iids = _matrix(users, items)
    result = train_model(m, [], cfg)
    with torch.no_grad():
        ut, it = result.model.get_embedding(result.adj)
    ue = torch.nn.functional.normalize(ut, dim=-1).cpu().numpy()
    ie = torch.nn.functional.normalize(it, dim=-1).cpu().numpy()
    return VectorSnapshot(
        user_ids=uids, item_ids=iids, users=ue, items=ie,
        item_ready=np.ones(len(iids), dtype=bool),
    )  # fmt: skip


def _learner(
    first: VectorSnapshot, ratings: Ratings, upto: int, cfg: OnlineConfig
) -> OnlineLearner:
    """An online learner started from ``first`` with the first ``upto`` ratings as history."""
    m0, _, _ = _matrix(ratings.users[:upto], ratings.items[:upto])
    return OnlineLearner.from_vectors(
        user_ids=first.user_ids, user_vectors=first.users,
        item_ids=first.item_ids, item_vectors=first.items, history=m0,
        item_tags={v: ratings.genres.get(v, []) for v in first.item_ids}, config=cfg,
    )  # fmt: skip


def _learn_period(
    learner: OnlineLearner,
    ratings: Ratings,
    lo: int,
    hi: int,
    batch_events: int,
    described: set[str],
) -> int:
    """Ratings ``lo:hi`` learned in time order, mini-batch by mini-batch; a due rehearsal pass
    runs whole between mini-batches (MovieLens's real arrivals leave a trainer idle nearly
    all the time; the live stream shows what 20,000/s leaves). Returns the events learned."""
    for s in range(lo, hi, batch_events):
        e = min(hi, s + batch_events)
        bi = ratings.items[s:e]
        new = [v for v in dict.fromkeys(bi.tolist()) if v not in described]
        if new:  # the upload: tags known before any engagement
            learner.describe_items(new, tags={v: ratings.genres.get(v, []) for v in new})
            described.update(new)
        learner.update(Interactions(ratings.users[s:e].tolist(), bi.tolist(), np.ones(e - s)))
        learner.rehearse_some()
    return hi - lo


def stream_freshness(
    learner: OnlineLearner,
    batch_model: VectorSnapshot,
    users: list[str],
    items: list[str],
    *,
    rate: float,
    seconds: float,
    settings: Settings | None = None,
    drain_s: float = 120.0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The live part of the protocol: a private Redis, :func:`~graphrec.bench.produce.produce`
    in a child process appending ``(users[j], items[j])`` at ``rate``/s for ``seconds``, and an
    :class:`~graphrec.spine.trainer.OnlineTrainer` in this process learning them until every
    appended entry is learned (or ``drain_s`` after the producer stopped)."""
    import multiprocessing as mp
    import tempfile

    from graphrec.bench.produce import produce_into
    from graphrec.config import get_settings
    from graphrec.services.redis import provide_redis
    from graphrec.spine.store import Spine
    from graphrec.spine.trainer import DelayWindow, OnlineTrainer

    base = settings or get_settings()
    s = base.model_copy(update={"redis_url": None, "redis_backend": "local"})
    with tempfile.TemporaryDirectory(prefix="graphrec-online-") as tmp:
        handle = provide_redis(s, state_dir=Path(tmp) / "redis", ephemeral_port=True)
        spine = Spine.connect(handle.url, s)
        try:
            trainer = OnlineTrainer(spine, learner, batch_model, graph=None)
            trainer.stats.delays_s = DelayWindow(None)  # every entry's, not the last 200,000
            ctx = mp.get_context("fork")  # the child imports nothing new (no torch use)
            queue = ctx.Queue()
            kwargs = {
                "url": handle.url, "partitions": s.stream_partitions, "users": users,
                "items": items, "rate": rate, "seconds": seconds, "maxlen": s.stream_maxlen,
            }  # fmt: skip
            proc = ctx.Process(target=produce_into, args=(queue, kwargs), daemon=True)
            load_start = os.getloadavg()
            c0, w0 = time.process_time(), time.perf_counter()
            proc.start()
            produced: dict[str, Any] | None = None
            backlog = 0
            learned_at_stop = 0
            done_at = stop_at = 0.0
            rounds: list[tuple[float, int]] = []  # (epoch s at the end of a round, learned)
            while True:
                trainer.step(block=True)
                rounds.append((time.time(), trainer.stats.entries))
                if produced is None and not queue.empty():
                    produced = queue.get()
                    if "error" in produced:
                        raise InvalidInput(f"the event producer failed: {produced['error']}")
                    stop_at = time.perf_counter()
                    # Learned by the time the producer's last entry was appended (rounds
                    # that ended after it do not count), on this machine's clock.
                    learned_at_stop = max(
                        (e for t_, e in rounds if t_ <= produced["ended_at"]), default=0
                    )
                    backlog = produced["appended"] - learned_at_stop
                if produced is not None:
                    if trainer.stats.entries >= produced["appended"]:
                        done_at = time.perf_counter()
                        break
                    if time.perf_counter() - stop_at > drain_s:
                        break
                elif not proc.is_alive() and queue.empty():
                    raise InvalidInput("the event producer died without a result")
            proc.join(10)
            cpu = time.process_time() - c0
            load_end = os.getloadavg()
            wall = (done_at or time.perf_counter()) - w0
            summary = trainer.summary()
        finally:
            spine.close()
            handle.close()
    st = trainer.stats
    d = st.delays_s.values() if len(st.delays_s) else np.zeros(1)
    offered = produced["appended"] / produced["seconds"]
    while_producing = learned_at_stop / produced["seconds"]
    # The learning rate in steady state: from the first round that ended after a fifth of the
    # producer's run to the last that ended before it stopped (a fixed delay does not lower
    # it, a growing backlog does).
    start_at = produced["ended_at"] - produced["seconds"]
    steady = [(t_, e) for t_, e in rounds if start_at + produced["seconds"] / 5 <= t_]
    steady = [(t_, e) for t_, e in steady if t_ <= produced["ended_at"]]
    steady_rate = (
        (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0])
        if len(steady) >= 2 and steady[-1][0] > steady[0][0]
        else None
    )
    learn_cpu = cpu - st.rehearsal_cpu_s
    left = produced["appended"] - st.entries
    out = {
        "offered_events_per_s": round(offered, 1),
        "appended": produced["appended"],
        "learned": st.entries,
        "events_per_s": round(st.entries / wall, 1),
        "learned_per_s_while_producing": round(while_producing, 1),
        "learned_per_s_steady": round(steady_rate, 1) if steady_rate is not None else None,
        # Kept up: when the producer stopped, under one second of arrivals was waiting, and
        # everything appended was learned in the end.
        "kept_up": bool(backlog <= offered and left == 0),
        "backlog_at_end": int(left),
        "event_to_model_p50_s": round(float(np.percentile(d, 50)), 4),
        "event_to_model_p99_s": round(float(np.percentile(d, 99)), 4),
        "event_to_model_max_s": round(float(d.max()), 4),
        "backlog_when_producer_stopped": int(backlog),
        "drain_s_after_producer_stopped": round(done_at - stop_at, 2) if done_at else None,
        "producer_max_late_s": round(produced["max_late_s"], 3),
        "trainer_cpu_s": round(cpu, 2),
        "events_per_trainer_cpu_s": round(st.entries / max(1e-9, cpu), 1),
        "trainer_cpu_s_per_1000_events": round(1000 * cpu / max(1, st.entries), 4),
        "rehearsal_cpu_s": round(st.rehearsal_cpu_s, 2),
        "learning_cpu_s_per_1000_events": round(1000 * learn_cpu / max(1, st.entries), 4),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
        "trainer_wall_s": round(wall, 2),
        "updates": st.updates,
        "events_per_update_s": summary["events_per_update_s"],
        "update_share_of_wall": round(st.update_seconds / wall, 3),
        "rehearsal_share_of_wall": round(st.rehearsal_seconds / wall, 3),
        "rehearsal_passes": learner.rehearsal_passes,
        "rehearsal_pairs": st.rehearsal_pairs,
        "gate": summary["gate"],
    }
    log(" ".join(f"{k_}={v_}" for k_, v_ in out.items() if k_ != "gate"))
    return out


def bench_online(
    data: Path,
    *,
    periods: int = 10,
    batch_events: int = 1_000,
    rate: float = 20_000.0,
    stream_seconds: float = 30.0,
    threads: int = 2,
    k: int = 20,
    train: TrainConfig | None = None,
    online: OnlineConfig | None = None,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the protocol of this module's docstring; returns the figures (also for JSON)."""
    if periods < 2:
        raise InvalidInput("--periods must be >= 2 (one to start from, one to measure)")
    if batch_events < 1 or rate <= 0 or stream_seconds <= 0:
        raise InvalidInput("--batch-events must be >= 1, --rate and --stream-seconds > 0")
    torch.set_num_threads(threads)
    ratings = load_movielens(data)
    n = len(ratings.users)
    if n < periods * 10:
        raise InvalidInput(f"{n} ratings are too few for {periods} periods")
    bounds = [int(x) for x in np.linspace(0, n, periods + 1).round()]
    cfg = train or TrainConfig(
        epochs=30, batch_size=8192, lr=0.01, negatives=256, eval_every=10**9, patience=10**9
    )
    ocfg = online or OnlineConfig()
    log(f"{n} ratings, {periods} periods of ~{n // periods}, batch model: {cfg.epochs} epochs")

    c0 = time.process_time()
    first = _batch_snapshot(ratings.users[: bounds[1]], ratings.items[: bounds[1]], cfg)
    initial_cpu = time.process_time() - c0
    learner = _learner(first, ratings, bounds[1], ocfg)
    batch = first
    batch_cpu = online_cpu = 0.0
    learned = 0
    rows: list[dict[str, Any]] = []
    all_o: list[np.ndarray] = []
    history: dict[str, set[str]] = {}
    for u, v in zip(ratings.users[: bounds[1]], ratings.items[: bounds[1]], strict=True):
        history.setdefault(u, set()).add(v)
    described: set[str] = set(first.item_ids)
    for t in range(1, periods):
        lo, hi = bounds[t], bounds[t + 1]
        pu, pi = ratings.users[lo:hi], ratings.items[lo:hi]
        truth: dict[str, set[str]] = {}
        for u, v in zip(pu, pi, strict=True):
            if u in history and v not in history[u]:
                truth.setdefault(u, set()).add(v)
        users = sorted(truth)
        tr = [sorted(truth[u]) for u in users]
        ex = [history[u] for u in users]
        snap = learner.snapshot()
        r_o, n_o = rank_snapshot(snap, users, tr, ex, k=k)
        r_b, n_b = rank_snapshot(batch, users, tr, ex, k=k)
        all_o.append(np.stack([r_o, n_o, r_b, n_b], axis=1))
        row: dict[str, Any] = {
            "period": t,
            "from": time.strftime("%Y-%m-%d", time.gmtime(int(ratings.times[lo]))),
            "events": hi - lo,
            "users": len(users),
            "online_recall": round(float(r_o.mean()), 4) if users else None,
            "batch_recall": round(float(r_b.mean()), 4) if users else None,
            "online_ndcg": round(float(n_o.mean()), 4) if users else None,
            "batch_ndcg": round(float(n_b.mean()), 4) if users else None,
        }
        # Online: learn period t in time order (one torch thread, as the stream consumer).
        c0 = time.process_time()
        with torch_threads(1):  # as the stream consumer learns
            learned += _learn_period(learner, ratings, lo, hi, batch_events, described)
        row["online_cpu_s"] = round(time.process_time() - c0, 2)
        online_cpu += time.process_time() - c0
        for u, v in zip(pu, pi, strict=True):
            history.setdefault(u, set()).add(v)
        # Batch: retrain from scratch on everything so far (not needed after the last period).
        if t < periods - 1:
            c0 = time.process_time()
            batch = _batch_snapshot(ratings.users[:hi], ratings.items[:hi], cfg)
            row["batch_cpu_s"] = round(time.process_time() - c0, 2)
            batch_cpu += time.process_time() - c0
        rows.append(row)
        log(" ".join(f"{k_}={v_}" for k_, v_ in row.items()))
    a = np.concatenate(all_o) if all_o else np.zeros((0, 4))
    mean = a.mean(axis=0) if len(a) else np.zeros(4)
    log(f"live stream: {rate:,.0f} events/s offered for {stream_seconds:.0f}s ...")
    live = stream_freshness(
        _learner(first, ratings, bounds[1], ocfg), first,
        ratings.users[bounds[1] :].tolist(), ratings.items[bounds[1] :].tolist(),
        rate=rate, seconds=stream_seconds, settings=settings, log=log,
    )  # fmt: skip
    headline = {
        "online_recall_at_20": round(float(mean[0]), 5),
        "batch_recall_at_20": round(float(mean[2]), 5),
        "online_ndcg_at_20": round(float(mean[1]), 5),
        "batch_ndcg_at_20": round(float(mean[3]), 5),
        "online_cpu_s": round(online_cpu, 2),
        "batch_cpu_s": round(batch_cpu, 2),
        "cpu_ratio": round(online_cpu / batch_cpu, 4) if batch_cpu else None,
        "offered_events_per_s": live["offered_events_per_s"],
        "events_per_s": live["events_per_s"],
        "learned_per_s_while_producing": live["learned_per_s_while_producing"],
        "learned_per_s_steady": live["learned_per_s_steady"],
        "kept_up": live["kept_up"],
        "backlog_when_producer_stopped": live["backlog_when_producer_stopped"],
        "backlog_at_end": live["backlog_at_end"],
        "event_to_model_p50_s": live["event_to_model_p50_s"],
        "event_to_model_p99_s": live["event_to_model_p99_s"],
        "trainer_cpu_s_per_1000_events": live["trainer_cpu_s_per_1000_events"],
        "stream_load_average": live["load_average_start"][:1] + live["load_average_end"][:1],
        "replay_events_per_cpu_s": round(learned / max(1e-9, online_cpu), 1),
        "evaluated_users": len(a),
    }
    return {
        **headline,
        "headline": headline,
        "periods": rows,
        "stream": live,
        "protocol": {
            "data": str(data),
            "ratings": n,
            "periods": periods,
            "period_bounds": bounds,
            "batch_events": batch_events,
            "rate_events_per_s": rate,
            "stream_seconds": stream_seconds,
            "threads": threads,
            "initial_batch_cpu_s": round(initial_cpu, 2),
            "event_to_model": "live: producer process -> Redis stream -> OnlineTrainer, "
            "published - appended per entry",
            "batch_train": asdict(cfg),
            "online": asdict(ocfg),
        },
    }
