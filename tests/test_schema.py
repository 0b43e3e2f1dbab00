"""The schema: every statement applies, and applying it twice changes nothing."""

from __future__ import annotations

from graphrec.config import Settings
from graphrec.cypher import library, load
from graphrec.db import Graph, migrate, vector_index_mismatches


def test_migrate_twice_is_harmless(graph: Graph) -> None:
    first = graph.read("admin/schema_objects")
    applied = migrate(graph)
    assert applied and all(n.startswith("schema/") for n in applied)
    assert graph.read("admin/schema_objects") == first
    names = {r["name"] for r in first}
    assert {"user_id_unique", "video_id_unique", "video_embedding", "user_embedding"} <= names


def test_unique_ids_are_enforced(graph: Graph) -> None:
    import pytest

    from graphrec.errors import Conflict

    graph.write("world/merge_categories", rows=[{"id": "dance", "name": "dance"}])
    with pytest.raises(Conflict):
        graph.write("admin/create_category_raw", id="dance")


def test_every_query_file_has_a_header_and_a_statement() -> None:
    lib = library()
    assert len(lib) > 10
    for name, q in lib.items():
        assert q.description, f"{name} has no description line"
        assert "params" in q.header, f"{name} names no params"
        assert "returns" in q.header, f"{name} names no returned columns"
    assert load("world/merge_users").params == ["rows"]


def test_a_vector_index_of_another_size_is_refused_then_recreated(
    graph: Graph, settings: Settings
) -> None:
    """GRAPHREC_SPECTRAL_RANK changed after a migration: migrate says so (and applies
    nothing) unless --reindex, which recreates the index and drops the old-size vectors."""
    import pytest

    from graphrec.errors import ConfigError

    dim = 2 * settings.spectral_rank + 1
    graph.write("admin/create_video_raw", id="v-old", status="approved")
    graph.write("learn/write_spectral", rows=[{"id": "v-old", "query": [0.5] * dim, "key": [0.5] * dim}])  # fmt: skip
    other = settings.model_copy(update={"spectral_rank": settings.spectral_rank // 2})
    new_dim = 2 * other.spectral_rank + 1
    assert vector_index_mismatches(graph, settings) == []
    try:
        with pytest.raises(ConfigError, match=rf"video_spectral holds {dim} .* want {new_dim}"):
            migrate(graph, settings=other)
        assert vector_index_mismatches(graph, settings) == []  # nothing was changed
        migrate(graph, settings=other, reindex=True)
        sizes = {r["name"]: r["dimensions"] for r in graph.read("admin/vector_indexes")}
        assert sizes["video_spectral"] == new_dim
        assert sizes["video_embedding"] == settings.embedding_dim  # the others left alone
        assert vector_index_mismatches(graph, other) == []
        left = graph.read("admin/video_spectral_raw", id="v-old")
        assert left == [{"key": None, "query": None}]  # old-size vectors removed
    finally:
        migrate(graph, settings=settings, reindex=True)
    sizes = {r["name"]: r["dimensions"] for r in graph.read("admin/vector_indexes")}
    assert sizes["video_spectral"] == dim
