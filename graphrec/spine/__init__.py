"""The serving spine: Redis 7 as the hot path, Neo4j the system of record.

- :mod:`graphrec.spine.store` key layout, atomic scripts (``lua/``), the seen filter;
- :mod:`graphrec.spine.append` ``POST /events``: validate, dedup, append, online state;
- :mod:`graphrec.spine.stream` consumer groups over the partitioned event stream;
- :mod:`graphrec.spine.writer` the ``graph-writer`` group applying the stream to Neo4j;
- :mod:`graphrec.spine.state` ``graphrec state sync``: Redis filled from the graph;
- :mod:`graphrec.spine.feed` the feed read from Redis, budgets granted atomically.

See docs/serving.md.
"""

from graphrec.spine.store import Spine, StoreUnavailable

__all__ = ["Spine", "StoreUnavailable"]
