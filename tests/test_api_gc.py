"""The worker's heap is frozen while it serves (``api_gc_freeze``) and given back after."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient

from api.main import create_app, frozen_heap
from graphrec.config import Settings
from graphrec.db import Graph


class Marker:
    """An object made before the app starts: a cycle collector's object (it has a __dict__)."""


def _walked(obj: object) -> bool:
    """Whether a full collection walks ``obj`` (``gc.get_objects`` lists what it walks)."""
    return any(o is obj for o in gc.get_objects())


@pytest.mark.parametrize("freeze", [True, False])
def test_what_the_worker_built_is_out_of_full_collections_while_it_serves(
    loaded_graph: Graph, settings: Settings, freeze: bool
) -> None:
    assert gc.get_freeze_count() == 0
    before = Marker()
    assert _walked(before)
    app = create_app(settings.model_copy(update={"api_gc_freeze": freeze}), graph=loaded_graph)
    with TestClient(app) as client:
        assert _walked(before) is not freeze
        frozen = app.state.frozen_objects
        assert (frozen > 10_000) if freeze else frozen == 0
        assert (
            frozen // 2 < gc.get_freeze_count() <= frozen if freeze else gc.get_freeze_count() == 0
        )
        after = Marker()  # made while serving: walked as usual
        assert _walked(after)
        user = loaded_graph.read("serving/sample_users", limit=1)[0]["id"]
        r = client.get(f"/users/{user}/feed?n=5")
        assert r.status_code == 200 and len(r.json()["items"]) == 5
        gc.collect()  # a full collection while frozen: the frozen objects stay frozen
        assert _walked(before) is not freeze
    assert gc.get_freeze_count() == 0  # given back on shutdown
    assert _walked(before)


def test_frozen_heap_gives_objects_back_when_serving_fails() -> None:
    with pytest.raises(RuntimeError), frozen_heap(True) as frozen:
        assert frozen > 0 and gc.get_freeze_count() > 0
        raise RuntimeError("the server stopped")
    assert gc.get_freeze_count() == 0
    with frozen_heap(False) as frozen:
        assert frozen == 0 and gc.get_freeze_count() == 0
