"""Strict numbers as JSON means them: an integer is a number with no fraction.

``5400`` and ``5400.0`` are the same JSON integer (JSON Schema agrees); ``true``, ``"5400"``
and ``5400.5`` are not integers and are refused, never converted.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _whole(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a whole number is expected, not {type(value).__name__}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("a whole number is expected, not a fraction")
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_whole)]


def json_int(*, ge: int | None = None, le: int | None = None) -> Any:
    """A :data:`JsonInt` with bounds that the OpenAPI spec shows as ``minimum``/``maximum``.

    Bounds given to ``Field`` beside an optional ``JsonInt`` are enforced but published as
    unknown keywords (the before-validator hides the integer from pydantic's schema), so a
    client reading the spec would not see them: declare them inside the type instead.
    """
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_whole)]


__all__ = ["JsonInt", "json_int"]
