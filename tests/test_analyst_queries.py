"""The analysts' queries against world S on a real Neo4j: each runs with its defaults and
returns the columns its header promises, answers what the world holds, agrees with the
lifecycle's own pool cycles, and the runner refuses writes and stops slow queries.

The graph is ``analyst_world`` (conftest): world S, its users in their true interest
communities, two real pool cycles; every test here only reads.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from graphrec import analyst, cypher
from graphrec.analyst import runner
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.lifecycle.cycle import CycleReport
from graphrec.world.generate import KINDS, World

ANALYST = sorted(analyst.queries())


def _write_file(tmp_path: Path, text: str, name: str = "q.cypher") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


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
    monkeypatch.setattr(runner, "check_read_only", lambda *args, **kwargs: None)
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
