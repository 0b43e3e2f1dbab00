"""The FastAPI app: ``create_app()`` builds it; the Neo4j driver opens in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.routes import health
from graphrec.config import Settings, get_settings
from graphrec.db import Graph, connection_from_settings
from graphrec.errors import GraphrecError


def create_app(settings: Settings | None = None, graph: Graph | None = None) -> FastAPI:
    """The app; pass ``graph`` to reuse an open one (tests), else it connects on start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = settings or get_settings()
        owned = None
        if graph is None:
            from graphrec.server import provide_server

            conn = connection_from_settings(s) or provide_server(s).connection
            owned = Graph.connect(conn, settings=s)
        app.state.settings = s
        app.state.graph = graph or owned
        try:
            yield
        finally:
            if owned is not None:
                owned.close()

    app = FastAPI(title="graphrec", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(GraphrecError)
    async def graphrec_error(_: Request, exc: GraphrecError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)})

    app.include_router(health.router)
    return app
