"""What an analyst's query may do: read the graph, nothing else.

A read transaction and an ``EXPLAIN`` type check stop writes; they do not stop an
administration command (``TERMINATE TRANSACTIONS`` kills other sessions' work), ``LOAD CSV``
(reads the server's files or fetches URLs) or procedures that reach files and the network
(``apoc.load.*``, ``apoc.import.*``, ``apoc.export.*``) or run other Cypher
(``apoc.cypher.*``, ``apoc.periodic.*``). This check refuses those by the query's text, with
string literals and comments removed first, and allows only the procedures and namespaced
functions listed below. The servers graphrec launches refuse the same on their side
(``Launcher.java``, ``docker/compose.yml``: no file URLs, every address blocked for
Cypher, a procedure allow-list).
"""

from __future__ import annotations

import re

from graphrec.errors import InvalidInput

# Clauses an analyst query never needs: administration, file/URL loading, another database,
# batched writes.
_CLAUSES = re.compile(
    r"(?<![\w.$`])(?:LOAD\s+CSV|TERMINATE|SHOW|USE|GRANT|DENY|REVOKE|ALTER|RENAME|ENABLE|"
    r"DRYRUN|START\s+DATABASE|STOP\s+DATABASE|CREATE\s+(?:OR\s+REPLACE\s+)?(?:USER|ROLE|DATABASE|"
    r"COMPOSITE|ALIAS|SERVER)|DROP|IN\s+(?:CONCURRENT\s+)?TRANSACTIONS|PERIODIC\s+COMMIT)"
    r"(?![\w`])",
    re.IGNORECASE,
)
# Namespaced calls: ``CALL db.labels()`` and functions such as ``apoc.text.join(...)``.
_CALL = re.compile(r"(?<![\w.$`])((?:[A-Za-z_]\w*\s*\.\s*)+[A-Za-z_]\w*)\s*\(")
# ``CALL name`` may omit the parentheses.
_PROC = re.compile(r"(?<![\w.$`])CALL\s+((?:[A-Za-z_]\w*\s*\.\s*)*[A-Za-z_]\w*)", re.IGNORECASE)
_PLAIN = {"call", "yield", "return", "with", "match", "optional", "unwind"}
_STRIP = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|//[^\n]*|/\*.*?\*/|`[^`]*`", re.DOTALL)
ALLOWED = (
    "db.",
    "vector.",
    "point.",
    "duration.",
    "date.",
    "datetime.",
    "localdatetime.",
    "time.",
    "localtime.",
    "apoc.coll.",
    "apoc.map.",
    "apoc.text.",
    "apoc.math.",
    "apoc.number.",
    "apoc.convert.",
    "apoc.date.",
    "apoc.temporal.",
    "apoc.agg.",
    "apoc.meta.",
    "apoc.path.",
    "apoc.label.",
    "apoc.node.",
    "apoc.nodes.",
    "apoc.rel.",
    "apoc.any.",
    "apoc.scoring.",
    "apoc.algo.",
    "apoc.util.md5",
    "apoc.util.sha1",
    "apoc.util.sha256",
    "apoc.version",
)


class QueryNotAllowed(InvalidInput):
    """An analyst query reaching outside the graph (administration, files, network)."""


def _blank(match: re.Match[str]) -> str:
    text = match.group(0)
    # A backticked name stays a name (``apoc.`load`.json`` is apoc.load.json).
    return text.strip("`") if text.startswith("`") else " "


def check_allowed(text: str, name: str = "query") -> None:
    """Refuse ``text`` when it administers, loads files or URLs, or calls outside the list."""
    code = _STRIP.sub(_blank, text)
    m = _CLAUSES.search(code)
    if m:
        clause = " ".join(m.group(0).split()).upper()
        raise QueryNotAllowed(
            f"{name}: {clause} is not allowed in an analyst query (administration, files and "
            "the network are out of reach; analyst queries only read the graph)"
        )
    for call in [*_CALL.finditer(code), *_PROC.finditer(code)]:
        fn = re.sub(r"\s+", "", call.group(1))
        if fn.lower() in _PLAIN:  # ``CALL {`` subqueries, ``count(``... are not namespaced
            continue
        if not (fn in ALLOWED or any(fn.startswith(a) for a in ALLOWED if a.endswith("."))):
            raise QueryNotAllowed(
                f"{name}: {fn}() is not allowed in an analyst query (allowed: "
                + ", ".join(a + "*" if a.endswith(".") else a for a in ALLOWED)
                + ")"
            )


__all__ = ["ALLOWED", "QueryNotAllowed", "check_allowed"]
