"""``graphrec demo``: the whole story end to end on this machine.

It empties the database it runs on (the local server unless ``NEO4J_URI`` names another).

Start (or find) Neo4j, generate and load a world, train the embeddings, find the interest
communities, run a short simulated day with pool cycles for every policy (report in
``out/report``), then serve the API on the graph the day left behind.
"""

from __future__ import annotations

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
from graphrec.sim import SimConfig
from graphrec.sim.run import ABLATIONS, BASELINES
from graphrec.world.generate import generate, world_size
from graphrec.world.load import load_world, summary

# Baselines and ablations first, graphrec last: the graph that is served afterwards holds
# graphrec's own simulated day.
DEMO_POLICIES = (*BASELINES, *ABLATIONS, "graphrec")


@handle_errors
def demo(
    size: str = typer.Option("S", help="World size: S (a few minutes), M (much longer)."),
    seed: int = typer.Option(0, help="Seed of the world and the simulation."),
    hours: int = typer.Option(12, min=1, help="Simulated hours of the day."),
    report: Path = typer.Option(Path("out/report"), help="Where the day's report goes."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the API at the end."),
    port: int = typer.Option(8000, min=1, max=65535),
) -> None:
    """Run graphrec end to end: Neo4j, a world, training, communities, a day, the API."""
    from graphrec.learn.pipeline import recompute_communities, train_and_write_back
    from graphrec.sim import simulate
    from graphrec.sim.learning import compare_with_truth
    from graphrec.sim.report import write_report

    world_size(size)
    settings = get_settings()
    console.rule("[bold]graphrec demo")
    with open_graph() as graph:
        address = graph.driver.get_server_info().address
        console.print(f"1/5 Neo4j is up at {address}; generating and loading world {size}")
        world = generate(size, seed)
        # The demo owns the database it runs on (the simulated day reloads it per policy):
        # start from an empty graph so a second run matches the first.
        graph.wipe()
        with progress_bar() as bar:
            load_world(graph, world, progress=StageProgress(bar))
        s = summary(graph)
        print_table(
            "the graph",
            [{"what": k, "count": v} for k, v in {**s["node"], **s["relationship"]}.items() if v],
        )

        console.print("2/5 training the embeddings (LightGCN on the interaction graph)")
        checkpoint = report / "model" / "model.pt"
        with progress_bar() as bar:
            run = train_and_write_back(
                graph, settings=settings, checkpoint=checkpoint, progress=StageProgress(bar)
            )
        best = run.result.best.as_dict() if run.result.best else {}
        out.print(f"   held-out {best}; curve: {run.curve_png}")

        console.print("3/5 finding interest communities (Louvain on a user-user graph)")
        export, comm, _ = recompute_communities(graph, settings=settings, checkpoint=run.checkpoint)
        versus = compare_with_truth(world, export.user_ids, comm.labels, comm.count)
        out.print(f"   {versus}")

        console.print(f"4/5 a simulated day ({hours} h) for every policy, with pool cycles")
        cfg = SimConfig(seed=seed, hours=hours, policies=DEMO_POLICIES)
        with progress_bar() as bar:
            day = simulate(graph, world, cfg, settings=settings, checkpoint=run.checkpoint,
                           progress=StageProgress(bar))  # fmt: skip
        day.communities = versus
        day.training = {
            "holdout": best,
            "seconds": {k: round(v, 2) for k, v in run.seconds.items()},
        }
        paths = write_report(day, report)
        print_table(f"a day on the platform ({day.wall_s:.0f} s)", day.headline(), key="policy")
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

        serve_api(host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
    else:
        out.print(
            "graphrec demo done (--no-serve). Stop Neo4j and Redis with `graphrec services stop`."
        )
