"""``graphrec cypher``: list, run (table, CSV, JSON, a file), show, and its refusals, against
world S (``analyst_world`` in conftest) through the environment, as an analyst would."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphrec import analyst
from graphrec.cli import app
from graphrec.config import get_settings
from graphrec.db import Graph
from graphrec.services.provide import ServerHandle
from graphrec.world.generate import World

ANALYST = sorted(analyst.queries())


@pytest.fixture
def cli_env(neo4j_server: ServerHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI pointed at the test server through the environment, as an analyst would."""
    conn = neo4j_server.connection
    monkeypatch.setenv("NEO4J_URI", conn.uri)
    monkeypatch.setenv("NEO4J_USER", conn.user)
    monkeypatch.setenv("NEO4J_PASSWORD", conn.password)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _write_file(tmp_path: Path, text: str, name: str = "q.cypher") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _write_file(tmp_path: Path, text: str, name: str = "q.cypher") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the CLI ------------------------------------------------------------------------------------
def test_cli_list(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["cypher", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(listed) == set(ANALYST)
    assert listed["top_videos_in_pool"]["params"] == "$pool (string) = 'boost', $limit (int) = 20"


def test_cli_run_in_three_formats(cli_env: None, world_graph: Graph) -> None:
    runner = CliRunner()
    args = ["cypher", "run", "top_videos_in_pool", "--param", "pool=boost", "-p", "limit=3"]
    as_json = runner.invoke(app, [*args, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert len(rows) == 3 and list(rows[0]) == analyst.find("top_videos_in_pool").returns

    as_csv = runner.invoke(app, [*args, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["video_id"] for r in parsed] == [r["video_id"] for r in rows]
    assert json.loads(parsed[0]["tags"]) == rows[0]["tags"]

    as_table = runner.invoke(app, [*args])
    assert as_table.exit_code == 0, as_table.output
    assert "analyst/top_videos_in_pool" in as_table.stdout and "3 rows" in as_table.stdout
    # 13 columns fold to the terminal's width; a narrow result reads whole.
    narrow = runner.invoke(app, ["cypher", "run", "world/summary"])
    assert narrow.exit_code == 0, narrow.output
    table_rows = [line.split("│") for line in narrow.stdout.splitlines() if "│" in line]
    cells = {(r[2].strip(), r[3].strip()) for r in table_rows if len(r) >= 4}
    assert ("Video", "480") in cells and ("Pool", "5") in cells


def test_cli_run_file(cli_env: None, world_graph: Graph, world_s: World, tmp_path: Path) -> None:
    path = _write_file(
        tmp_path,
        "// Videos per status.\n// params: $min (int)\n// defaults: $min = 1\n"
        "// returns: status, videos\n"
        "MATCH (v:Video) WITH v.status AS status, count(*) AS videos WHERE videos >= $min\n"
        "RETURN status, videos ORDER BY status;\n",
    )
    result = CliRunner().invoke(app, ["cypher", "run", "--file", str(path), "-f", "json"])
    assert result.exit_code == 0, result.output
    statuses = Counter(v["status"] for v in world_s.videos)
    expected = [{"status": s, "videos": n} for s, n in sorted(statuses.items())]
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "top_videos_in_pool", "-p", "limt=3"], "did you mean $limit"),
        (["run", "top_videos_in_pool", "-p", "limit=three"], "$limit expects int"),
        (["run", "top_videos_in_pool", "-p", "limit"], "NAME=VALUE"),
        (["run", "pool_funel"], "did you mean pool_funnel"),
        (["run", "pool_funnel", "--format", "xml"], "--format must be one of"),
        (["run"], "give either a query NAME or --file"),
        (["run", "--file", "/nonexistent/q.cypher"], "cannot read"),
        (["run", "pool_funnel", "--timeout", "0"], "timeout must be positive"),
    ],
)
def test_cli_bad_input_exits_non_zero(
    args: list[str], message: str, cli_env: None, world_graph: Graph
) -> None:
    result = CliRunner().invoke(app, ["cypher", *args])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())


def test_cli_refuses_a_write(cli_env: None, world_graph: Graph, tmp_path: Path) -> None:
    path = _write_file(tmp_path, "MATCH (v:Video) DETACH DELETE v")
    result = CliRunner().invoke(app, ["cypher", "run", "--file", str(path)])
    assert result.exit_code != 0
    assert "read-only" in " ".join(result.output.split())
    left = world_graph.driver.execute_query("MATCH (v:Video) RETURN count(v) AS n").records[0]["n"]
    assert left > 0


def test_cli_show_prints_param_lines(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["cypher", "show", "top_videos_in_pool", "-p", "limit=5"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == [":param pool => 'boost'", ":param limit => 5"]
    assert lines[2].startswith("MATCH") and lines[-1].endswith(";")


def test_cli_timeout(cli_env: None, world_graph: Graph, tmp_path: Path) -> None:
    path = _write_file(
        tmp_path, "UNWIND range(1, 2000000000) AS i WITH i WHERE i % 7 = 3 RETURN count(*) AS n"
    )
    result = CliRunner().invoke(app, ["cypher", "run", "--file", str(path), "--timeout", "0.2"])
    assert result.exit_code != 0
    assert "ran past its 0.2 s limit" in " ".join(result.output.split())
