"""Large query parameters go to the driver as :class:`graphrec.db.Rows`: the same bytes on the
wire, a short ``repr`` in the driver's DEBUG message for ``RUN`` (which it formats whether or
not DEBUG is on), and the same rows back from a real Neo4j."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import pytest
from neo4j._codec.packstream import v1

from graphrec import cypher
from graphrec.db import QUIET_MIN, Graph, Rows, quiet


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 2 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randrange(-(2**40), 2**40)
    if kind == 3:
        return rng.uniform(-1e6, 1e6)
    if kind == 4:
        return "".join(rng.choice("abcé\t;,{") for _ in range(rng.randrange(12)))
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(40))]
    if kind == 6:
        return tuple(random_value(rng, depth + 1) for _ in range(rng.randrange(40)))
    return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(6))}


def packed(value: Any, *, rust: bool) -> bytes:
    hooks = v1.Packer._inject_hooks()
    if rust:
        return bytes(v1._rust_pack(value, hooks))
    buf = v1.PackableBuffer()
    v1.Packer(buf)._py_pack(value, hooks)
    return bytes(buf.data)


def test_quiet_wraps_long_lists_only() -> None:
    rows = [{"i": i} for i in range(QUIET_MIN)]
    got = quiet({"rows": rows, "few": [1, 2], "pair": (1, 2), "t": tuple(rows), "n": 3})
    assert type(got["rows"]) is Rows and got["rows"] == rows
    assert type(got["t"]) is Rows and got["t"] == rows
    assert got["few"] == [1, 2] and type(got["few"]) is list
    assert got["pair"] == (1, 2) and got["n"] == 3
    assert repr(got["rows"]) == f"<{QUIET_MIN} items>"
    assert type(quiet({"r": rows[:-1]})["r"]) is list


@pytest.mark.parametrize("rust", [True, False], ids=["rust packer", "python packer"])
def test_rows_pack_to_the_same_bytes(rust: bool) -> None:
    if rust and v1._rust_pack is None:
        pytest.skip("the driver's Rust extension is not installed")
    rng = random.Random(7)
    for _ in range(300):
        params = {f"p{i}": random_value(rng) for i in range(rng.randrange(1, 4))}
        params["rows"] = [random_value(rng, 1) for _ in range(rng.randrange(QUIET_MIN, 90))]
        assert packed(quiet(params), rust=rust) == packed(params, rust=rust)


def test_the_driver_logs_a_short_run_and_neo4j_returns_the_rows(
    graph: Graph, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        {"id": f"r{i}", "at": 1_700_000_000_000 + i, "x": [i / 7, -1.5, 0.0], "tag": None}
        for i in range(5_000)
    ]
    query = cypher.Query(
        name="test/echo_rows",
        text="UNWIND $rows AS row RETURN row.id AS id, row.at AS at, row.x AS x, row.tag AS tag",
        path=Path("echo_rows.cypher"),
    )
    with caplog.at_level(logging.DEBUG, logger="neo4j"):
        got = graph.read(query, rows=rows)
    assert got == rows
    runs = [r.getMessage() for r in caplog.records if "C: RUN" in r.getMessage()]
    assert runs and all(len(m) < 400 for m in runs)
    assert any("<5000 items>" in m for m in runs)
