"""``graphrec bench ...``: benchmarks that write JSON and print a table (never timed tests)."""

from __future__ import annotations

from pathlib import Path

import typer

from graphrec.bench.load import bench_load
from graphrec.cli.common import handle_errors, print_table, write_json
from graphrec.world.generate import world_size

app = typer.Typer(help="Benchmarks: figures as JSON and a table.", no_args_is_help=True)


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
    from graphrec.bench.pools import bench_pools

    world_size(size)
    result = bench_pools(size=size, seed=seed, calls=calls, threads=threads)
    write_json(out_path, result)
    print_table(f"bench pools {size} -> {out_path}", [result["headline"]])
    print_table("record_impressions", result["impressions"])
    print_table("cycle moves", [result["cycle"]["moves"]])
    print_table("cycle stages (seconds)", [result["cycle"]["seconds"]])

