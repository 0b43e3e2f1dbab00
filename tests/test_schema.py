"""The schema: every statement applies, and applying it twice changes nothing."""

from __future__ import annotations

from graphrec.cypher import library, load
from graphrec.db import Graph, migrate


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
