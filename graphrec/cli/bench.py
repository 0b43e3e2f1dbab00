"""``graphrec bench ...``: benchmarks that write JSON and print a table (never timed tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from graphrec.bench.load import bench_load
from graphrec.cli.common import fail, handle_errors, print_table, write_json
from graphrec.world.generate import world_size

app = typer.Typer(help="Benchmarks: figures as JSON and a table.", no_args_is_help=True)


def on_graph(bench: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """``bench(graph, connection, **kwargs)`` on the graph the settings reach (NEO4J_URI, a
    container, else the local server: started when needed)."""
    from graphrec.config import get_settings
    from graphrec.db import Graph
    from graphrec.services.provide import provide_server

    settings = get_settings()
    handle = provide_server(settings)
    with Graph.connect(handle.connection, settings=settings) as graph:
        return bench(graph, handle.connection, **kwargs)


@app.command("load")
@handle_errors
def load_cmd(
    size: str = typer.Option("M", help="World size to load."),
    seed: int = typer.Option(0),
    batch_size: int = typer.Option(10_000, min=1),
    out_path: Path = typer.Option(Path("out/bench/load.json"), "--out"),
) -> None:
    """Load a world into an empty database: nodes, relationships, seconds, rate, memory."""
    world_size(size)
    result = bench_load(size=size, seed=seed, batch_size=batch_size)
    write_json(out_path, result)
    print_table(f"bench load {size} -> {out_path}", [result["headline"]])
    print_table("stages (seconds)", [result["stages_s"]])


@app.command("pools")
@handle_errors
def pools_cmd(
    size: str = typer.Option("M", help="World size to load."),
    seed: int = typer.Option(0),
    calls: int = typer.Option(400, min=10, help="record_impressions calls per measurement."),
    threads: int = typer.Option(4, min=1, help="Concurrent feeds for the throughput run."),
    out_path: Path = typer.Option(Path("out/bench/pools.json"), "--out"),
) -> None:
    """Impression recording (per impression, batched) and one full pool cycle on a world."""
    from graphrec.bench.lifecycle import bench_pools

    world_size(size)
    result = bench_pools(size=size, seed=seed, calls=calls, threads=threads)
    write_json(out_path, result)
    print_table(f"bench pools {size} -> {out_path}", [result["headline"]])
    print_table("record_impressions", result["impressions"])
    print_table("cycle moves", [result["cycle"]["moves"]])
    print_table("cycle stages (seconds)", [result["cycle"]["seconds"]])


@app.command("saw")
@handle_errors
def saw_cmd(
    size: str = typer.Option("S", help="World size to load into a private server."),
    seed: int = typer.Option(0),
    feeds: int = typer.Option(300, min=10, help="Served feeds (10 videos each) per run."),
    batch_feeds: str = typer.Option("1,10,100", help="Feeds per transaction, per level."),
    runs: int = typer.Option(3, min=1, help="Runs per level (medians)."),
    warmup: float = typer.Option(20.0, min=0, help="Unmeasured seconds first (JIT)."),
    compare: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="A served statement to compare (same $rows)."
    ),
    stream_rate: float = typer.Option(100.0, min=0, help="Feeds/s for the writer run (0: none)."),
    stream_s: float = typer.Option(5.0, min=1, help="Seconds of appends per writer run."),
    out_path: Path = typer.Option(Path("out/bench/saw.json"), "--out"),
) -> None:
    """Neo4j CPU per served impression (SAW) the graph writer applies, by batch size."""
    from graphrec.bench.saw import bench_saw

    world_size(size)
    levels = [int(x) for x in batch_feeds.split(",") if x.strip()]
    result = bench_saw(size=size, seed=seed, feeds=feeds, batch_feeds=levels, runs=runs,
                       warmup_s=warmup, compare=compare, stream_rate=stream_rate,
                       stream_s=stream_s)  # fmt: skip
    write_json(out_path, result)
    print_table(f"bench saw {size} -> {out_path} (load {result['load_before']} -> "
                f"{result['load_after']}, Neo4j idle {result['neo4j_idle_cores']} cores)",
                result["rows"])  # fmt: skip
    if result["stream"]:
        print_table("the graph writer at a steady feed rate", result["stream"])


@app.command("apply")
@handle_errors
def apply_cmd(
    size: str = typer.Option("M", help="World size (loaded first when the graph lacks it)."),
    seed: int = typer.Option(0),
    batch: int = typer.Option(5_000, min=1, help="Events per batch (a writer's read)."),
    batches: int = typer.Option(2, min=1, help="Batches per variant per round."),
    runs: int = typer.Option(5, min=1, help="Measured rounds (medians)."),
    warmup: float = typer.Option(40.0, min=0, help="Unmeasured seconds first (JIT)."),
    compare: list[str] = typer.Option(
        [], help="INGEST.cypher,PROFILES.cypher: a variant of the two statements to compare."
    ),
    out_path: Path = typer.Option(Path("out/bench/apply.json"), "--out"),
) -> None:
    """Neo4j CPU per event the graph writer applies: its statements against the old ones."""
    from graphrec.bench.apply import bench_apply

    world_size(size)
    pairs = []
    for c in compare:
        ingest, profiles = (Path(x) for x in c.split(","))
        pairs.append((ingest, profiles))
    result = on_graph(bench_apply, size=size, seed=seed, batch=batch, batches=batches,
                      runs=runs, warmup_s=warmup, compare=pairs)  # fmt: skip
    write_json(out_path, result)
    print_table(f"bench apply {size}, {batch} events a batch -> {out_path} (load "
                f"{result['load_before']} -> {result['load_after']})", result["rows"])  # fmt: skip


@app.command("sessions")
@handle_errors
def sessions_cmd(
    size: str = typer.Option("M", help="World size (loaded first when the graph lacks it)."),
    seed: int = typer.Option(0),
    clients: int = typer.Option(10, min=1, help="Concurrent viewers (closed loop)."),
    think: str = typer.Option(
        "0,1", help="Seconds of watching between a page's events and the next page, per level."
    ),
    pages: int = typer.Option(3, min=1, help="Pages per session."),
    users: int = typer.Option(500, min=1, help="Users the sessions are drawn from."),
    seconds: float = typer.Option(30.0, min=1, help="Seconds per level."),
    workers: int = typer.Option(2, min=1, help="API worker processes."),
    out_path: Path = typer.Option(Path("out/bench/sessions.json"), "--out"),
) -> None:
    """Feeds with the viewer's events between pages: queue hits, latency and CPU per feed."""
    from graphrec.bench.sessions import bench_sessions, rows

    world_size(size)
    try:
        thinks = [float(x) for x in think.split(",") if x.strip()]
    except ValueError:
        fail(f"--think: seconds separated by commas, got {think!r}")
    if not thinks or any(t < 0 for t in thinks):
        fail(f"--think: one or more seconds >= 0, got {think!r}")
    result = on_graph(
        bench_sessions, size=size, seed=seed, clients=clients, seconds=seconds, thinks=thinks,
        pages=pages, users=users, workers=workers,
    )  # fmt: skip
    write_json(out_path, result)
    print_table(f"bench sessions {size}, {clients} viewers, {workers} workers -> {out_path}",
                rows(result))  # fmt: skip


@app.command("serve")
@handle_errors
def serve_cmd(
    size: str = typer.Option("M", help="World size (loaded first when the graph lacks it)."),
    seed: int = typer.Option(0),
    clients: str = typer.Option("1,10,100", help="Concurrent clients per level."),
    seconds: float = typer.Option(20.0, min=1, help="Measured seconds per level."),
    warmup: float = typer.Option(3.0, min=0),
    workers: int = typer.Option(2, min=1, help="API worker processes."),
    out_path: Path = typer.Option(Path("out/bench/serve.json"), "--out"),
) -> None:
    """Feed latency p50/p95/p99 and requests/s at each client level, against graphrec serve."""
    from graphrec.bench.serve import bench_serve

    world_size(size)
    levels = [int(x) for x in clients.split(",") if x.strip()]
    result = on_graph(
        bench_serve,
        size=size,
        seed=seed,
        clients=levels,
        seconds=seconds,
        warmup=warmup,
        workers=workers,
    )
    write_json(out_path, result)
    heads = ("feed_rps", "feed_p50_ms", "feed_p99_ms", "baseline_rps", "feed_to_baseline",
             "feed_p50_ms_1_client", "feed_rps_sustained", "feed_to_baseline_sustained")  # fmt: skip
    print_table("headline", [{k: result.get(k) for k in heads}])
    skip = {"server_ms_p50", "cpu", "graph_drain", "drain_cpu_us_per_request",
            "redis_commands_per_request"}  # fmt: skip
    rows = [{k: v for k, v in lv.items() if k not in skip} for lv in result["levels"]]
    print_table(f"bench serve {size}, {workers} workers -> {out_path}", rows)
    print_table(
        "inside the server, p50 ms (feed = gather + rank + record)",
        [{"clients": lv["clients"], **lv["server_ms_p50"]} for lv in result["levels"]],
    )
    print_table(
        "where the CPU went (cores busy on average)",
        [{"clients": lv["clients"], **lv.get("cpu", {})} for lv in result["levels"]],
    )
    print_table(
        "the graph writer after each level: seconds to apply what it appended, CPU per request",
        [
            {"clients": lv["clients"], "drain_s": lv["graph_drain"]["seconds"],
             **(lv.get("drain_cpu_us_per_request") or {})}
            for lv in result["levels"] if "graph_drain" in lv
        ],
    )  # fmt: skip


@app.command("ingestcpu")
@handle_errors
def ingestcpu_cmd(
    size: str = typer.Option("S", help="World size (loaded first when the graph lacks it)."),
    seed: int = typer.Option(0),
    rounds: int = typer.Option(5, min=1, help="Measured windows (after one warm-up)."),
    batches: int = typer.Option(20, min=1, help="Batches posted per window."),
    batch: int = typer.Option(1_000, min=1, help="Events per batch."),
    users_per_batch: int = typer.Option(50, min=1, help="Users sending a batch's events."),
    clients: int = typer.Option(2, min=1, help="Concurrent keep-alive clients."),
    workers: int = typer.Option(1, min=1, help="API worker processes."),
    out_path: Path = typer.Option(Path("out/bench/ingestcpu.json"), "--out"),
) -> None:
    """The ingest side's CPU per event (API process and Redis) for POST /events batches."""
    from graphrec.bench.ingestcpu import bench_ingestcpu

    world_size(size)
    result = on_graph(
        bench_ingestcpu,
        size=size,
        seed=seed,
        rounds=rounds,
        batches=batches,
        batch=batch,
        users_per_batch=users_per_batch,
        clients=clients,
        workers=workers,
    )
    write_json(out_path, result)
    heads = ("api_cpu_us_per_event", "redis_cpu_us_per_event", "ingest_cpu_us_per_event",
             "script_us_per_event", "events_per_s", "errors", "load_average_before",
             "load_average_after")  # fmt: skip
    print_table(
        f"bench ingestcpu {size}, {workers} worker(s) -> {out_path}",
        [{k: result[k] for k in heads}],
    )
    cols = ("api_cpu_us_per_event", "redis_cpu_us_per_event", "script_us_per_event",
            "events_per_s", "accepted")  # fmt: skip
    print_table("windows", [{k: r[k] for k in cols} for r in result["rounds"]])


@app.command("hitcpu")
@handle_errors
def hitcpu_cmd(
    size: str = typer.Option("S", help="World size (loaded first when the graph lacks it)."),
    seed: int = typer.Option(0),
    rounds: int = typer.Option(5, min=1, help="Windows of each route, alternating."),
    seconds: float = typer.Option(4.0, min=0.5, help="Measured seconds per window."),
    warmup: float = typer.Option(1.0, min=0),
    clients: int = typer.Option(8, min=1, help="Concurrent keep-alive clients."),
    workers: int = typer.Option(1, min=1, help="API worker processes."),
    out_path: Path = typer.Option(Path("out/bench/hitcpu.json"), "--out"),
) -> None:
    """The API's CPU per feed answered from the user's queue (a hit) against /ping."""
    from graphrec.bench.hitcpu import bench_hitcpu

    world_size(size)
    result = on_graph(
        bench_hitcpu,
        size=size,
        seed=seed,
        rounds=rounds,
        seconds=seconds,
        warmup=warmup,
        clients=clients,
        workers=workers,
    )
    write_json(out_path, result)
    heads = ("feed_hit_api_cpu_us", "ping_api_cpu_us", "hit_to_ping", "feed_hit_req_per_s",
             "ping_req_per_s", "hit_rate_min", "errors")  # fmt: skip
    print_table(
        f"bench hitcpu {size}, {workers} worker(s) -> {out_path}", [{k: result[k] for k in heads}]
    )
    rows = [
        {"round": i + 1, "hit_us": f["api_cpu_us_per_request"], "ping_us": p["api_cpu_us_per_request"],
         "hit_rps": f["req_per_s"], "ping_rps": p["req_per_s"]}
        for i, (f, p) in enumerate(zip(result["feed_rounds"], result["ping_rounds"], strict=True))
    ]  # fmt: skip
    print_table("API CPU per request (us), by round", rows)
    print_table(
        "load average (1, 5, 15 min)",
        [{k: " ".join(map(str, result[f"load_average_{k}"])) for k in ("before", "after")}],
    )


@app.command("popcpu")
@handle_errors
def popcpu_cmd(
    size: str = typer.Option("M", help="World size (loaded first when the graph lacks it)."),
    seed: int = typer.Option(0),
    users: int = typer.Option(150, min=1, help="Users whose queues are filled and popped."),
    pages: int = typer.Option(3, min=1, help="Pages of 10 popped from each queue a round."),
    rounds: int = typer.Option(6, min=1, help="Rounds (each script once a round)."),
    compare: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="A variant of queue_pop.lua to compare."
    ),
    out_path: Path = typer.Option(Path("out/bench/popcpu.json"), "--out"),
) -> None:
    """Redis's CPU per queue pop (a feed hit's script), from one restored state per script."""
    from graphrec.bench.popcpu import bench_popcpu

    world_size(size)
    result = on_graph(bench_popcpu, size=size, seed=seed, users=users, pages=pages,
                      rounds=rounds, compare=compare)  # fmt: skip
    write_json(out_path, result)
    print_table(f"bench popcpu {size}, {result['users']} users -> {out_path}", result["rows"])


@app.command("events")
@handle_errors
def events_cmd(
    size: str = typer.Option("M", help="World size (loaded first when the graph lacks it)."),
    seed: int = typer.Option(0),
    clients: int = typer.Option(4, min=1, help="Concurrent posting clients."),
    batch: int = typer.Option(1000, min=1, help="Events per POST /events."),
    seconds: float = typer.Option(20.0, min=1),
    samples: int = typer.Option(200, min=1, help="Event -> next-feed delay samples."),
    workers: int = typer.Option(2, min=1, help="API worker processes."),
    warmup: float = typer.Option(
        30.0, min=0, help="Seconds of events posted and applied first, unmeasured (JIT)."
    ),
    out_path: Path = typer.Option(Path("out/bench/events.json"), "--out"),
) -> None:
    """Sustained events/s through POST /events, and the event -> next-feed delay."""
    from graphrec.bench.serve import bench_events

    world_size(size)
    result = on_graph(
        bench_events,
        size=size,
        seed=seed,
        clients=clients,
        batch=batch,
        seconds=seconds,
        samples=samples,
        workers=workers,
        warmup=warmup,
    )
    write_json(out_path, result)
    heads = ("events_per_s", "acknowledged", "stored", "lost", "duplicates_counted",
             "event_to_feed_p99_ms", "graph_lag_p99_ms")  # fmt: skip
    print_table("headline", [{k: result.get(k) for k in heads}])
    print_table(f"bench events {size} -> {out_path}", [result["ingest"]])
    print_table("event -> next feed", [result["event_to_next_feed"]])
    print_table("where the CPU went (cores busy on average)", [result.get("cpu", {})])
    print_table(
        "CPU per event, POST to graph (us), and the rate these cores could sustain",
        [
            {
                **result.get("cpu_us_per_event", {}),
                "total": result.get("cpu_us_per_event_total"),
                "events_per_s_cpu_bound": result.get("cpu_bound_events_per_s"),
                "ingest_only": result.get("cpu_bound_ingest_only_events_per_s"),
            }
        ],
    )


@app.command("quality")
@handle_errors
def quality_cmd(
    data: Path = typer.Option(
        ..., "--data", help="Folder with LightGCN-format train.txt/test.txt."
    ),
    threads: int = typer.Option(2, min=1, help="torch threads (the benchmark's CPU budget)."),
    filter_kind: str = typer.Option("bspm", "--filter", help="linear, gfcf or bspm."),
    rank: int = typer.Option(448, min=0, help="Rank of the filter's ideal low-pass term."),
    train_seconds: float = typer.Option(240.0, help="Time box for LightGCN training."),
    init: str = typer.Option("normal", help="LightGCN start: normal or spectral (SVD)."),
    families: str = typer.Option(
        "served",
        help="served: what the feed serves, LightGCN and the filter alone; all: "
        "also every list family at every weight (far more CPU).",
    ),
    neighbours: list[int] = typer.Option(
        [50, 200], "--neighbours", min=1, help="Item-to-item list lengths (the first is served)."
    ),
    validation: float = typer.Option(
        0.2, min=0.05, max=0.5, help="Share of each user's train items held out to choose on."
    ),
    out_path: Path = typer.Option(Path("out/bench/quality.json"), "--out"),
) -> None:
    """Recall@20/NDCG@20 of what the feed serves (the filter's high-pass lists + g x its
    spectral vectors + w x LightGCN, g and w validated), LightGCN and the filter alone, on a
    public split (Gowalla)."""
    from graphrec.bench.quality import bench_quality
    from graphrec.cli.common import console

    result = bench_quality(
        data,
        out_dir=out_path.parent / "quality",
        threads=threads,
        filter_kind=filter_kind,
        rank=rank,
        train_seconds=train_seconds,
        init=init,
        families=families,
        neighbours=tuple(neighbours),
        validation=validation,
        log=lambda m: console.print(m, highlight=False),
    )
    write_json(out_path, result)
    print_table("validation (weights chosen here)", result["validation_rows"])
    print_table(f"bench quality {data} -> {out_path}", result["rows"])
    print_table("served (the feed's blend, g and w validated)", [result["served"]])
    print_table("seconds", [result["seconds"]])
    print_table("CPU-seconds", [{"total": result["cpu_s"], **result["cpu_seconds"]}])


@app.command("learn")
@handle_errors
def learn_cmd(
    size: str = typer.Option("M", help="World size to generate, load and learn on."),
    seed: int = typer.Option(0),
    epochs: int = typer.Option(3, min=1, help="Epochs to time (seconds per epoch)."),
    out_path: Path = typer.Option(Path("out/bench/learn.json"), "--out"),
) -> None:
    """Export, training epochs, write-back and communities on a loaded world, timed."""
    from graphrec.bench.quality import bench_learn

    world_size(size)
    result = bench_learn(size=size, seed=seed, epochs=epochs)
    write_json(out_path, result)
    print_table(f"bench learn {size} -> {out_path}", [result["seconds"]])
    print_table("quality on the held-out split", [result["quality"]])
    print_table(
        "communities vs the world's latent groups",
        [{"source": k, **v} for k, v in result["communities"].items()],
    )
    print_table("similar_videos_for_user (ms)", [result["similar_videos_ms"]])


@app.command("replay")
@handle_errors
def replay_cmd(
    data: Path = typer.Option(..., "--data", help="A MovieLens folder (ratings.csv, movies.csv)."),
    threads: int = typer.Option(2, min=1, help="torch threads (the benchmark's CPU budget)."),
    like_at: float = typer.Option(4.0, help="A held-out rating >= this is a hit."),
    train_seconds: float = typer.Option(60.0, help="Time box for LightGCN training."),
    workers: int = typer.Option(4, min=1, help="Concurrent feed requests."),
    out_path: Path = typer.Option(Path("out/bench/replay.json"), "--out"),
) -> None:
    """Replay a real history through import, training and the feed; score it beside
    popularity, item-kNN and EASE on the same time split."""
    from graphrec.bench.replay import bench_replay, plot, table_rows
    from graphrec.cli.common import console

    result = bench_replay(
        data, out_dir=out_path.parent, threads=threads, like_at=like_at,
        train_seconds=train_seconds, workers=workers,
        log=lambda m: console.print(m, highlight=False),
    )  # fmt: skip
    write_json(out_path, result)
    png = plot(result, out_path.with_suffix(".png"))
    print_table(f"bench replay {data} -> {out_path}, {png}", table_rows(result))
    print_table("ratios (targets: relevance >= 1.05 ease, default >= 0.9 ease)", [result["ratios"]])
    print_table("seconds", [result["seconds"]])


@app.command("faults")
@handle_errors
def faults_cmd(
    clients: int = typer.Option(4, min=1, help="Concurrent clients posting events."),
    batch: int = typer.Option(20, min=1, help="Events per request."),
    rate: float = typer.Option(200.0, min=1, help="Events per second, all clients together."),
    down_s: float = typer.Option(3.0, min=0, help="Seconds each server stays down."),
    settle_s: float = typer.Option(5.0, min=1, help="Seconds of load before, between, after."),
    out_path: Path = typer.Option(Path("out/bench/faults.json"), "--out"),
) -> None:
    """Unique events posted while Neo4j, then Redis, are SIGKILLed and restarted (private
    servers): acknowledged, stored, lost (must be 0), seconds to recover."""
    from graphrec.bench.faults import bench_faults

    result = bench_faults(clients=clients, batch=batch, rate=rate, down_s=down_s, settle_s=settle_s)
    write_json(out_path, result)
    keys = ("sent", "acknowledged", "stored", "lost", "seconds_to_recover", "max_request_s")
    print_table(f"bench faults -> {out_path}", [{k: result[k] for k in keys}])
    print_table("faults", result["faults"])
    if result["lost"]:
        raise typer.Exit(1)


@app.command("soak")
@handle_errors
def soak_cmd(
    minutes: float = typer.Option(3.0, min=0.1, help="How long the load runs."),
    rate: float = typer.Option(20.0, min=1, help="Requests per second (feeds and event batches)."),
    batch: int = typer.Option(5, min=1, help="Events per event request."),
    out_path: Path = typer.Option(Path("out/bench/soak.json"), "--out"),
) -> None:
    """Mixed feeds and events at a fixed rate on private servers: errors, latency
    percentiles, the memory (RSS) of every process at start and end."""
    from graphrec.bench.soak import bench_soak

    result = bench_soak(minutes=minutes, rate=rate, batch=batch)
    write_json(out_path, result)
    keys = ("minutes", "rate_per_s", "achieved_per_s", "requests", "errors")
    print_table(f"bench soak -> {out_path}", [{k: result[k] for k in keys}])
    print_table("latency", [{"kind": k, **v} for k, v in result["latency_ms"].items()])
    rss = [
        {"process": name, "start_mib": sum((result["rss_mib_start"].get(name) or {}).values()),
         "end_mib": sum((result["rss_mib_end"].get(name) or {}).values())}
        for name in result["rss_mib_start"]
    ]  # fmt: skip
    print_table("memory (RSS, process and children)", rss)


@app.command("online")
@handle_errors
def online_cmd(
    data: Path = typer.Option(..., "--data", help="A MovieLens folder (ratings.csv)."),
    periods: int = typer.Option(10, min=2, help="Equal-count periods of the time-ordered stream."),
    batch_events: int = typer.Option(1_000, min=1, help="Events per online mini-batch."),
    rate: float = typer.Option(
        20_000.0, min=1, help="Events/s appended to the live stream for the freshness figures."
    ),
    stream_seconds: float = typer.Option(
        30.0, min=0.1, help="Seconds of the live stream (the trainer then drains it)."
    ),
    epochs: int = typer.Option(30, min=1, help="Epochs of each batch (re)training."),
    threads: int = typer.Option(2, min=1, help="torch threads (the benchmark's CPU budget)."),
    out_path: Path = typer.Option(Path("out/bench/online.json"), "--out"),
) -> None:
    """MovieLens in time order: the online-trained model vs one retrained every period."""
    from graphrec.bench.online import bench_online
    from graphrec.cli.common import console
    from graphrec.learn.train import TrainConfig

    cfg = TrainConfig(
        epochs=epochs, batch_size=8192, lr=0.01, negatives=256, eval_every=10**9,
        patience=10**9,
    )  # fmt: skip
    result = bench_online(
        data, periods=periods, batch_events=batch_events, rate=rate,
        stream_seconds=stream_seconds, threads=threads, train=cfg,
        log=lambda m: console.print(m, highlight=False),
    )  # fmt: skip
    write_json(out_path, result)
    print_table(f"bench online {data} -> {out_path}", [result["headline"]])
    print_table("per period (evaluated before it is learned)", result["periods"])
    stream = {k: v for k, v in result["stream"].items() if k != "gate"}
    print_table("live stream: producer -> Redis -> online trainer", [stream])
