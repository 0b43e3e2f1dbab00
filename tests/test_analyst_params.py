"""The analysts' query runner, pure logic: headers, defaults, parameter types and errors,
and the library holding the promised questions (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrec import analyst, cypher
from graphrec.errors import InvalidInput, NotFound

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
