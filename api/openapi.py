"""The OpenAPI spec, made exact where it depends on the settings.

FastAPI writes the spec from the routes; three things depend on the running settings and are
set here: the feed's ``n`` bounds (``1..feed_max_n``, default ``feed_default_n``), whether
read routes need ``X-API-Key`` (``api_read_requires_key``: the key, 401 and 403 are declared
only then) and the event schema of ``POST /events`` (its body is validated event by event, so
the route reads it raw; the spec names the exact shapes, :mod:`api.routes.events`). Optional
query parameters are declared with their plain type (a query string has no ``null``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import KEY_ERRORS, ErrorPublic
from api.routes import events
from graphrec.config import Settings

READ_METHODS = {"get", "head"}


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` (FastAPI's optional) as X, keeping the outer keywords."""
    branches = schema.get("anyOf")
    if not branches:
        return schema
    real = [b for b in branches if b.get("type") != "null"]
    if len(real) != 1:
        return schema
    out = {k: v for k, v in schema.items() if k != "anyOf"}
    out.update(real[0])
    # FastAPI puts ge/le beside anyOf under their pydantic names: JSON Schema has other words.
    for py, js in (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusiveMinimum")):
        if py in out:
            out[js] = out.pop(py)
    return out


def exact_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace ``app.openapi`` with a generator that writes the exact spec (cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for name, model in events.EVENT_MODELS.items():
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(body.pop("$defs", {}))
            schemas[name] = body
        schemas.setdefault("ErrorPublic", ErrorPublic.model_json_schema())
        key_responses = {
            str(code): {
                "description": r["description"],
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}
                },
            }
            for code, r in KEY_ERRORS.items()
        }
        for path, ops in spec.get("paths", {}).items():
            for method, op in ops.items():
                for param in op.get("parameters", []):
                    param["schema"] = _plain(param.get("schema", {}))
                    if path.endswith("/feed") and param["name"] == "n":
                        param["schema"].update(
                            minimum=1, maximum=settings.feed_max_n, default=settings.feed_default_n
                        )
                if path == "/events" and method == "post":
                    op["requestBody"] = events.request_body(settings)
                if method in READ_METHODS and op.get("security"):
                    if settings.api_read_requires_key:
                        op.setdefault("responses", {}).update(key_responses)
                    else:  # reads are open: no key, no 401/403
                        del op["security"]
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
