"""Finding and running analyst queries: read-only (EXPLAIN first, then a read transaction),
with checked parameters and a time limit."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphrec import cypher
from graphrec.analyst.params import bind, cypher_literal
from graphrec.config import Settings, get_settings
from graphrec.cypher_guard import check_allowed
from graphrec.db import Graph
from graphrec.errors import InvalidInput, NotFound, QueryTimedOut, ReadOnlyViolation

AREA = "analyst"


@dataclass
class Result:
    """The rows a query returned, with its columns in order (also when there are no rows)."""

    query: cypher.Query
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


# --- finding queries -------------------------------------------------------------------------
def queries() -> dict[str, cypher.Query]:
    """The analyst queries, by short name (``pool_funnel``)."""
    prefix = AREA + "/"
    return {n[len(prefix) :]: q for n, q in cypher.library().items() if n.startswith(prefix)}


def find(name: str) -> cypher.Query:
    """An analyst query by short name, or any library query by its full ``area/name``."""
    if "/" in name:
        return cypher.load(name)
    known = queries()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, list(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise NotFound(f"no analyst query named {name!r}{hint} (graphrec cypher list shows them)")


def from_file(path: Path) -> cypher.Query:
    """An analyst's own query file (a trailing ``;`` as cypher-shell writes it is dropped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or e}") from e
    text = text.rstrip().removesuffix(";")
    return cypher.parse(path.stem, path, text)


# --- running ------------------------------------------------------------------------------------
def query_type(graph: Graph, query: cypher.Query, params: Mapping[str, Any]) -> str:
    """The query type Neo4j plans for the query (``r``, ``rw``, ``w`` or ``s``), via EXPLAIN."""
    return graph.explain(query, params)


def check_read_only(graph: Graph, query: cypher.Query, params: Mapping[str, Any]) -> None:
    """Refuse a query whose plan writes or changes the schema."""
    kind = query_type(graph, query, params)
    if kind != "r":
        what = {"rw": "reads and writes", "w": "writes", "s": "changes the schema"}.get(
            kind, f"is of type {kind!r}"
        )
        raise ReadOnlyViolation(
            f"{query.name} {what}: analyst queries are read-only (EXPLAIN says query type "
            f"{kind!r}); change data through graphrec's own commands"
        )


def run(
    graph: Graph,
    query: cypher.Query,
    given: Mapping[str, Any] | None = None,
    *,
    timeout_s: float | None = None,
    settings: Settings | None = None,
) -> Result:
    """Run an analyst query read-only, with checked params and a time limit."""
    s = settings or get_settings()
    params = bind(query, given or {})
    limit = float(timeout_s if timeout_s is not None else s.analyst_timeout_s)
    if limit <= 0:
        raise InvalidInput(f"the timeout must be positive, got {limit}")
    check_allowed(query.text, query.name)  # administration, files, network: refused
    check_read_only(graph, query, params)
    try:
        columns, rows = graph.read_limited(query, params, timeout_s=limit)
    except QueryTimedOut as e:
        raise QueryTimedOut(
            f"{e} (raise it with --timeout or GRAPHREC_ANALYST_TIMEOUT_S, or narrow the query)"
        ) from e
    except ReadOnlyViolation as e:
        raise ReadOnlyViolation(f"{e}: analyst queries are read-only") from e
    return Result(query=query, columns=columns, rows=rows, params=params)


def shell_script(query: cypher.Query, params: Mapping[str, Any]) -> str:
    """``:param`` lines and the query, to paste into cypher-shell or Neo4j Browser."""
    lines = [f":param {name} => {cypher_literal(value)}" for name, value in params.items()]
    text = query.text.rstrip()
    return "\n".join([*lines, text if text.endswith(";") else text + ";"]) + "\n"
