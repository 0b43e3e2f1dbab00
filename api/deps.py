"""Dependencies shared by the routes, as ``Annotated`` aliases.

``WriteKey`` guards write and admin routes (header ``X-API-Key`` must equal
``Settings.api_key``); ``ReadKey`` guards reads only when ``Settings.api_read_requires_key``.
Each is ``async`` (no I/O): FastAPI runs a plain ``def`` dependency in its thread pool, one
hop per dependency per request, which costs more than the lookup itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.feed import Recommender
from graphrec.spine import Spine
from graphrec.spine.feed import StreamRecommender
from graphrec.spine.writer import GraphWriter

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_graph(request: Request) -> Graph:
    return request.app.state.graph


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_recommender(request: Request) -> Recommender | StreamRecommender:
    return request.app.state.recommender


async def get_spine(request: Request) -> Spine:
    return request.app.state.spine


async def get_writer(request: Request) -> GraphWriter:
    return request.app.state.writer


def key_matches(key: str, settings: Settings) -> bool:
    """Whether ``key`` is the API key (compared in constant time)."""
    return secrets.compare_digest(key.encode(), settings.api_key.get_secret_value().encode())


def scope_key_matches(headers: Iterable[tuple[bytes, bytes]], settings: Settings) -> bool:
    """:func:`key_matches` for a raw ASGI request (the routes' fast paths): the first
    ``X-API-Key`` header, the one the declared dependencies read, holds the key."""
    for name, value in headers:
        if name == b"x-api-key":
            return key_matches(value.decode("latin-1"), settings)
    return False


T = TypeVar("T")


def fast_path_target(scope: Any, method: str, name: str, kind: type[T]) -> T | None:
    """What a route's fast path answers with: ``app.state.<name>`` when the request's method is
    ``method``, the state holds a ``kind`` there and no dependency is overridden (a test's
    override takes the declared path); else None. The key is each route's own check."""
    app = scope.get("app")
    if scope["method"] != method or getattr(app, "dependency_overrides", None):
        return None
    value = getattr(getattr(app, "state", None), name, None)
    return value if isinstance(value, kind) else None


def _check(key: str | None, settings: Settings) -> None:
    if key is None:
        raise HTTPException(status_code=401, detail="X-API-Key: header missing")
    if not key_matches(key, settings):
        raise HTTPException(status_code=403, detail="X-API-Key: wrong key")


async def require_write_key(
    request: Request, key: Annotated[str | None, Security(api_key_header)] = None
) -> None:
    """Write and admin routes: the API key is always required."""
    _check(key, request.app.state.settings)


async def require_read_key(
    request: Request, key: Annotated[str | None, Security(api_key_header)] = None
) -> None:
    """Read routes: the API key is required only when the settings say so."""
    settings: Settings = request.app.state.settings
    if settings.api_read_requires_key:
        _check(key, settings)


GraphDep = Annotated[Graph, Depends(get_graph)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RecommenderDep = Annotated[Recommender | StreamRecommender, Depends(get_recommender)]
SpineDep = Annotated[Spine, Depends(get_spine)]
WriterDep = Annotated[GraphWriter, Depends(get_writer)]
WriteKey = Depends(require_write_key)
ReadKey = Depends(require_read_key)
