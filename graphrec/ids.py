"""The one id rule: users, creators, videos and events are named the same way everywhere.

An id is 1 to 128 characters from ``A-Z a-z 0-9 . _ : @ + = ~ -``, starting with a letter or
a digit. Nothing is ever stripped or normalised: an id that breaks the rule is refused, so
``" u1"`` can never be stored as one node and land on ``"u1"`` as another. Whitespace, NUL and
other control characters, zero-width and bidi characters, ``/`` (it would split a URL path)
and non-ASCII letters are all outside the rule. The same regular expression is the OpenAPI
``pattern`` of every id field, so clients and schema-driven tests see the exact rule.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from graphrec.errors import InvalidInput

MAX_ID = 128
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+=~-]{0,127}$"
_ID = re.compile(ID_PATTERN)
_MATCH = _ID.fullmatch
RULE = f"1 to {MAX_ID} characters from A-Z a-z 0-9 . _ : @ + = ~ -, starting with a letter or digit"


def problem(value: Any) -> str | None:
    """Why ``value`` is not an id (None when it is one)."""
    if not isinstance(value, str):
        return f"an id is a string, not {type(value).__name__}"
    if _ID.fullmatch(value):
        return None
    if not value:
        return "an id must not be empty"
    if len(value) > MAX_ID:
        return f"an id is at most {MAX_ID} characters, got {len(value)}"
    bad = next((c for c in value if not _ID.fullmatch("a" + c)), None)
    if bad is None:
        return f"an id starts with a letter or a digit ({RULE})"
    return f"character U+{ord(bad):04X} is not allowed in an id ({RULE})"


def check_id(value: Any, what: str = "id") -> str:
    """``value`` when it is an id; else :class:`InvalidInput` naming ``what``."""
    why = problem(value)
    if why is not None:
        raise InvalidInput(f"{what}: {why}")
    return value


def _validate(value: str) -> str:
    if _MATCH(value):  # the common case first: a good id, one regex call (a batch has 3,000)
        return value
    why = problem(value)
    if why is not None:
        raise ValueError(why)
    return value


# The pydantic type of every id field: strict str (no numbers turned into text), the rule.
Id = Annotated[
    str,
    Field(
        strict=True,
        json_schema_extra={"pattern": ID_PATTERN, "minLength": 1, "maxLength": MAX_ID},
    ),
    AfterValidator(_validate),
]

__all__ = ["ID_PATTERN", "MAX_ID", "RULE", "Id", "check_id", "problem"]
