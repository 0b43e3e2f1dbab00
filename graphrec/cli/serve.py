"""``graphrec serve``: the API under uvicorn (``api.main:create_app``), workers configurable."""

from __future__ import annotations

import os

import typer

from graphrec.cli.common import console, handle_errors
from graphrec.config import get_settings


@handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int = typer.Option(
        0, min=0, help="Worker processes (0: GRAPHREC_API_WORKERS). They share nothing but Neo4j."
    ),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
    access_log: bool = typer.Option(False, help="Log every request (slower)."),
) -> None:
    """Serve the API (OpenAPI docs at /docs). Neo4j is found as for every command."""
    import uvicorn

    settings = get_settings()
    settings.check_serving()  # before any worker starts: a refusal exits non-zero
    n = workers or settings.api_workers
    if settings.neo4j_uri is None:
        # Start (or find) the local server once here, so the workers only connect to it.
        from graphrec.services.provide import provide_server

        handle = provide_server(settings)

        os.environ["NEO4J_URI"] = handle.connection.uri
        os.environ["NEO4J_PASSWORD"] = handle.connection.password
        os.environ["NEO4J_USER"] = handle.connection.user
    if settings.redis_url is None:
        # Likewise Redis (the event stream and online state): found or started once here.
        from graphrec.services.redis import provide_redis

        os.environ["GRAPHREC_REDIS_URL"] = provide_redis(settings).url
    console.print(f"serving on http://{host}:{port} with {n} worker(s); docs at /docs")
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=n,
        log_level=log_level,
        access_log=access_log,
        http="httptools",
        loop="uvloop",
    )
