"""``graphrec demo``: the whole story end to end on this machine (the workflow is
:mod:`graphrec.demo`; this command prints it and serves the API at the end).

It empties the database it runs on (the local server unless ``NEO4J_URI`` names another).

Start (or find) Neo4j, generate and load a world, train the embeddings, find the interest
communities, run a short simulated day with pool cycles for graphrec and the popularity baseline (report in
``out/report``), then serve the API on the graph the day left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from graphrec.cli.common import (
    StageProgress,
    console,
    handle_errors,
    open_graph,
    out,
    print_table,
    progress_bar,
)
from graphrec.config import get_settings
from graphrec.demo import DEMO_CYCLE_EVERY_HOURS, DEMO_HOURS
from graphrec.world.generate import world_size


@handle_errors
def demo(
    size: str = typer.Option("S", help="World size: S (a few minutes), M (much longer)."),
    seed: int = typer.Option(0, help="Seed of the world and the simulation."),
    hours: int = typer.Option(DEMO_HOURS, min=1, help="Simulated hours, from 21:00."),
    report: Path = typer.Option(Path("out/report"), help="Where the day's report goes."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the API at the end."),
    port: int = typer.Option(8000, min=1, max=65535),
) -> None:
    """Run graphrec end to end: Neo4j, a world, training, communities, a day, the API."""
    from graphrec.demo import (
        DEMO_POLICIES,
        learn_demo_world,
        load_demo_world,
        simulate_demo_day,
    )
    from graphrec.sim.report import story

    world_size(size)
    settings = get_settings()
    checkpoint = report / "model" / "model.pt"
    console.rule("[bold]graphrec demo")
    with open_graph() as graph:
        address = graph.driver.get_server_info().address
        console.print(f"1/5 Neo4j is up at {address}; generating and loading world {size}")
        with progress_bar() as bar:
            world, counts = load_demo_world(graph, size, seed, progress=StageProgress(bar))
        print_table("the graph", [{"what": k, "count": v} for k, v in counts.items()])

        console.print(
            "2/5 training the embeddings (LightGCN on the interaction graph) and finding "
            "interest communities (Louvain on a user-user graph)"
        )
        with progress_bar() as bar:
            learned = learn_demo_world(
                graph,
                world,
                settings=settings,
                checkpoint=checkpoint,
                progress=StageProgress(bar),
            )
        out.print(f"   held-out {learned.holdout}; curve: {learned.run.curve_png}")
        out.print(f"3/5 interest communities: {learned.versus}")

        policies = " and ".join(DEMO_POLICIES)
        console.print(
            f"4/5 a simulated day ({hours} h from 21:00) for {policies}, with a pool cycle "
            f"every {DEMO_CYCLE_EVERY_HOURS} h "
            "(the world reloaded for each policy after the first)"
        )
        with progress_bar() as bar:
            day, paths = simulate_demo_day(
                graph,
                world,
                learned,
                seed=seed,
                hours=hours,
                report=report,
                settings=settings,
                progress=StageProgress(bar),
            )
        print_table(f"a day on the platform ({day.wall_s:.0f} s)", day.headline(), key="policy")
        out.print("   the story of the day:")
        for row in story(day):
            out.print(f"   {row['policy']}:", highlight=False)
            for what, told in row.items():
                if what != "policy":
                    out.print(f"     {what}: {told}", markup=False, highlight=False)
        out.print(f"   report: {paths['html'].resolve()}")

    key = settings.api_key.get_secret_value()
    user = world.users[0]["id"]
    console.print("5/5 the API")
    from graphrec.cli.spine_cmd import sync_after_load

    sync_after_load(reset=True)  # the demo wiped the graph: Redis starts over from it
    out.print(
        f"   curl 'http://127.0.0.1:{port}/users/{user}/feed?n=5'\n"
        f"   curl -X POST http://127.0.0.1:{port}/events -H 'X-API-Key: {key}' "
        "-H 'Content-Type: application/json' "
        f'-d \'[{{"event_id": "demo-1", "user_id": "{user}", "kind": "like", '
        f'"video_id": "{world.videos[0]["id"]}"}}]\'\n'
        f"   docs: http://127.0.0.1:{port}/docs\n"
        f"   dashboard: http://127.0.0.1:{port}/dashboard "
        f"(feed of {user}: http://127.0.0.1:{port}/dashboard/feed?user_id={user})"
    )
    if serve:
        from graphrec.cli.serve import serve as serve_api

        # The API serves the demo's model: its feed ranker (beside the checkpoint) ranks.
        os.environ["GRAPHREC_LEARN_CHECKPOINT"] = str(checkpoint.resolve())
        get_settings.cache_clear()
        ranker = get_settings().ranker_path()
        out.print(f"   feed ranker: {ranker if ranker.is_file() else 'the hand-set weights'}")

        serve_api(host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
    else:
        out.print(
            "graphrec demo done (--no-serve). Stop Neo4j and Redis with `graphrec services stop`."
        )
