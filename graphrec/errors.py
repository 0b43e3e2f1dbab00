"""graphrec's errors: every one subclasses :class:`GraphrecError`.

The library raises these; the API maps them to HTTP status codes in one handler and the CLI
prints their message and exits non-zero.
"""

from __future__ import annotations


class GraphrecError(Exception):
    """Base of every error graphrec raises on purpose."""

    http_status = 500
    # What an API client is told for a 5xx (the message itself goes to the server log only:
    # it may name addresses or the database's internals).
    public = "internal error; the details are in the server log"


class ConfigError(GraphrecError):
    """A setting or the environment is wrong (missing Java, a bad port...)."""

    http_status = 500


class InvalidInput(GraphrecError):
    """Input the caller can fix: a malformed record, an unknown size, a bad parameter."""

    http_status = 422


class NotFound(GraphrecError):
    """An id that names nothing in the graph."""

    http_status = 404


class Conflict(GraphrecError):
    """The request contradicts what is stored."""

    http_status = 409


class DatabaseUnavailable(GraphrecError):
    """Neo4j cannot be reached or did not answer in time."""

    http_status = 503
    public = "Neo4j is unavailable; retry shortly"


class ReadOnlyViolation(InvalidInput):
    """A query that must only read would write (or change the schema); it was refused."""


class QueryTimedOut(DatabaseUnavailable):
    """A query ran past its time limit and was stopped by Neo4j."""


class DatabaseError(GraphrecError):
    """Neo4j refused a query for a reason that is not the caller's input."""

    http_status = 500


class ServerStartError(GraphrecError):
    """The locally launched Neo4j server did not come up."""


class CheckpointError(GraphrecError):
    """A model checkpoint is missing, corrupt or does not match the graph."""

    http_status = 409
