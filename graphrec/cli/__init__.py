"""The ``graphrec`` command: a thin layer over the library, one sub-command group per area."""

from __future__ import annotations

import typer

from graphrec.cli import (
    bench,
    cypher_cmd,
    db,
    demo,
    neo4j,
    online_cmd,
    redis_cmd,
    serve,
    spine_cmd,
    world,
)
from graphrec.cli import importer as importer_cli
from graphrec.cli import learn as learn_cli
from graphrec.cli import pools as pools_cli
from graphrec.cli import simulate as simulate_cli
from graphrec.cli import videos as videos_cli

app = typer.Typer(
    name="graphrec",
    help="graphrec: a TikTok-style short-video recommender on a Neo4j graph.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(neo4j.app, name="neo4j")
app.add_typer(redis_cmd.app, name="redis")
app.add_typer(redis_cmd.services_app, name="services")
app.add_typer(spine_cmd.state_app, name="state")
spine_cmd.stream_app.command("trainer")(online_cmd.trainer)
app.add_typer(spine_cmd.stream_app, name="stream")
app.add_typer(db.app, name="db")
app.add_typer(world.app, name="world")
app.add_typer(bench.app, name="bench")
app.add_typer(videos_cli.app, name="videos")
app.add_typer(pools_cli.app, name="pools")
app.add_typer(cypher_cmd.app, name="cypher")
app.command("demo")(demo.demo)
app.command("import")(importer_cli.import_cmd)
app.command("train")(learn_cli.train)
app.command("communities")(learn_cli.communities)
app.command("simulate")(simulate_cli.simulate)
app.command("serve")(serve.serve)
