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

import gc
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from neo4j import exceptions as nx
from redis import exceptions as rx

from api.docs import add_docs
from api.errors import clean, validation_details
from api.limits import BodyLimit
from api.metering import FeedTimer
from api.openapi import exact_openapi
from api.routes import admin, creators, dashboard, events, feed, health, pools, users, videos
from graphrec.config import Settings, get_settings
from graphrec.dashboard import ServingMeter
from graphrec.db import Graph, connection_from_settings
from graphrec.errors import DatabaseUnavailable, GraphrecError
from graphrec.feed import FeedPolicy, Recommender
from graphrec.spine import Spine
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.queue import QueueFiller
from graphrec.spine.store import store_error
from graphrec.spine.writer import GraphWriter

log = logging.getLogger(__name__)


def _prepare(graph: Graph, spine: Spine) -> None:
    """Fill an empty Redis from the graph (first start, after a flush)."""
    from graphrec.spine.state import sync_state

    if not spine.synced():
        log.info("Redis holds no state yet: syncing it from the graph")
        sync_state(graph, spine)


@contextmanager
def frozen_heap(enabled: bool) -> Iterator[int]:
    """While serving, what the worker built before (collected once first) sits in the
    collector's permanent generation (``gc.freeze``), so full collections, which Python
    starts as promoted objects pile up (under load, every request's objects that are still
    in flight), walk only what came later. Yields how many objects were frozen (0: off).
    On leaving, they go back to the collector (``gc.unfreeze``): an app started in a process
    that goes on (tests) leaves no objects out of its reach."""
    if not enabled:
        yield 0
        return
    gc.collect()
    gc.freeze()
    try:
        yield gc.get_freeze_count()
    finally:
        gc.unfreeze()


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
        anyio.to_thread.current_default_thread_limiter().total_tokens = s.api_threads
        owned = writer_graph = None
        if graph is None:
            from graphrec.services.provide import provide_server

            conn = connection_from_settings(s) or provide_server(s).connection
            owned = Graph.connect(conn, settings=s.for_api())
            # The graph writer's large batches keep the ordinary timeouts: requests fail
            # fast (503), the writer waits and retries.
            writer_graph = Graph.connect(conn, settings=s)
        app.state.settings = s
        app.state.graph = graph or owned
        redis_url = s.redis_url
        if redis_url is None:
            from graphrec.services.redis import provide_redis

            redis_url = provide_redis(s).url
        spine = Spine.connect(redis_url, s)
        _prepare(app.state.graph, spine)
        app.state.spine = spine
        # What this lifespan starts it stops itself: a second lifespan on the same app (a test
        # harness may run one) must not leave the first one's threads running.
        writer = GraphWriter(writer_graph or app.state.graph, spine)
        app.state.writer = writer
        if s.stream_writer:
            writer.start()
        if policy is not None and not policy.realtime:
            # Frozen profiles (an ablation): the graph's own feed, without online state.
            recommender: Recommender | StreamRecommender = Recommender(
                app.state.graph, s, policy=policy
            )
        else:
            recommender = StreamRecommender(spine, s, policy=policy)
        app.state.recommender = recommender
        filler = None
        if s.queue_filler and isinstance(recommender, StreamRecommender):
            # Feed queues recomputed nearline in this worker (else `graphrec stream filler`),
            # at the in-worker pace: the thread shares this worker's GIL with its requests.
            filler = QueueFiller(recommender, per_s=s.queue_fill_per_s_in_worker)
            filler.start()
        app.state.filler = filler
        try:
            with frozen_heap(s.api_gc_freeze) as app.state.frozen_objects:
                yield
        finally:
            if filler is not None:
                filler.stop()
            if isinstance(recommender, StreamRecommender):
                await recommender.queue.aclose()
            writer.stop()
            spine.close()
            for g in (owned, writer_graph):
                if g is not None:
                    g.close()

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

    @app.exception_handler(rx.RedisError)
    async def redis_error(request: Request, exc: rx.RedisError) -> JSONResponse:
        # Anything the library did not translate: down or busy is 503, a refusal for good 500.
        err = store_error(exc)
        log.warning("%s %s: Redis: %s: %s", request.method, request.url.path,
                    type(err).__name__, exc)  # fmt: skip
        return JSONResponse(status_code=err.http_status, content={"detail": err.public})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes each bad input: it may be huge or not encodable (a lone
        # surrogate). Only where, what kind and why are sent back.
        return JSONResponse(status_code=422, content={"detail": validation_details(exc)})

    for module in (health, users, creators, videos, events, feed, pools, admin, dashboard):
        app.include_router(module.router)
    app.mount(
        dashboard.STATIC_URL, StaticFiles(directory=dashboard.STATIC_DIR), name="dashboard-static"
    )
    # Feed latency as this worker measures it, for the dashboard's activity panel.
    app.state.meter = ServingMeter()
    app.add_middleware(FeedTimer, meter=app.state.meter)
    spec_settings = settings or get_settings()
    # Added last: the outermost layer, so a large body is refused before anything reads it.
    app.add_middleware(BodyLimit, limit=spec_settings.api_max_body_bytes)
    exact_openapi(app, spec_settings)
    return app
