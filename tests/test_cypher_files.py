"""Every ``.cypher`` file parses and plans on a real Neo4j (EXPLAIN), whoever wrote it.

The files are taken from :func:`graphrec.cypher.library` at collection time, so a file added
to any area later is checked too. Each is EXPLAINed with dummy parameters built from its
``// params:`` header types (``(int)``, ``(string)``, ``(list ...)``...; a name-based guess
otherwise): EXPLAIN plans without running, so a syntax or semantic error fails the test while
no data is needed.

Rules, kept explicit:
- ``schema/`` files are EXPLAINed after the same ``$embedding_dim`` substitution that
  ``graphrec db migrate`` does (schema commands take no parameters).
- Administration commands (databases, users, roles, privileges) are skipped: Neo4j plans
  them only on the system database. There are none today.
- ``CALL ... IN TRANSACTIONS`` files are EXPLAINed in an auto-commit transaction, as they run.
- Files in ``analyst/`` must plan as read-only (query type ``r``).
- ``tests/cypher/`` (queries only the tests run, registered by conftest) is planned too; every
  query in ``cypher/`` is named by the product's code (``graphrec/``, ``api/``), so a
  test-only query cannot land among the product's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphrec import analyst, cypher
from graphrec.analyst.params import declarations
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.errors import DatabaseError

ADMIN_COMMAND = re.compile(
    r"^\s*(?:(?:CREATE|DROP|ALTER|START|STOP)\s+(?:(?:COMPOSITE\s+)?DATABASE|ALIAS|USER|ROLE)"
    r"|GRANT\b|DENY\b|REVOKE\b|SHOW\s+(?:DATABASES?|USERS?|ROLES?|PRIVILEGES|ALIASES))",
    re.IGNORECASE,
)
NAMES = sorted(cypher.library())
ROOT = Path(__file__).resolve().parents[1]
# A query name in the code: "area/name", or an f-string such as f"learn/write_{label}_embeddings".
QUERY_NAME = re.compile(r"[\"']([a-z_]+/[a-z_{}]+)[\"']")


def explainable_text(query: cypher.Query, settings: Settings) -> str | None:
    """The text to EXPLAIN, or None when the documented rule skips the file."""
    if ADMIN_COMMAND.match(query.text):
        return None
    if query.name.startswith("schema/"):
        return query.text.replace("$embedding_dim", str(int(settings.embedding_dim)))
    return query.text


def test_the_library_is_found_in_every_area() -> None:
    areas = {n.split("/")[0] for n in NAMES}
    assert {"schema", "world", "admin", "analyst"} <= areas


def test_test_queries_are_registered_beside_the_product_queries() -> None:
    assert cypher.roots() == [cypher.cypher_dir(), ROOT / "tests" / "cypher"]
    test_only = {"lifecycle/sandbox_videos", "world/check_counters", "serving/user_seen"}
    assert test_only <= set(NAMES)
    assert not test_only & set(cypher._library(cypher.cypher_dir()))


def test_every_product_query_is_run_by_the_product() -> None:
    """A query in cypher/ that only tests use belongs in tests/cypher/."""
    patterns = set()
    for folder in ("graphrec", "api"):
        for path in (ROOT / folder).rglob("*.py"):
            for m in QUERY_NAME.finditer(path.read_text(encoding="utf-8")):
                patterns.add(re.compile(re.sub(r"\\{[^}]*\\}", "[a-z_]+", re.escape(m.group(1)))))
    product = cypher._library(cypher.cypher_dir())
    # schema/ runs as a whole (migrate); analyst/ is listed by the analyst CLI and API.
    named = [n for n in product if not n.startswith(("schema/", "analyst/"))]
    unused = [n for n in named if not any(p.fullmatch(n) for p in patterns)]
    assert not unused, f"queries in cypher/ no product code runs: {unused}"


SCHEMA_COMMAND = re.compile(r"^\s*(CREATE|DROP)\s+(VECTOR\s+)?(INDEX|CONSTRAINT)\b", re.I | re.M)
WRITE_CLAUSE = re.compile(r"\b(?:CREATE|MERGE|SET|DELETE|REMOVE)\b")
# Queries the code runs through Graph.read (routed to readers: they must not write).
READ_CALL = re.compile(r"\.read\(\s*[\"']([a-z_]+/[a-z_]+)[\"']")
READ_BY_CODE = {
    m.group(1)
    for folder in ("graphrec", "api", "tests")
    for path in (ROOT / folder).rglob("*.py")
    for m in READ_CALL.finditer(path.read_text(encoding="utf-8"))
}


def expected_types(name: str, text: str) -> set[str]:
    """The query types the text allows: schema ``s``; with a write clause ``w`` or ``rw``;
    without one ``r`` only. Comments are not code."""
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    if name.startswith("schema/") or SCHEMA_COMMAND.search(code):
        return {"s"}
    return {"w", "rw"} if WRITE_CLAUSE.search(code) else {"r"}


def test_read_calls_are_found() -> None:
    assert {"serving/video_detail", "lifecycle/sandbox_snapshot"} <= READ_BY_CODE


@pytest.mark.parametrize("name", NAMES)
def test_cypher_file_plans(name: str, session_graph: Graph, settings: Settings) -> None:
    query = cypher.load(name)
    text = explainable_text(query, settings)
    if text is None:
        pytest.skip("administration command: planned only on the system database")
    planned = cypher.Query(name=query.name, text=text, path=query.path, header=query.header)
    params = {} if name.startswith("schema/") else analyst.dummy_params(query)
    kind = analyst.query_type(session_graph, planned, params)
    assert kind in expected_types(name, query.text), f"{name}: EXPLAIN says {kind!r}"
    if name.startswith("analyst/") or name in READ_BY_CODE:
        assert kind == "r", f"{name} must only read (it runs as a read), EXPLAIN says {kind!r}"


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (v:Video RETURN v",  # syntax
        "MATCH (v:Video) RETURN w.id AS id",  # unknown variable
        "MATCH (v:Video) RETURN v.id AS id ORDER BY",  # truncated
    ],
)
def test_explain_fails_on_a_broken_query(text: str, session_graph: Graph) -> None:
    broken = cypher.parse("broken", cypher.cypher_dir() / "broken.cypher", text)
    with pytest.raises(DatabaseError):
        analyst.query_type(session_graph, broken, {})


@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith("analyst/")])
def test_analyst_headers_are_complete(name: str) -> None:
    """Question, params with types, a default for each, and the returned columns."""
    query = cypher.load(name)
    assert query.description, f"{name}: no description line"
    assert {"params", "defaults", "returns"} <= set(query.header), f"{name}: header incomplete"
    assert query.returns, f"{name}: no // returns: columns"
    params = analyst.params_of(query)
    declared = set(declarations(query.header["params"]))
    assert declared == {p.name for p in params}, f"{name}: // params: differs from the text"
    for p in params:
        assert p.has_default, f"{name}: ${p.name} has no default"
    # Browser and cypher-shell run the file as is: no graphrec-only placeholders, and the
    # statement ends with the semicolon cypher-shell waits for.
    assert "{{" not in query.text and "%(" not in query.text
    assert query.text.rstrip().endswith(";"), f"{name}: end the statement with ';'"
