"""The FastAPI app: ``create_app()`` builds it; Neo4j and Redis connect in the lifespan.

Feeds and events run on the serving spine (:mod:`graphrec.spine`): state in Redis, a graph
writer thread per worker applying the event stream to Neo4j (one applies at a time). At start
an empty Redis is filled from the graph (``state sync``).

Routes, one router per resource: users, creators, videos, events, feed, pools, admin, health
(OpenAPI docs at ``/docs`` and ``/redoc``, offline: :mod:`api.docs`; the dashboard at
``/dashboard``: :mod:`api.routes.dashboard`). Library errors (:mod:`graphrec.errors`) map to status codes in one
handler: unknown ids 404, bad input 422, conflicts 409, Neo4j or Redis unreachable 503 (the
clients reconnect by themselves when they are back). Request bodies that do not parse answer 422 naming the
field (FastAPI's validation).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from neo4j import exceptions as nx
from redis import exceptions as rx

from api.docs import add_docs
from api.metering import FeedTimer
from api.routes import admin, creators, dashboard, events, feed, health, pools, users, videos
from graphrec.config import PLACEHOLDER_API_KEY, Settings, get_settings
from graphrec.dashboard import ServingMeter
from graphrec.db import Graph, connection_from_settings
from graphrec.errors import ConfigError, GraphrecError
from graphrec.feed import FeedPolicy, Recommender
from graphrec.spine import Spine
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.writer import GraphWriter

log = logging.getLogger(__name__)


def _prepare(graph: Graph, spine: Spine) -> None:
    """Fill an empty Redis from the graph (first start, after a flush)."""
    from graphrec.spine.state import sync_state

    if not spine.synced():
        log.info("Redis holds no state yet: syncing it from the graph")
        sync_state(graph, spine)


def create_app(
    settings: Settings | None = None,
    graph: Graph | None = None,
    policy: FeedPolicy | None = None,
) -> FastAPI:
    """The app; pass ``graph`` to reuse an open one (tests), else it connects on start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = settings or get_settings()
        if s.environment == "production" and s.api_key.get_secret_value() == PLACEHOLDER_API_KEY:
            raise ConfigError("GRAPHREC_API_KEY must be set in production")
        owned = None
        if graph is None:
            from graphrec.server import provide_server

            conn = connection_from_settings(s) or provide_server(s).connection
            owned = Graph.connect(conn, settings=s)
        app.state.settings = s
        app.state.graph = graph or owned
        redis_url = s.redis_url
        if redis_url is None:
            from graphrec.services.redis import provide_redis

            redis_url = provide_redis(s).url
        spine = Spine.connect(redis_url, s)
        _prepare(app.state.graph, spine)
        app.state.spine = spine
        app.state.writer = GraphWriter(app.state.graph, spine)
        if s.stream_writer:
            app.state.writer.start()
        if policy is not None and not policy.realtime:
            # Frozen profiles (an ablation): the graph's own feed, without online state.
            app.state.recommender = Recommender(app.state.graph, s, policy=policy)
        else:
            app.state.recommender = StreamRecommender(spine, s, policy=policy)
        try:
            yield
        finally:
            app.state.writer.stop()
            spine.close()
            if owned is not None:
                owned.close()

    app = FastAPI(
        title="graphrec",
        version="0.1.0",
        lifespan=lifespan,
        description="A TikTok-style short-video recommender on a Neo4j graph.",
        docs_url=None,  # api/docs.py serves them with their assets: no CDN
        redoc_url=None,
    )
    add_docs(app)

    @app.exception_handler(GraphrecError)
    async def graphrec_error(_: Request, exc: GraphrecError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)})

    @app.exception_handler(nx.DriverError)
    async def driver_error(_: Request, exc: nx.DriverError) -> JSONResponse:
        # Anything the library did not translate: the database is not answering.
        return JSONResponse(status_code=503, content={"detail": f"Neo4j is unavailable: {exc}"})

    @app.exception_handler(rx.RedisError)
    async def redis_error(_: Request, exc: rx.RedisError) -> JSONResponse:
        return JSONResponse(
            status_code=503, content={"detail": f"Redis is unavailable: {type(exc).__name__}"}
        )

    for module in (health, users, creators, videos, events, feed, pools, admin, dashboard):
        app.include_router(module.router)
    app.mount(
        dashboard.STATIC_URL, StaticFiles(directory=dashboard.STATIC_DIR), name="dashboard-static"
    )
    # Feed latency as this worker measures it, for the dashboard's activity panel.
    app.state.meter = ServingMeter()
    app.add_middleware(FeedTimer, meter=app.state.meter)
    return app
