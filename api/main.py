"""The FastAPI app: ``create_app()`` builds it; the Neo4j driver opens in the lifespan.

Routes, one router per resource: users, creators, videos, events, feed, pools, admin, health
(OpenAPI docs at ``/docs`` and ``/redoc``, with Swagger UI's and ReDoc's assets served by the
app itself from the ``fastapi-offline`` package, so they render with no internet; the dashboard
at ``/dashboard``). Library errors (:mod:`graphrec.errors`) map to status codes in one
handler: unknown ids 404, bad input 422, conflicts 409, Neo4j unreachable 503 (the driver
reconnects by itself when it is back). Request bodies that do not parse answer 422 naming the
field (FastAPI's validation).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from neo4j import exceptions as nx

from api.errors import clean, validation_details
from api.limits import BodyLimit
from api.openapi import exact_openapi
from api.routes import admin, creators, events, feed, health, pools, users, videos
from graphrec.config import Settings, get_settings
from graphrec.db import Graph, connection_from_settings
from graphrec.errors import DatabaseUnavailable, GraphrecError
from graphrec.feed import FeedPolicy, Recommender

log = logging.getLogger(__name__)

DOCS_STATIC_URL = "/static/docs"


def _warm(recommender: Recommender) -> None:
    try:
        recommender.warm()
    except GraphrecError as e:  # Neo4j not answering yet: the first feeds will load them
        log.warning("could not pre-load the shared candidate lists: %s", e)


def create_app(
    settings: Settings | None = None,
    graph: Graph | None = None,
    policy: FeedPolicy | None = None,
) -> FastAPI:
    """The app; pass ``graph`` to reuse an open one (tests), else it connects on start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = settings or get_settings()
        s.check_serving()
        owned = None
        if graph is None:
            from graphrec.server import provide_server

            conn = connection_from_settings(s) or provide_server(s).connection
            owned = Graph.connect(conn, settings=s)
        app.state.settings = s
        app.state.graph = graph or owned
        app.state.recommender = Recommender(app.state.graph, s, policy=policy)
        # The shared candidate lists load in the background: the first feeds need not wait.
        threading.Thread(target=_warm, args=(app.state.recommender,), daemon=True).start()
        try:
            yield
        finally:
            if owned is not None:
                owned.close()

    app = FastAPIOffline(
        title="graphrec",
        version="0.1.0",
        lifespan=lifespan,
        description="A TikTok-style short-video recommender on a Neo4j graph.",
        static_url=DOCS_STATIC_URL,
        # Swagger UI would otherwise ask an online validator for a badge.
        swagger_ui_parameters={"validatorUrl": None},
    )

    @app.exception_handler(GraphrecError)
    async def graphrec_error(request: Request, exc: GraphrecError) -> JSONResponse:
        if exc.http_status >= 500:  # the message may name addresses or internals: logged only
            log.warning("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
            return JSONResponse(status_code=exc.http_status, content={"detail": exc.public})
        return JSONResponse(status_code=exc.http_status, content={"detail": clean(str(exc))})

    @app.exception_handler(nx.DriverError)
    async def driver_error(request: Request, exc: nx.DriverError) -> JSONResponse:
        # Anything the library did not translate: the database is not answering.
        log.warning("%s %s: Neo4j: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=503, content={"detail": DatabaseUnavailable.public})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes each bad input: it may be huge or not encodable (a lone
        # surrogate). Only where, what kind and why are sent back.
        return JSONResponse(status_code=422, content={"detail": validation_details(exc)})

    spec_settings = settings or get_settings()
    app.add_middleware(BodyLimit, limit=spec_settings.api_max_body_bytes)
    exact_openapi(app, spec_settings)

    for module in (health, users, creators, videos, events, feed, pools, admin):
        app.include_router(module.router)
    return app
