"""The query library: every Cypher statement graphrec runs lives in ``cypher/`` as a file.

A file holds one query and starts with a header of ``//`` comment lines::

    // Lists cold-start videos still under budget.
    // params: $user_id (string), $limit (int, default 50)
    // returns: video_id, budget, served

Queries are named by their path without the suffix (``pools/record_impressions``) and loaded
once. Values only ever travel as ``$params``; where a label or relationship type must vary,
:func:`checked_identifier` holds it to an allow-list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from graphrec.errors import InvalidInput, NotFound

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def cypher_dir() -> Path:
    """The ``cypher/`` folder: beside the package in a checkout, inside it when installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "cypher", here / "_cypher"):
        if candidate.is_dir():
            return candidate
    raise NotFound(f"the cypher/ query folder is missing (looked beside {here})")


@dataclass(frozen=True)
class Query:
    """One named query and what its header says about it."""

    name: str
    text: str
    path: Path
    description: str = ""
    header: dict[str, str] = field(default_factory=dict)

    @property
    def params(self) -> list[str]:
        """The ``$params`` the query text uses, in order of first use."""
        seen: dict[str, None] = {}
        for match in _PARAM.finditer(_strip_comments(self.text)):
            seen.setdefault(match.group(1), None)
        return list(seen)

    @property
    def returns(self) -> list[str]:
        """Columns the header promises (``// returns: a, b``)."""
        raw = self.header.get("returns", "")
        return [c.strip().split(" ")[0] for c in raw.split(",") if c.strip()]

    def __str__(self) -> str:
        return self.text


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def parse(name: str, path: Path, text: str) -> Query:
    """Split a query file into its header (leading ``//`` lines) and its statement."""
    description: list[str] = []
    header: dict[str, str] = {}
    key: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("//"):
            if stripped:
                break
            continue
        body = stripped[2:].strip()
        m = re.match(r"^([a-z_]+):\s*(.*)$", body)
        if m and m.group(1) in {"params", "returns", "name", "defaults", "mode", "timeout"}:
            key = m.group(1)
            header[key] = m.group(2)
        elif key and body:
            header[key] += " " + body
        elif body:
            description.append(body)
    statement = _strip_comments(text).strip()
    if not statement:
        raise InvalidInput(f"{path}: holds no Cypher statement")
    return Query(
        name=name, text=statement, path=path, description=" ".join(description), header=header
    )


@cache
def _library(root: Path) -> dict[str, Query]:
    queries: dict[str, Query] = {}
    for path in sorted(root.rglob("*.cypher")):
        name = path.relative_to(root).with_suffix("").as_posix()
        queries[name] = parse(name, path, path.read_text(encoding="utf-8"))
    return queries


# Further query folders beside cypher/ (the test suite registers tests/cypher); production
# reads cypher/ only.
_extra_roots: list[Path] = []


def add_root(root: Path) -> None:
    """Make the queries in ``root`` loadable by name too (a name already taken is refused)."""
    root = root.resolve()
    if not root.is_dir():
        raise NotFound(f"no query folder at {root}")
    if root in _extra_roots or root == cypher_dir():
        return
    taken = set(library())
    clash = sorted(taken & set(_library(root)))
    if clash:
        raise InvalidInput(f"{root}: query names already taken: {', '.join(clash)}")
    _extra_roots.append(root)
    _merged.cache_clear()


def roots() -> list[Path]:
    """The folders queries are read from: ``cypher/`` first, then any added with add_root."""
    return [cypher_dir(), *_extra_roots]


@cache
def _merged() -> dict[str, Query]:
    queries: dict[str, Query] = {}
    for root in roots():
        queries.update(_library(root))
    return queries


def library() -> dict[str, Query]:
    """Every query by name: ``cypher/`` (and any added root), read once per process."""
    return _merged()


def load(name: str) -> Query:
    """The query called ``name`` (e.g. ``world/load_users``)."""
    try:
        return library()[name]
    except KeyError:
        where = ", ".join(str(r) for r in roots())
        raise NotFound(f"no query named {name!r} in {where}") from None


def checked_identifier(value: str, allowed: frozenset[str] | set[str]) -> str:
    """A label or relationship type that may vary, held to an allow-list."""
    if value not in allowed or not _IDENTIFIER.match(value):
        raise InvalidInput(f"{value!r} is not one of {sorted(allowed)}")
    return value
