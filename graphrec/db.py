"""Talking to Neo4j: the driver, named queries, batched writes and the schema migration.

Reads go with ``RoutingControl.READ`` so a cluster's readers serve them; writes go to the
leader. Errors from the driver become graphrec's own (:mod:`graphrec.errors`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import neo4j
from neo4j import Driver, GraphDatabase, ManagedTransaction, RoutingControl
from neo4j import exceptions as nx

from graphrec import cypher
from graphrec.config import Settings, get_settings
from graphrec.domain import POOLS
from graphrec.errors import (
    ConfigError,
    Conflict,
    DatabaseError,
    DatabaseUnavailable,
    GraphrecError,
    InvalidInput,
    QueryTimedOut,
    ReadOnlyViolation,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Row = dict[str, Any]


class Rows(list[Any]):
    """A list parameter the driver packs as any list, with a short ``repr``.

    The driver formats every ``RUN``'s query and parameters with ``repr`` for a DEBUG message
    before it knows whether DEBUG is on (neo4j 6.4, ``Bolt5x5.run``: ``" ".join(map(repr,
    fields))``), so a large parameter costs its whole text on each statement: for the graph
    writer's 5,000 served rows, 89 ms of ``repr`` against 14 ms to pack them (the Rust
    packer), more than half of the writer's CPU per SAW (docs/serving.md, round eighteen).
    A DEBUG log then shows ``<5000 items>`` where it showed the rows."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} items>"


QUIET_MIN = 16  # lists this long or longer go as Rows; shorter ones keep their repr


def quiet(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with each list or tuple of ``QUIET_MIN`` or more items as :class:`Rows`
    (the same packed bytes: the driver sends a tuple as a list too)."""
    return {
        k: Rows(v) if isinstance(v, (list, tuple)) and len(v) >= QUIET_MIN else v
        for k, v in params.items()
    }


@dataclass(frozen=True)
class Connection:
    """Where a Neo4j server answers and how to log in."""

    uri: str
    user: str
    password: str
    database: str = "neo4j"


def connection_from_settings(settings: Settings | None = None) -> Connection | None:
    """The connection ``NEO4J_URI`` names, or None when it is unset."""
    s = settings or get_settings()
    if not s.neo4j_uri:
        return None
    return Connection(
        uri=s.neo4j_uri,
        user=s.neo4j_user,
        password=s.neo4j_password.get_secret_value(),
        database=s.neo4j_database,
    )


@contextlib.contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Turn the driver's exceptions into graphrec errors that say what was being done."""
    try:
        yield
    except GraphrecError:
        raise
    except (nx.ServiceUnavailable, nx.SessionExpired, OSError) as e:
        raise DatabaseUnavailable(f"Neo4j is unavailable while {what}: {e}") from e
    except nx.ConstraintError as e:
        # The server's message names internal node ids: logged, not passed on.
        log.info("constraint refused %s: %s", what, e.message)
        raise Conflict(f"{what}: refused, an item with this id exists already") from e
    except nx.AuthError as e:
        raise DatabaseUnavailable(f"Neo4j refused the credentials while {what}: {e.message}") from e
    except (nx.CypherSyntaxError, nx.CypherTypeError) as e:
        raise DatabaseError(f"{what}: {e.message}") from e
    except nx.ClientError as e:
        code = e.code or ""
        if "ParameterMissing" in code or "Statement.ArgumentError" in code:
            raise InvalidInput(f"{what}: {e.message}") from e
        if "TransactionTimedOut" in code or "TransactionTimedOutClientConfiguration" in code:
            raise DatabaseUnavailable(f"{what}: timed out ({e.message})") from e
        raise DatabaseError(f"{what}: {e.message}") from e
    except nx.Neo4jError as e:
        raise DatabaseError(f"{what}: {e.message}") from e
    except nx.DriverError as e:
        raise DatabaseUnavailable(f"Neo4j driver error while {what}: {e}") from e


class Graph:
    """A Neo4j database reached through one driver, with the query library at hand."""

    def __init__(self, driver: Driver, database: str = "neo4j") -> None:
        self.driver = driver
        self.database = database

    # --- construction -------------------------------------------------------------------
    @classmethod
    def connect(cls, conn: Connection, *, settings: Settings | None = None) -> Graph:
        """Open a driver on ``conn`` and check that the server answers."""
        s = settings or get_settings()
        with translated_errors(f"connecting to {conn.uri}"):
            driver = GraphDatabase.driver(
                conn.uri,
                auth=(conn.user, conn.password),
                max_connection_pool_size=s.neo4j_max_pool_size,
                connection_timeout=s.neo4j_connection_timeout_s,
                connection_acquisition_timeout=s.neo4j_connection_timeout_s * 2,
                max_transaction_retry_time=s.neo4j_connection_timeout_s * 2,
                notifications_min_severity="OFF",
            )
            try:
                driver.verify_connectivity()
            except Exception:
                driver.close()
                raise
        return cls(driver, conn.database)

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- queries --------------------------------------------------------------------------
    def _execute(
        self, name_or_query: str | cypher.Query, params: Mapping[str, Any], *, read: bool
    ) -> list[Row]:
        query = (
            name_or_query if isinstance(name_or_query, cypher.Query) else cypher.load(name_or_query)
        )
        with translated_errors(f"running {query.name}"):
            records, _, _ = self.driver.execute_query(
                query.text,
                quiet(params),
                database_=self.database,
                routing_=RoutingControl.READ if read else RoutingControl.WRITE,
            )
        return [r.data() for r in records]

    def read(self, name: str | cypher.Query, **params: Any) -> list[Row]:
        """Run a named query on a reader and return its rows as dicts."""
        return self._execute(name, params, read=True)

    def write(self, name: str | cypher.Query, **params: Any) -> list[Row]:
        """Run a named query on the leader (auto-retried on transient errors)."""
        return self._execute(name, params, read=False)

    def write_autocommit(self, name: str, **params: Any) -> list[Row]:
        """Run a named query in an auto-commit transaction (``CALL ... IN TRANSACTIONS``)."""
        query = cypher.load(name)
        with (
            translated_errors(f"running {query.name}"),
            self.driver.session(database=self.database) as session,
        ):
            return [r.data() for r in session.run(query.text, quiet(params))]

    def explain(self, query: cypher.Query, params: Mapping[str, Any]) -> str:
        """The query type Neo4j plans for ``query`` (``r``, ``rw``, ``w`` or ``s``): EXPLAIN
        plans without running, so nothing is read or written."""
        with (
            translated_errors(f"checking {query.name}"),
            self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS
            ) as session,
        ):
            summary = session.run("EXPLAIN " + query.text, dict(params)).consume()
        return str(summary.query_type or "")

    def read_limited(
        self, query: cypher.Query, params: Mapping[str, Any], *, timeout_s: float
    ) -> tuple[list[str], list[Row]]:
        """Run ``query`` in one read transaction that Neo4j stops after ``timeout_s``; returns
        its columns (also when there are no rows) and rows. A write inside it is refused
        (:class:`ReadOnlyViolation`), a query past the limit is :class:`QueryTimedOut`."""

        @neo4j.unit_of_work(timeout=timeout_s)
        def work(tx: ManagedTransaction) -> tuple[list[str], list[Row]]:
            result = tx.run(query.text, quiet(params))
            keys = list(result.keys())
            return keys, [r.data() for r in result]

        stopped = f"{query.name} ran past its {timeout_s:g} s limit and was stopped"
        try:
            with (
                translated_errors(f"running {query.name}"),
                self.driver.session(database=self.database) as session,
            ):
                try:
                    return session.execute_read(work)
                except nx.ClientError as e:
                    code = e.code or ""
                    if "TransactionTimedOut" in code:
                        raise QueryTimedOut(stopped) from e
                    if "AccessMode" in code or "WriteOnReadOnlyAccessDatabase" in code:
                        raise ReadOnlyViolation(
                            f"{query.name} tried to write in a read-only transaction ({e.message})"
                        ) from e
                    raise
        except DatabaseUnavailable as e:
            # The driver may report a server-side timeout as a broken transaction.
            if not isinstance(e, QueryTimedOut) and "timed out" in str(e).lower():
                raise QueryTimedOut(f"{stopped}: {e}") from e
            raise

    def wipe(self, attempts: int = 5) -> None:
        """Delete every node and relationship, in batches; the schema stays. A batch that
        meets a concurrent writer (a deadlock, a transient error) is run again: the batches
        already committed stay deleted."""
        for name in ("admin/wipe_relationships", "admin/wipe"):
            for attempt in range(attempts):
                try:
                    self.write_autocommit(name)
                    break
                except DatabaseError as e:
                    if attempt == attempts - 1 or not isinstance(e.__cause__, nx.TransientError):
                        raise
                    log.info("%s met a concurrent writer (%s); running it again", name, e)
                    time.sleep(0.2 * (attempt + 1))

    def write_rows(
        self,
        name: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        batch_size: int = 10_000,
        extra: Mapping[str, Any] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        """Write ``rows`` in batches, one transaction each (the query unwinds ``$rows``)."""
        query = cypher.load(name)
        done = 0
        for start in range(0, len(rows), batch_size):
            batch = list(rows[start : start + batch_size])
            self._execute(query, {"rows": batch, **(extra or {})}, read=False)
            done += len(batch)
            if on_batch:
                on_batch(len(batch))
        return done

    def transaction(
        self,
        work: Callable[[ManagedTransaction], T],
        *,
        read: bool = False,
        what: str = "a transaction",
    ) -> T:
        """Run ``work`` in one managed (retried) transaction."""
        with translated_errors(what), self.driver.session(database=self.database) as session:
            if read:
                return session.execute_read(work)
            return session.execute_write(work)


def run_in(tx: ManagedTransaction, name: str, **params: Any) -> list[Row]:
    """Run a named query inside a transaction someone else manages."""
    return [r.data() for r in tx.run(cypher.load(name).text, quiet(params))]


def schema_statements() -> list[cypher.Query]:
    """The schema files (constraints, indexes), in file-name order."""
    return [q for n, q in sorted(cypher.library().items()) if n.startswith("schema/")]


_VECTOR_INDEX = re.compile(r"CREATE VECTOR INDEX (\w+).*?`vector\.dimensions`:\s*(\d+)", re.S)


def _schema_texts(s: Settings) -> list[tuple[cypher.Query, str]]:
    out = []
    for q in schema_statements():
        text = q.text.replace("$embedding_dim", str(int(s.embedding_dim)))
        # graphrec.learn.spectral.spectral_dim: a query and a key half per rank, plus one.
        text = text.replace("$spectral_dim", str(2 * int(s.spectral_rank) + 1))
        out.append((q, text))
    return out


def vector_index_mismatches(
    graph: Graph, settings: Settings | None = None
) -> list[tuple[str, int, int]]:
    """The vector indexes whose size in the graph differs from the configured one (say, the
    graph was migrated with another GRAPHREC_SPECTRAL_RANK): (name, held, wanted) each."""
    s = settings or get_settings()
    wanted = {
        m.group(1): int(m.group(2))
        for _, text in _schema_texts(s)
        if (m := _VECTOR_INDEX.search(text))
    }
    have = {r["name"]: r["dimensions"] for r in graph.read("admin/vector_indexes")}
    return [
        (name, int(have[name]), size)
        for name, size in sorted(wanted.items())
        if name in have and have[name] is not None and int(have[name]) != size
    ]


def migrate(graph: Graph, *, settings: Settings | None = None, reindex: bool = False) -> list[str]:
    """Apply every schema statement (each is ``IF NOT EXISTS``) and create the traffic pools;
    returns the schema statements applied.

    A vector index whose size differs from the settings (GRAPHREC_EMBEDDING_DIM,
    GRAPHREC_SPECTRAL_RANK changed after a migration) is refused with a
    :class:`~graphrec.errors.ConfigError` before anything is applied, unless ``reindex``:
    then it is dropped and created at the new size, and the vectors of the old size are
    removed (the next training writes new ones)."""
    s = settings or get_settings()
    stale = vector_index_mismatches(graph, s)
    said = [f"vector index {n} holds {held} dimensions, the settings want {want}"
            for n, held, want in stale]  # fmt: skip
    if stale and not reindex:
        raise ConfigError(
            "; ".join(said) + ". Set the sizes back (GRAPHREC_EMBEDDING_DIM, "
            "GRAPHREC_SPECTRAL_RANK: dimensions = 2 * rank + 1), or run "
            "`graphrec db migrate --reindex` to recreate the index at the new size (vectors "
            "of the old size are removed; `graphrec train` writes new ones)."
        )
    for (name, _, _), line in zip(stale, said, strict=True):
        log.warning("%s: dropping it to create it again", line)
        graph.write("admin/drop_index", index=name)
    if stale:
        graph.write_autocommit(
            "admin/drop_stale_vectors",
            embedding_dim=int(s.embedding_dim),
            spectral_dim=2 * int(s.spectral_rank) + 1,
        )
        graph.write("admin/spectral_vectors_changed")
    applied = []
    for q, text in _schema_texts(s):
        # Schema commands take no parameters; the vector sizes are the values they need.
        graph._execute(cypher.Query(name=q.name, text=text, path=q.path), {}, read=False)
        applied.append(q.name)
    graph.write("admin/await_indexes")
    # The traffic pools are part of what a fresh graph needs: without them an upload has no
    # cold-start pool to enter and a graph filled through the API or an import serves nothing.
    graph.write("world/merge_pools", rows=[p.as_dict() for p in POOLS])
    return applied


def iter_batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = [
    "Connection",
    "Graph",
    "connection_from_settings",
    "iter_batches",
    "migrate",
    "neo4j",
    "run_in",
    "translated_errors",
]
