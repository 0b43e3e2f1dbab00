"""The OpenAPI spec is the API: schemathesis, every check, against the real app and Neo4j.

Every operation of the spec gets generated requests (valid and invalid ones, bounded in
number) sent to the app on world S; each answer must be documented (status, content type,
body schema), no input may give a 5xx, invalid input must be refused and valid input
accepted. The one allowance: a well-formed request naming things that do not exist (an
unknown tag, an event of an unknown user) is refused with 422 and a reason saying so; the
spec cannot know which ids exist (nor which videos the audit rejected, nor the server's clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.services.redis import redis_client
from graphrec.world.generate import World
from graphrec.world.load import load_world

KEY = {"X-API-Key": "graphrec-dev-api-key"}
SLOW = {"POST /admin/train"}  # trains a model per example: covered, with one example each


_spec_app = create_app(Settings(environment="test"))


async def _spec_only(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The app for reading /openapi.json only: it refuses the lifespan (as an app without one
    does), so loading the spec neither connects to nor launches a database."""
    if scope["type"] == "lifespan":
        raise RuntimeError("the spec app has no lifespan")
    await _spec_app(scope, receive, send)


# The spec as a client reads it; requests go to ``live_app``.
schema = schemathesis.openapi.from_asgi("/openapi.json", _spec_only)


@pytest.fixture(scope="module")
def world_graph(session_graph: Graph, world_s: World, settings: Settings) -> Graph:
    """World S, loaded once for every operation (what the requests add does not matter)."""
    assert settings.redis_url is not None
    client = redis_client(settings.redis_url, settings)
    client.flushdb()  # the app fills Redis from the graph at start
    client.close()
    session_graph.wipe()
    load_world(session_graph, world_s)
    return session_graph


@pytest.fixture
def live_app(world_graph: Graph, settings: Settings, tmp_path: Path) -> Iterator[Any]:
    # POST /admin/train publishes a feed ranker beside its checkpoint: this app's own folder,
    # so the other tests' feeds keep the hand weights.
    s = settings.model_copy(update={"learn_checkpoint": tmp_path / "lightgcn.pt"})
    app = create_app(s, graph=world_graph)
    # schemathesis runs the app's lifespan itself on the first call and keeps it until the
    # process exits: stopped here, so this app's graph writer does not outlive the test and
    # write into the next test's graph.
    try:
        yield app
    finally:
        shutdown_lifespans()


def _names_missing_things(response: Any) -> bool:
    body = response.json()
    reasons = [r["reason"] for r in body.get("rejected") or []] or [str(body.get("detail"))]
    # unknown ids, a clock far ahead, or a video the audit rejected ("...: no events")
    return all(
        any(w in r for w in ("unknown", "ahead of the server", "no events")) for r in reasons
    )


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: Any, live_app: Any) -> None:
    if case.operation.label in SLOW and case.meta.generation.mode.is_positive:
        pytest.skip("covered by tests/test_api_trained.py")
    response = case.call(headers=KEY, app=live_app, timeout=120)
    excluded = []
    if (
        response.status_code == 422
        and case.meta.generation.mode.is_positive
        and case.operation.label in {"POST /users", "POST /events"}
        and _names_missing_things(response)
    ):
        excluded.append(positive_data_acceptance)
    case.validate_response(
        response,
        headers=KEY,
        excluded_checks=excluded,
        transport_kwargs={"app": live_app},
    )
