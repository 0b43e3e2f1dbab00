"""The analyst runner reaches nothing but the graph: each escape found by attack is refused.

Two lines of defence, each tested alone: the runner's check (:mod:`graphrec.cypher_guard`)
and the launched server's own settings (file URLs off, every address blocked for Cypher, a
procedure allow-list), which must hold even when the runner's check is switched off.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from graphrec import analyst, cypher
from graphrec.cypher_guard import QueryNotAllowed, check_allowed
from graphrec.db import Graph
from graphrec.errors import GraphrecError


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        body = b'{"secret": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    """A local HTTP server that records every request it gets."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _query(text: str) -> cypher.Query:
    return cypher.parse("attack", Path("attack.cypher"), text)


ESCAPES = {
    "terminate": "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "show": "SHOW TRANSACTIONS YIELD transactionId RETURN transactionId",
    "use-system": "USE system SHOW USERS",
    "load-csv-file": "LOAD CSV FROM 'file:///etc/hostname' AS row RETURN row",
    "load-csv-url": "LOAD CSV FROM 'http://127.0.0.1:9/x.csv' AS row RETURN row",
    "apoc-load": "CALL apoc.load.json('http://127.0.0.1:9/x') YIELD value RETURN value",
    "apoc-load-backticks": "CALL apoc.`load`.json('http://127.0.0.1:9/x') YIELD value RETURN 1",
    "apoc-import": "CALL apoc.import.csv([{fileName: 'file:///etc/passwd', labels: ['X']}], [], {})",
    "apoc-cypher": "RETURN apoc.cypher.runFirstColumnSingle('MATCH (n) RETURN n', {}) AS x",
    "in-transactions": "UNWIND [1] AS i CALL { WITH i RETURN i AS j } IN TRANSACTIONS RETURN j",
    "dbms": "CALL dbms.components() YIELD name RETURN name",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_the_runner_refuses_each_escape(name: str, graph: Graph) -> None:
    with pytest.raises(QueryNotAllowed, match="not allowed in an analyst query"):
        analyst.run(graph, _query(ESCAPES[name]))


def test_the_check_reads_code_not_strings_or_comments() -> None:
    check_allowed(
        "MATCH (u:User) WHERE u.name IN ['LOAD CSV', 'TERMINATE'] // SHOW USERS\n"
        "RETURN u.show AS shown, apoc.util.md5([u.id]) AS h, count(*) AS n"
    )
    for name in analyst.queries():  # the library's own queries all pass
        check_allowed(analyst.find(name).text, name)


@pytest.mark.parametrize(
    "text",
    [
        "LOAD CSV FROM 'file:///etc/hostname' AS row RETURN row",
        "LOAD CSV FROM $url AS row RETURN row",
        "CALL apoc.load.json($url) YIELD value RETURN value",
        "CALL apoc.import.json('file:///etc/hostname')",
    ],
)
def test_the_server_refuses_files_and_network_on_its_own(text: str, graph: Graph, web: str) -> None:
    """Sent straight to the launched Neo4j (no runner check), it still reaches nothing."""
    with pytest.raises(GraphrecError):
        graph.read(_query(text), url=web + "/data.csv")
    assert _Recorder.hits == []


def test_compose_neo4j_reaches_no_files_or_network() -> None:
    """The compose Neo4j gets the launcher's settings (the same procedure allow-list)."""
    import re

    import yaml

    root = Path(__file__).resolve().parents[1]
    env = yaml.safe_load((root / "docker" / "compose.yml").read_text())["services"]["neo4j"][
        "environment"
    ]
    assert env["NEO4J_dbms_security_allow__csv__import__from__file__urls"] == "false"
    assert env["NEO4J_apoc_import_file_enabled"] == "false"
    assert env["NEO4J_internal_dbms_cypher__ip__blocklist"] == "0.0.0.0/0,::/0"
    allowed = env["NEO4J_dbms_security_procedures_allowlist"].split(",")
    assert not any(
        a.startswith(("apoc.load", "apoc.import", "apoc.cypher", "apoc.*")) for a in allowed
    )
    launcher = (root / "graphrec" / "services" / "Launcher.java").read_text()
    block = launcher.split("PROCEDURE_ALLOWLIST = List.of(")[1].split(");")[0]
    assert re.findall(r'"([^"]+)"', block) == allowed
