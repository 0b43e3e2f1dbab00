"""The analysts' query library and its runner, against world S on a real Neo4j.

World S is loaded once for this module (every test here only reads). On world S some
queries find few rows (no pool cycle, community or embedding has been computed yet); each
must still run with its defaults and return exactly the columns its header promises.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphrec import analyst, cypher
from graphrec.cli import app
from graphrec.config import Settings, get_settings
from graphrec.db import Graph
from graphrec.errors import InvalidInput, NotFound
from graphrec.lifecycle.cycle import CycleReport
from graphrec.services.provide import ServerHandle
from graphrec.world.generate import KINDS, World

ANALYST = sorted(analyst.queries())
REQUIRED = {
    "pool_funnel",
    "promotion_by_cycle",
    "top_videos_in_pool",
    "top_videos_in_community",
    "creator_trajectory",
    "why_user_sees_video",
    "community_profiles",
    "cold_start_fairness",
    "look_back_revivals",
    "engagement_by_category",
    "interest_drift",
}


@pytest.fixture(scope="module")
def world_graph(session_graph: Graph, world_s: World) -> Graph:
    """World S loaded once for the module, its users put in their true interest communities
    (as training will), before the pool cycles below; the tests themselves never write."""
    from graphrec.world.load import load_world

    session_graph.wipe()
    load_world(session_graph, world_s)
    truth = world_s.latent["user_community"]
    rows = [
        {"user": u["id"], "community": f"k{int(truth[i])}", "score": 1.0}
        for i, u in enumerate(world_s.users)
    ]
    session_graph.write("lifecycle/sandbox_members", rows=rows)
    return session_graph


@pytest.fixture(scope="module")
def cycles(world_graph: Graph, world_s: World, settings: Settings) -> list[CycleReport]:
    """Two pool cycles run by the lifecycle on world S (at its clock, then 10 days later),
    so the queries over the pool history have a real history to read."""
    from graphrec.lifecycle.cycle import run_cycle

    day = 86_400_000
    return [
        run_cycle(world_graph, settings=settings, now=world_s.now_ms),
        run_cycle(world_graph, settings=settings, now=world_s.now_ms + 10 * day),
    ]


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


# --- pure logic ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("$pool = 'boost', $limit = 20", {"pool": "boost", "limit": 20}),
        (
            "$community = null, $ids = ['a', 'b'], $on = true",
            {"community": None, "ids": ["a", "b"], "on": True},
        ),
        ("$m = {a: 1}", None),  # a Cypher map with bare keys is not a literal we read
        ("$x = 0.5, $s = 'a, b'", {"x": 0.5, "s": "a, b"}),
    ],
)
def test_defaults_header(header: str, expected: dict[str, object] | None) -> None:
    text = f"// q\n// params: (see defaults)\n// defaults: {header}\n// returns: a\nRETURN 1 AS a"
    query = cypher.parse("t/q", Path("q.cypher"), text)
    if expected is None:
        with pytest.raises(InvalidInput):
            analyst.defaults(query)
    else:
        assert analyst.defaults(query) == expected


def test_default_inside_params_header_and_types() -> None:
    text = (
        "// q\n// params: $user_id (string), $limit (int, default 50), $rows (list of {id, at}),\n"
        "//   $w (float), $x\n// returns: a\n"
        "UNWIND $rows AS r RETURN $user_id AS a, $limit, $w, $x"
    )
    query = cypher.parse("t/q", Path("q.cypher"), text)
    params = {p.name: p for p in analyst.params_of(query)}
    assert [p for p in params] == ["user_id", "limit", "rows", "w", "x"]
    assert params["limit"].has_default and params["limit"].default == 50
    assert (params["user_id"].type, params["rows"].type, params["w"].type) == (
        "string",
        "list",
        "float",
    )
    assert params["x"].type is None
    assert analyst.dummy_params(query) == {
        "user_id": "x",
        "limit": 1,
        "rows": [],
        "w": 0.5,
        "x": None,
    }


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("int", "20", 20),
        ("float", "0.25", 0.25),
        ("string", "007", "007"),
        ("bool", "TRUE", True),
        ("list", "a,b", ["a", "b"]),
        ("list", "[1, 2]", [1, 2]),
        ("map", '{"a": 1}', {"a": 1}),
        ("int", "null", None),
        (None, "12", 12),
        (None, "boost", "boost"),
    ],
)
def test_coerce_command_line_values(kind: str | None, text: str, value: object) -> None:
    assert analyst.coerce(analyst.Param("p", kind), text) == value


@pytest.mark.parametrize(("kind", "text"), [("int", "abc"), ("float", "x1"), ("bool", "yes")])
def test_coerce_refuses_a_mistyped_value(kind: str, text: str) -> None:
    with pytest.raises(InvalidInput, match=rf"\$p expects {kind}, got '{text}'"):
        analyst.coerce(analyst.Param("p", kind), text)


def test_param_errors_name_the_param() -> None:
    query = analyst.find("top_videos_in_pool")
    with pytest.raises(InvalidInput, match=r"no parameter \$limt; did you mean \$limit\?"):
        analyst.bind(query, {"limt": "5"})
    with pytest.raises(InvalidInput, match=r"\$limit expects int, got 'five'"):
        analyst.bind(query, {"limit": "five"})
    assert analyst.bind(query, {"pool": "trending"}) == {"pool": "trending", "limit": 20}
    own = cypher.parse(
        "own", Path("own.cypher"), "MATCH (v:Video {id: $video_id}) RETURN v.id AS id"
    )
    with pytest.raises(InvalidInput, match=r"own needs \$video_id"):
        analyst.bind(own, {})
    with pytest.raises(InvalidInput, match="NAME=VALUE"):
        analyst.parse_assignments(["limit"])
    with pytest.raises(NotFound, match="did you mean pool_funnel"):
        analyst.find("pool_funel")


def test_the_library_has_the_promised_queries() -> None:
    assert set(ANALYST) >= REQUIRED


# --- against world S ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ANALYST)
def test_analyst_query_runs_with_its_defaults(
    name: str, world_graph: Graph, cycles: list[CycleReport]
) -> None:
    query = analyst.find(name)
    result = analyst.run(world_graph, query)
    assert result.columns == query.returns
    for row in result.rows:
        assert list(row) == query.returns


@pytest.mark.parametrize("name", ANALYST)
def test_what_show_prints_runs_as_in_browser(name: str, world_graph: Graph) -> None:
    """Emulate Neo4j Browser / cypher-shell on `graphrec cypher show`'s script: each
    `:param x => v` is evaluated by the server as `RETURN v`; the statement then runs as
    is, with no graphrec code in between, and answers what the runner answers."""
    query = analyst.find(name)
    script = analyst.shell_script(query, analyst.bind(query, {}))
    params: dict[str, object] = {}
    statement: list[str] = []
    for line in script.splitlines():
        m = re.match(r"^:param (\w+) => (.+)$", line)
        if m:
            records = world_graph.driver.execute_query(f"RETURN {m.group(2)} AS value").records
            params[m.group(1)] = records[0]["value"]
        else:
            statement.append(line)
    assert set(params) == set(query.params)
    records, _, keys = world_graph.driver.execute_query("\n".join(statement), params)
    assert list(keys) == query.returns
    assert [r.data() for r in records] == analyst.run(world_graph, query).rows


def test_queries_answer_on_world_s(world_graph: Graph, world_s: World) -> None:
    """The queries whose data the loader writes return what the world holds."""
    funnel = {r["pool"]: r for r in analyst.run(world_graph, analyst.find("pool_funnel")).rows}
    assert set(funnel) == {"review", "cold_start", "boost", "trending", "long_tail"}
    in_pools = sum(1 for v in world_s.videos if v["pool"])
    assert sum(r["videos"] for r in funnel.values()) == in_pools  # cycles move, never drop

    top = analyst.run(world_graph, analyst.find("top_videos_in_pool"), {"pool": "trending"})
    trending = {
        r["id"]
        for r in world_graph.driver.execute_query(
            "MATCH (v:Video)-[:IN_POOL]->(:Pool {id: 'trending'}) RETURN v.id AS id"
        ).records
    }
    assert {r["video_id"] for r in top.rows} == trending
    assert [r["rank"] for r in top.rows] == list(range(1, len(trending) + 1))
    scores = [r["score"] for r in top.rows if r["score"] is not None]
    assert scores == sorted(scores, reverse=True)

    cats = analyst.run(world_graph, analyst.find("engagement_by_category")).rows
    assert len(cats) == len(world_s.categories)
    assert all(0 <= (r["view_rate"] or 0) <= 1 for r in cats)

    fair = {
        r["cohort"]: r for r in analyst.run(world_graph, analyst.find("cold_start_fairness")).rows
    }
    assert set(fair) == {"new", "established"}
    assert fair["new"]["creators"] + fair["established"]["creators"] == len(world_s.creators)

    traj = analyst.run(world_graph, analyst.find("creator_trajectory")).rows
    mine = [v for v in world_s.videos if v["creator"] == "c000000"]
    assert len(traj) == len(mine)


def test_pool_history_queries_match_the_cycles(
    world_graph: Graph, cycles: list[CycleReport]
) -> None:
    """promotion_by_cycle, pool_funnel and look_back_revivals agree with the lifecycle's own
    reports of the two cycles."""
    by_cycle = analyst.run(world_graph, analyst.find("promotion_by_cycle")).rows
    assert {r["cycle"] for r in by_cycle} == {c.cycle for c in cycles}
    levels = {"review": 0, "cold_start": 1, "boost": 2, "trending": 3, "long_tail": -1}
    for report in cycles:
        rows = {r["from_pool"]: r for r in by_cycle if r["cycle"] == report.cycle}
        expected: Counter[str] = Counter()
        promoted: Counter[str] = Counter()
        for move, n in report.moves.items():
            src, dst = move.split("->")
            expected[src] += n
            if levels[dst] > levels[src]:
                promoted[src] += n
        assert {k: r["decided"] for k, r in rows.items() if k} == dict(expected)
        assert {k: r["promoted"] for k, r in rows.items() if k} == {
            k: promoted[k] for k in expected
        }
    total_moves = sum(sum(c.moves.values()) for c in cycles)
    assert total_moves > 0, "the cycles moved nothing: the history queries went untested"
    funnel = analyst.run(world_graph, analyst.find("pool_funnel")).rows
    assert sum(r["moved_out"] for r in funnel) == total_moves
    revived = analyst.run(world_graph, analyst.find("look_back_revivals")).rows
    looked_back = sum(n for c in cycles for m, n in c.moves.items() if m == "long_tail->cold_start")
    assert len(revived) == min(looked_back, 50)
    assert all(r["from_pool"] == "long_tail" and r["to_pool"] == "cold_start" for r in revived)


def test_interest_drift_matches_the_world(world_graph: Graph, world_s: World) -> None:
    """The drift of the top user, recomputed in Python from the world's own history."""
    rows = analyst.run(world_graph, analyst.find("interest_drift"), {"limit": 3}).rows
    assert rows, "world S has users with both recent and older activity"
    top = rows[0]
    day = 86_400_000
    cutoff = max(u["last_active_at"] for u in world_s.users) - 7 * day
    category = {tag["id"]: tag["category"] for tag in world_s.tags}
    user = next(i for i, u in enumerate(world_s.users) if u["id"] == top["user_id"])
    inter = world_s.interactions
    kinds = {KINDS.index("view"), KINDS.index("like")}
    recent: Counter[str] = Counter()
    older: Counter[str] = Counter()
    for k, u, v, at in zip(inter.kind, inter.user, inter.video, inter.at, strict=True):
        if u != user or int(k) not in kinds:
            continue
        cats = {category[h] for h in world_s.videos[int(v)]["hashtags"]}
        (recent if int(at) >= cutoff else older).update(cats)
    r, o = sum(recent.values()), sum(older.values())
    drift = sum(abs(recent[c] / r - older[c] / o) for c in set(recent) | set(older)) / 2
    assert (top["recent_events"], top["older_events"]) == (r, o)
    assert top["drift"] == pytest.approx(drift)
    assert recent[top["recent_top"]] == max(recent.values())
    assert [x["drift"] for x in rows] == sorted((x["drift"] for x in rows), reverse=True)


def test_creator_trajectory_shows_the_vertical_label(
    world_graph: Graph, cycles: list[CycleReport]
) -> None:
    labelled = world_graph.driver.execute_query(
        "MATCH (c:Creator)-[x:VERTICAL]->(t:Tag) RETURN c.id AS c, t.id AS t, x.share AS share "
        "ORDER BY x.share DESC, c.id LIMIT 1"
    ).records
    assert labelled, "the cycles labelled no creator: the vertical column went untested"
    rows = analyst.run(
        world_graph, analyst.find("creator_trajectory"), {"creator_id": labelled[0]["c"]}
    ).rows
    assert rows and {(r["vertical"], r["vertical_share"]) for r in rows} == {
        (labelled[0]["t"], labelled[0]["share"])
    }
    levels = {"review": 0, "cold_start": 1, "boost": 2, "trending": 3, "long_tail": -1}
    for r in rows:
        if r["current_pool"] is not None:
            assert levels[r["highest_pool"]] >= levels[r["current_pool"]]


def test_community_queries(world_graph: Graph, world_s: World) -> None:
    members = Counter(f"k{int(c)}" for c in world_s.latent["user_community"])
    profiles = analyst.run(world_graph, analyst.find("community_profiles"), {"top": 3}).rows
    assert {r["community"]: r["members"] for r in profiles} == dict(members)
    assert all(len(r["liked_tags"]) <= 3 and len(r["top_creators"]) <= 3 for r in profiles)
    assert any(r["liked_tags"] for r in profiles)

    one = sorted(members)[0]
    top = analyst.run(
        world_graph, analyst.find("top_videos_in_community"), {"community": one, "limit": 5}
    ).rows
    assert 0 < len(top) <= 5 and {r["community"] for r in top} == {one}
    likes = world_graph.driver.execute_query(
        "MATCH (:Community {id: $c})<-[:MEMBER_OF]-(:User)-[:LIKED]->(v:Video {id: $v}) "
        "RETURN count(*) AS n",
        c=one,
        v=top[0]["video_id"],
    ).records[0]["n"]
    assert top[0]["member_likes"] == likes
    counts = [r["member_likes"] for r in top]
    assert counts == sorted(counts, reverse=True)
    every = analyst.run(world_graph, analyst.find("top_videos_in_community")).rows
    assert {r["community"] for r in every} == set(members)


def test_why_user_sees_video_names_the_followed_creator(world_graph: Graph) -> None:
    follows = world_graph.driver.execute_query(
        "MATCH (u:User)-[:FOLLOWS]->(c:Creator)-[:POSTED]->(v:Video) "
        "RETURN u.id AS u, c.id AS c, v.id AS v ORDER BY u, v LIMIT 1"
    ).records[0]
    result = analyst.run(
        world_graph,
        analyst.find("why_user_sees_video"),
        {"user_id": follows["u"], "video_id": follows["v"]},
    )
    assert {
        "video_id": follows["v"],
        "reason": "follows_creator",
        "via": follows["c"],
        "strength": 1.0,
    } in result.rows
    peers = world_graph.driver.execute_query(
        "MATCH (u:User {id: $u})-[:MEMBER_OF]->(k:Community)<-[:MEMBER_OF]-(p:User)"
        "-[:LIKED]->(v:Video) WHERE p <> u "
        "WITH k, v, count(DISTINCT p) AS n ORDER BY n DESC, v.id LIMIT 1 "
        "RETURN k.id AS k, v.id AS v, n",
        u=follows["u"],
    ).records[0]
    via_community = analyst.run(
        world_graph,
        analyst.find("why_user_sees_video"),
        {"user_id": follows["u"], "video_id": peers["v"]},
    ).rows
    assert {
        "video_id": peers["v"],
        "reason": "community",
        "via": peers["k"],
        "strength": float(peers["n"]),
    } in via_community


def test_a_writing_query_is_refused(world_graph: Graph, tmp_path: Path) -> None:
    path = _write_file(
        tmp_path,
        "// Tries to write.\n// params: $tag (string)\n// defaults: $tag = 'x'\n"
        "MATCH (u:User) SET u.tampered = $tag RETURN count(u) AS n;\n",
    )
    with pytest.raises(analyst.ReadOnlyViolation, match="analyst queries are read-only"):
        analyst.run(world_graph, analyst.from_file(path))
    schema = cypher.parse(
        "ddl",
        Path("ddl.cypher"),
        "CREATE INDEX tampered IF NOT EXISTS FOR (u:User) ON (u.tampered)",
    )
    with pytest.raises(analyst.ReadOnlyViolation, match="changes the schema"):
        analyst.run(world_graph, schema)
    touched = world_graph.driver.execute_query(
        "MATCH (u:User) WHERE u.tampered IS NOT NULL RETURN count(u) AS n"
    ).records[0]["n"]
    assert touched == 0
    names = [r["name"] for r in world_graph.read("admin/schema_objects")]
    assert "tampered" not in names


def test_the_read_transaction_refuses_a_write_too(
    world_graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Second line of defence: with the EXPLAIN check switched off, the READ transaction
    itself refuses the write (as a cluster does), reported the same way."""
    monkeypatch.setattr(analyst, "check_read_only", lambda *args, **kwargs: None)
    probe = cypher.parse("probe", Path("probe.cypher"), "CREATE (p:AnalystProbe) RETURN 1 AS one")
    with pytest.raises(analyst.ReadOnlyViolation, match="tried to write in a read-only"):
        analyst.run(world_graph, probe)
    left = world_graph.driver.execute_query("MATCH (p:AnalystProbe) RETURN count(p) AS n")
    assert left.records[0]["n"] == 0


def test_a_slow_query_times_out(world_graph: Graph, settings: Settings) -> None:
    slow = cypher.parse(
        "slow",
        Path("slow.cypher"),
        "UNWIND range(1, 2000000000) AS i WITH i WHERE i % 7 = 3 RETURN count(*) AS n",
    )
    with pytest.raises(analyst.QueryTimedOut, match=r"ran past its 0.2 s limit"):
        analyst.run(world_graph, slow, timeout_s=0.2, settings=settings)
    fast = settings.model_copy(update={"analyst_timeout_s": 0.2})
    with pytest.raises(analyst.QueryTimedOut, match="GRAPHREC_ANALYST_TIMEOUT_S"):
        analyst.run(world_graph, slow, settings=fast)


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
