"""Parameters of an analyst query: the header's ``$params`` with types and defaults, Cypher
literals as written in a header or on the command line, and binding given values to them."""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphrec import cypher
from graphrec.errors import InvalidInput

_TYPES = {
    "int": "int",
    "integer": "int",
    "float": "float",
    "number": "float",
    "string": "string",
    "str": "string",
    "bool": "bool",
    "boolean": "bool",
    "list": "list",
    "map": "map",
}
_PARAM_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Param:
    """One ``$param`` of a query: its declared type (None when the header says none)."""

    name: str
    type: str | None = None
    has_default: bool = False
    default: Any = None


# --- the header ------------------------------------------------------------------------
def declarations(raw: str) -> dict[str, str]:
    """``$name (inside of its parentheses)`` for each param a ``// params:`` header names."""
    out: dict[str, str] = {}
    pos = 0
    while (m := _PARAM_NAME.search(raw, pos)) is not None:
        name, pos = m.group(1), m.end()
        rest = raw[pos:]
        stripped = rest.lstrip()
        inside = ""
        if stripped.startswith("("):
            depth, start = 0, len(rest) - len(stripped)
            for i, ch in enumerate(stripped):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0:
                    inside = stripped[1:i]
                    pos += start + i + 1
                    break
        out.setdefault(name, inside)
    return out


def declared_type(inside: str) -> str | None:
    """The type word that opens a param's parentheses (``int``, ``list of ...``), if known."""
    m = re.match(r"\s*([A-Za-z]+)", inside)
    return _TYPES.get(m.group(1).lower()) if m else None


def parse_literal(text: str) -> Any:
    """A Cypher literal as written in a header or on the command line (JSON also accepted)."""
    t = text.strip()
    lowered = t.lower()
    if lowered in ("null", "none"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(t)
    except ValueError:
        pass
    py = re.sub(r"\b(true|false|null)\b", lambda m: m.group(1).capitalize(), t)
    py = py.replace("Null", "None")
    try:
        return ast.literal_eval(py)
    except (ValueError, SyntaxError):
        raise InvalidInput(f"{text!r} is not a literal (quote strings: 'boost')") from None


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside quotes, brackets and braces."""
    parts: list[str] = []
    cur: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def defaults(query: cypher.Query) -> dict[str, Any]:
    """Defaults from ``// defaults: $a = 1, $b = 'x'`` and from ``(int, default 50)``."""
    out: dict[str, Any] = {}
    for name, inside in declarations(query.header.get("params", "")).items():
        m = re.search(r"\bdefault\s+([^,]+)", inside)
        if m:
            out[name] = parse_literal(m.group(1))
    raw = query.header.get("defaults", "").strip()
    if raw and raw.lower() not in ("(none)", "none"):
        for item in _split_top_level(raw):
            m = re.match(r"^\$?([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|:)\s*(.+)$", item)
            if not m:
                raise InvalidInput(f"{query.name}: cannot read the default {item!r}")
            out[m.group(1)] = parse_literal(m.group(2))
    return out


def params_of(query: cypher.Query) -> list[Param]:
    """The query's ``$params`` (from its text), with header types and defaults."""
    declared = declarations(query.header.get("params", ""))
    found = defaults(query)
    used = query.params
    # Header order first (the author's), then any the header forgot.
    names = [n for n in declared if n in used] + [n for n in used if n not in declared]
    return [
        Param(
            name=name,
            type=declared_type(declared.get(name, "")),
            has_default=name in found,
            default=found.get(name),
        )
        for name in names
    ]


def cypher_literal(value: Any) -> str:
    """``value`` as a Cypher literal (for ``:param`` lines and listings)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {cypher_literal(v)}" for k, v in value.items()) + "}"
    return str(value)


# --- parameters ---------------------------------------------------------------------------
def coerce(param: Param, value: Any) -> Any:
    """``value`` as the param's declared type; strings from the command line are parsed."""
    if value is None:
        return None
    kind = param.type
    try:
        if isinstance(value, str):
            if kind == "string":
                return value
            if value.strip().lower() in ("null", "none"):
                return None
            if kind == "int":
                return int(value)
            if kind == "float":
                return float(value)
            if kind == "bool":
                if value.strip().lower() not in ("true", "false"):
                    raise ValueError(value)
                return value.strip().lower() == "true"
            if kind == "list":
                v = value.strip()
                if v.startswith("["):
                    return list(parse_literal(v))
                return [parse_literal_or_text(x) for x in v.split(",") if x.strip()]
            if kind == "map":
                parsed = parse_literal(value)
                if not isinstance(parsed, dict):
                    raise ValueError(value)
                return parsed
            return parse_literal_or_text(value)
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "string": isinstance(value, str),
            "bool": isinstance(value, bool),
            "list": isinstance(value, list | tuple),
            "map": isinstance(value, dict),
        }.get(kind or "", True)
        if not ok:
            raise ValueError(value)
        return float(value) if kind == "float" else value
    except (ValueError, TypeError, InvalidInput):
        raise InvalidInput(f"${param.name} expects {kind}, got {value!r}") from None


def parse_literal_or_text(value: str) -> Any:
    """A literal when the text is one (``5``, ``true``, ``[1,2]``), else the text itself."""
    try:
        return parse_literal(value)
    except InvalidInput:
        return value.strip()


def bind(query: cypher.Query, given: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters to send: given values (checked, coerced) over the header's defaults.

    An unknown name is refused with the closest known names; a param with neither a value
    nor a default is named.
    """
    params = {p.name: p for p in params_of(query)}
    for name in given:
        if name not in params:
            close = difflib.get_close_matches(name, list(params), n=2, cutoff=0.5)
            hint = f"; did you mean {' or '.join('$' + c for c in close)}?" if close else ""
            known = ", ".join("$" + p for p in params) or "none"
            raise InvalidInput(
                f"{query.name} has no parameter ${name}{hint} (its parameters: {known})"
            )
    bound: dict[str, Any] = {}
    missing = []
    for name, p in params.items():
        if name in given:
            bound[name] = coerce(p, given[name])
        elif p.has_default:
            bound[name] = p.default
        else:
            missing.append(name)
    if missing:
        names = ", ".join("$" + m for m in missing)
        raise InvalidInput(
            f"{query.name} needs {names} (give it with --param {missing[0]}=VALUE; "
            f"in cypher-shell or Browser: :param {missing[0]} => VALUE)"
        )
    return bound


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``k=v`` pairs from the command line (values stay text until :func:`bind`)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().lstrip("$")
        if not sep or not name:
            raise InvalidInput(f"--param takes NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def dummy_value(param: Param) -> Any:
    """A value of the param's type, for EXPLAIN (planning only, the query does not run)."""
    kind = param.type
    if kind is None:
        n = param.name.lower()
        if n in ("rows", "ids") or n.endswith(("_ids", "s_list")):
            kind = "list"
        elif n in ("limit", "k", "top", "n", "at", "now", "since") or n.endswith(("_ms", "_at")):
            kind = "int"
        elif n == "id" or n.endswith("_id"):
            kind = "string"
    return {"int": 1, "float": 0.5, "string": "x", "bool": True, "list": [], "map": {}}.get(
        kind or ""
    )


def dummy_params(query: cypher.Query) -> dict[str, Any]:
    return {p.name: dummy_value(p) for p in params_of(query)}
