"""One Neo4j per test session, shared by every test: what state it holds, built on demand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from graphrec.db import Graph

T = TypeVar("T")


class SharedGraph:
    """The session's graph and the name of the shared state it holds (None: none known)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.holds: str | None = None
        self._value: Any = None
        self._failed: dict[str, BaseException] = {}

    def wipe(self) -> Graph:
        """Empty the graph (schema kept); it then holds no shared state."""
        self.graph.wipe()
        self.holds, self._value = None, None
        return self.graph

    def holding(self, key: str, build: Callable[[Graph], T]) -> T:
        """The state ``key``: built by ``build`` on an empty graph unless the graph holds it."""
        if key in self._failed:  # as pytest does for a module fixture: fail fast, once built
            raise self._failed[key]
        if self.holds != key:
            self.wipe()
            try:
                self._value = build(self.graph)
            except BaseException as e:  # pytest-timeout's Failed is a BaseException too
                if not isinstance(e, KeyboardInterrupt | SystemExit):
                    self._failed[key] = e
                raise
            self.holds = key
        value: T = self._value
        return value
