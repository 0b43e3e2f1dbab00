"""Running analysts' Cypher safely: read-only, with checked parameters and a time limit.

Analyst queries live in ``cypher/analyst/`` (one per file) and run unchanged in Neo4j Browser
or cypher-shell. Their header names the question, the ``$params`` with their types, the
defaults (``// defaults: $pool = 'boost', $limit = 20``) and the returned columns. Here they
run in a READ transaction (routed to a reader on a cluster) after an ``EXPLAIN`` has shown
that the query only reads: a single server does not always refuse writes in a read
transaction, so the query type is checked first. Parameters are checked against the query's
``$params`` (a misspelt name gets a suggestion) and coerced to their declared types.

- :mod:`graphrec.analyst.params`: the header's params, Cypher literals, binding values.
- :mod:`graphrec.analyst.runner`: finding queries, the read-only check, running, ``:param`` scripts.
- :mod:`graphrec.analyst.formats`: table, CSV and JSON output.
"""

from __future__ import annotations

from graphrec.analyst.formats import FORMATS, to_csv, to_json, to_table
from graphrec.analyst.params import (
    Param,
    bind,
    coerce,
    cypher_literal,
    declared_type,
    defaults,
    dummy_params,
    dummy_value,
    params_of,
    parse_assignments,
    parse_literal,
    parse_literal_or_text,
)
from graphrec.analyst.runner import (
    AREA,
    Result,
    check_read_only,
    find,
    from_file,
    queries,
    query_type,
    run,
    shell_script,
)
from graphrec.errors import QueryTimedOut, ReadOnlyViolation

__all__ = [
    "AREA",
    "FORMATS",
    "Param",
    "QueryTimedOut",
    "ReadOnlyViolation",
    "Result",
    "bind",
    "check_read_only",
    "coerce",
    "cypher_literal",
    "declared_type",
    "defaults",
    "dummy_params",
    "dummy_value",
    "find",
    "from_file",
    "params_of",
    "parse_assignments",
    "parse_literal",
    "parse_literal_or_text",
    "queries",
    "query_type",
    "run",
    "shell_script",
    "to_csv",
    "to_json",
    "to_table",
]
