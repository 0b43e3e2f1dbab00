"""What error answers may say: short, encodable, never an echo of a large or odd input."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

MAX_TEXT = 300  # characters of any one message or location part sent back


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters, with anything UTF-8 cannot carry escaped."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation errors without their ``input`` and ``ctx`` (where, kind, why)."""
    out = []
    for err in exc.errors()[:20]:
        loc = [x if isinstance(x, int) else clean(str(x), 64) for x in err.get("loc", ())]
        out.append({"loc": loc, "msg": clean(str(err.get("msg", ""))), "type": err.get("type")})
    return out


class ErrorPublic(BaseModel):
    """Every error answer: ``detail`` is a reason, or a list of them (where, kind, why)."""

    detail: str | list[dict[str, Any]]


def _r(text: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": text}


# What each kind of route can answer besides success, for the OpenAPI spec.
KEY_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _r("X-API-Key header missing"),
    403: _r("X-API-Key wrong"),
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _r("the body is not text (not UTF-8)"),
    413: _r("request body larger than Settings.api_max_body_bytes (refused before parsing)"),
    422: _r("malformed request: each reason names its field"),
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: _r("a backing server (Neo4j, Redis) is unavailable; nothing was changed"),
}
BAD_PARAMS: dict[int | str, dict[str, Any]] = {422: _r("a bad parameter, named")}
