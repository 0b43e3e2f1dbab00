"""Loading a world into real Neo4j: complete, idempotent, and refusing bad input whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from graphrec.db import Graph
from graphrec.errors import InvalidInput
from graphrec.world.files import read_world
from graphrec.world.generate import World
from graphrec.world.load import load_world, summary


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_load_writes_every_record(graph: Graph, world_s: World) -> None:
    report = load_world(graph, world_s, batch_size=1000)
    s = summary(graph)
    c = world_s.counts()
    assert s["node"]["User"] == c["users"]
    assert s["node"]["Video"] == c["videos"]
    assert s["node"]["Creator"] == c["creators"]
    assert s["node"]["Tag"] == c["tags"]
    assert s["node"]["Pool"] == 5
    assert s["relationship"]["SAW"] == c["impressions"]
    assert s["relationship"]["LIKED"] == c["likes"]
    assert s["relationship"]["POSTED"] == c["videos"]
    assert report.relationships["VIEWED"] == c["views"]


def test_video_counters_match_relationships(loaded_graph: Graph) -> None:
    rows = loaded_graph.read("world/check_counters")
    assert rows and all(r["impressions"] == r["saw"] and r["likes"] == r["liked"] for r in rows)


def test_loading_twice_creates_nothing_new(graph: Graph, world_s: World) -> None:
    load_world(graph, world_s, batch_size=2000)
    first = summary(graph)
    report = load_world(graph, world_s, batch_size=2000)
    assert summary(graph) == first
    assert report.skipped_batches > 0
    assert sum(report.relationships.get(t, 0) for t in ("SAW", "VIEWED", "LIKED")) == 0
    assert report.relationships["FOLLOWS"] == 0


def test_file_round_trip_loads_the_same_graph(
    graph: Graph, tmp_world_dir: Path, world_s: World
) -> None:
    world = read_world(tmp_world_dir)
    assert world.counts() == world_s.counts()
    load_world(graph, world)
    assert summary(graph)["node"]["Video"] == len(world_s.videos)


def test_video_with_unknown_creator_names_the_record_and_writes_nothing(
    graph: Graph, tmp_world_dir: Path
) -> None:
    _edit(tmp_world_dir / "videos.csv", ",c000001,", ",c999999,")
    with pytest.raises(
        InvalidInput, match=r"videos\.csv:\d+: video 'v\d+' names creator 'c999999'"
    ):
        load_world(graph, read_world(tmp_world_dir))
    assert sum(summary(graph)["node"].values()) == 0


def test_malformed_files_give_clear_errors(
    graph: Graph, tmp_world_dir: Path, tmp_path: Path
) -> None:
    cases: list[tuple[str, str, str, str]] = [
        ("users.csv", "\n", "\nu9,broken\n", r"users\.csv:\d+: 2 fields, expected 5"),
        ("interactions.csv", "impression,", "teleport,", r"interactions\.csv:2: kind 'teleport'"),
        ("interactions.csv", ",u0000", ",nobody", r"interactions\.csv:2: user 'nobody"),
    ]
    for name, old, new, pattern in cases:
        folder = tmp_path / f"case-{name}-{new.strip()[:6]}"
        shutil.copytree(tmp_world_dir, folder)
        _edit(folder / name, old, new)
        with pytest.raises(InvalidInput, match=pattern):
            read_world(folder)
    folder = tmp_path / "not-utf8"
    shutil.copytree(tmp_world_dir, folder)
    (folder / "tags.csv").write_bytes(b"id,category\n\xff\xfe,dance\n")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_world(folder)
    with pytest.raises(InvalidInput, match="no such world folder"):
        read_world(tmp_path / "missing")
    assert sum(summary(graph)["node"].values()) == 0


def test_resumed_load_completes_without_duplicates(graph: Graph, world_s: World) -> None:
    """A load that died part-way leaves whole batches; the rerun fills in the rest."""
    from graphrec.world import load as loader

    calls = {"n": 0}
    real_write = graph.write

    def flaky_write(name: str, **params: object) -> list[dict[str, object]]:
        if name == "world/create_interactions":
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("simulated crash mid-load")
        return real_write(name, **params)

    graph.write = flaky_write  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError):
            loader.load_world(graph, world_s, batch_size=1000)
    finally:
        del graph.write
    partial = summary(graph)["relationship"].get("SAW", 0)
    assert 0 < partial < world_s.counts()["impressions"]
    loader.load_world(graph, world_s, batch_size=1000)
    assert summary(graph)["relationship"]["SAW"] == world_s.counts()["impressions"]
