"""The generic import format: a folder of CSV files, read and checked whole before any write.

``users.csv``, ``items.csv`` and ``interactions.csv`` are required, ``creators.csv`` is
optional (creators named only in ``items.csv`` are created with their id as name). Columns are
matched by header name, in any order; an unknown column is an error (a typo would otherwise
drop data silently). See ``docs/import.md`` for the full description.

Every problem found is reported as ``file:line: what`` (up to :data:`MAX_ERRORS`), and nothing
is written unless the whole folder is good.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.errors import InvalidInput
from graphrec.importer.dataset import KIND_INDEX, Dataset, Interactions
from graphrec.lifecycle.tagging import normalise_hashtag

MAX_ERRORS = 20
MIN_MS = 100_000_000_000  # 1973-03-03: smaller integers are taken for seconds, an error
MAX_MS = 4_102_444_800_000  # 2100-01-01

COLUMNS: dict[str, tuple[set[str], set[str]]] = {  # file -> (required, optional)
    "users": ({"id"}, {"name", "created_at"}),
    "creators": ({"id"}, {"name", "created_at"}),
    "items": ({"id", "creator"}, {"caption", "tags", "categories", "created_at", "duration_ms"}),
    "interactions": ({"user", "item", "at"}, {"kind", "rating", "watch_ms"}),
}


@dataclass(frozen=True)
class RatingRule:
    """How a rating becomes events: every rating an impression and a view; a rating of at
    least ``like_at`` also a completion and a like; one of at most ``skip_at`` also a skip."""

    like_at: float = 4.0
    skip_at: float = 2.0

    def kinds(self, rating: float) -> list[str]:
        out = ["impression", "view"]
        if rating >= self.like_at:
            out += ["complete", "like"]
        elif rating <= self.skip_at:
            out.append("skip")
        return out

    def describe(self) -> str:
        return (
            f"every rating: impression + view; rating >= {self.like_at:g}: + complete + like; "
            f"rating <= {self.skip_at:g}: + skip"
        )


class Problems:
    """Collects ``file:line: what`` messages; raises them together."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.count = 0

    def add(self, where: str, what: str) -> None:
        self.count += 1
        if len(self.messages) < MAX_ERRORS:
            self.messages.append(f"{where}: {what}")

    def raise_if_any(self, folder: Path) -> None:
        if self.count:
            more = (
                f"\n... and {self.count - len(self.messages)} more"
                if self.count > len(self.messages)
                else ""
            )
            raise InvalidInput(
                f"{folder}: {self.count} problem(s), nothing was written:\n"
                + "\n".join(self.messages)
                + more
            )


def parse_time(text: str) -> int:
    """Epoch milliseconds from an integer (ms) or an ISO-8601 date-time (UTC when naive)."""
    text = text.strip()
    try:
        value = int(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is neither epoch milliseconds nor an ISO-8601 date-time"
            ) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        value = int(dt.timestamp() * 1000)
    else:
        if 0 <= value < MIN_MS:
            raise ValueError(f"{value} looks like epoch seconds; give epoch milliseconds")
    if not 0 <= value <= MAX_MS:
        raise ValueError(f"{text!r} is outside 1970..2100")
    return value


def read_rows(path: Path, problems: Problems) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV file whose header names known columns."""
    name = path.stem
    required, optional = COLUMNS[name]
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            missing = sorted(required - set(header))
            unknown = sorted(set(header) - required - optional)
            if missing or unknown or len(set(header)) != len(header):
                parts = []
                if missing:
                    parts.append(f"missing column(s) {missing}")
                if unknown:
                    parts.append(f"unknown column(s) {unknown}")
                if len(set(header)) != len(header):
                    parts.append("a column named twice")
                problems.add(
                    f"{path.name}:1",
                    "; ".join(parts)
                    + f" (required {sorted(required)}, optional {sorted(optional)})",
                )
                return
            if name == "interactions" and not {"kind", "rating"} & set(header):
                problems.add(f"{path.name}:1", "needs a kind or a rating column (or both)")
                return
            for lineno, values in enumerate(reader, start=2):
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue  # blank line
                if len(values) != len(header):
                    problems.add(
                        f"{path.name}:{lineno}", f"{len(values)} fields, expected {len(header)}"
                    )
                    continue
                yield lineno, {h: v.strip() for h, v in zip(header, values, strict=True)}
    except UnicodeDecodeError as e:
        problems.add(path.name, f"not UTF-8 ({e.reason} at byte {e.start})")
    except csv.Error as e:
        problems.add(path.name, f"malformed CSV: {e}")


def _tag_list(raw: str, where: str, problems: Problems) -> list[str]:
    out: list[str] = []
    for part in raw.split("|"):
        if not part.strip():
            continue
        try:
            tag = normalise_hashtag(part)
        except InvalidInput as e:
            problems.add(where, str(e))
            continue
        if not tag:
            problems.add(where, f"tag {part!r} has nothing word-like in it")
        elif tag not in out:
            out.append(tag)
    return out


def _nodes(
    folder: Path, name: str, problems: Problems
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    rows: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    path = folder / f"{name}.csv"
    for lineno, r in read_rows(path, problems):
        where = f"{name}.csv:{lineno}"
        rid = r["id"]
        if not rid:
            problems.add(where, "empty id")
            continue
        if rid in index:
            problems.add(where, f"duplicate id {rid!r}")
            continue
        row: dict[str, Any] = {"id": rid, "name": r.get("name") or rid, "created_at": None}
        if r.get("created_at"):
            try:
                row["created_at"] = parse_time(r["created_at"])
            except ValueError as e:
                problems.add(where, f"created_at: {e}")
        if name == "items":
            row["creator"] = r["creator"]
            row["caption"] = r.get("caption", "")
            row["tags"] = _tag_list(r.get("tags", ""), where, problems)
            row["categories"] = _tag_list(r.get("categories", ""), where, problems)
            row["duration_ms"] = None
            if r.get("duration_ms"):
                try:
                    row["duration_ms"] = int(r["duration_ms"])
                    if row["duration_ms"] <= 0:
                        raise ValueError
                except ValueError:
                    problems.add(
                        where, f"duration_ms={r['duration_ms']!r} is not a positive integer"
                    )
            if not r["creator"]:
                problems.add(where, "empty creator")
        row["_line"] = lineno
        index[rid] = len(rows)
        rows.append(row)
    return rows, index


def read_generic(folder: Path, *, rule: RatingRule | None = None) -> Dataset:
    """Read and check a folder in the generic format (see the module docstring)."""
    folder = Path(folder)
    rule = rule or RatingRule()
    if not folder.is_dir():
        raise InvalidInput(f"{folder}: no such folder")
    missing = [f"{n}.csv" for n in ("users", "items", "interactions") if not (folder / f"{n}.csv").is_file()]  # fmt: skip
    if missing:
        raise InvalidInput(f"{folder}: missing {', '.join(missing)} (see docs/import.md)")
    problems = Problems()
    users, u_index = _nodes(folder, "users", problems)
    creators: list[dict[str, Any]] = []
    c_index: dict[str, int] = {}
    if (folder / "creators.csv").is_file():
        creators, c_index = _nodes(folder, "creators", problems)
    items, i_index = _nodes(folder, "items", problems)
    for it in items:
        if it["creator"] and it["creator"] not in c_index:
            c_index[it["creator"]] = len(creators)
            creators.append({"id": it["creator"], "name": it["creator"], "created_at": None})

    kinds: list[int] = []
    us: list[int] = []
    its: list[int] = []
    ats: list[int] = []
    wms: list[int] = []
    for lineno, r in read_rows(folder / "interactions.csv", problems):
        where = f"interactions.csv:{lineno}"
        ok = True
        u = u_index.get(r["user"])
        if u is None:
            problems.add(where, f"user {r['user']!r} is not in users.csv")
            ok = False
        i = i_index.get(r["item"])
        if i is None:
            problems.add(where, f"item {r['item']!r} is not in items.csv")
            ok = False
        try:
            at = parse_time(r["at"])
        except ValueError as e:
            problems.add(where, f"at: {e}")
            ok = False
        watch = 0
        if r.get("watch_ms"):
            try:
                watch = int(r["watch_ms"])
                if not 0 <= watch <= 86_400_000:
                    raise ValueError
            except ValueError:
                problems.add(where, f"watch_ms={r['watch_ms']!r} is not an integer in 0..86400000")
                ok = False
        kind, rating = r.get("kind", ""), r.get("rating", "")
        row_kinds: list[str] = []
        if kind and rating:
            problems.add(where, "give a kind or a rating, not both")
            ok = False
        elif kind:
            if kind not in KIND_INDEX:
                problems.add(where, f"kind {kind!r} is not one of {sorted(KIND_INDEX)}")
                ok = False
            row_kinds = [kind]
        elif rating:
            try:
                value = float(rating)
                if not math.isfinite(value):
                    raise ValueError
            except ValueError:
                problems.add(where, f"rating {rating!r} is not a number")
                ok = False
            else:
                row_kinds = rule.kinds(value)
        else:
            problems.add(where, "no kind and no rating")
            ok = False
        if not ok:
            continue
        for k in row_kinds:
            kinds.append(KIND_INDEX[k])
            us.append(u)  # type: ignore[arg-type]
            its.append(i)  # type: ignore[arg-type]
            ats.append(at)
            wms.append(watch if k == "view" else 0)
    problems.raise_if_any(folder)
    inter = Interactions(
        kind=np.asarray(kinds, dtype=np.int8),
        user=np.asarray(us, dtype=np.int32),
        item=np.asarray(its, dtype=np.int32),
        at=np.asarray(ats, dtype=np.int64),
        watch_ms=np.asarray(wms, dtype=np.int32),
    )
    for rows in (users, creators, items):
        for row in rows:
            row.pop("_line", None)
    return Dataset(
        name=folder.name,
        users=users,
        creators=creators,
        items=items,
        interactions=with_impressions(inter),
        notes={"format": "generic", "rating_rule": rule.describe()},
    )


def with_impressions(inter: Interactions) -> Interactions:
    """Add one impression per (user, item) pair that has none, at its first interaction:
    whatever a user did to an item, the item was shown to them (the feed treats it as seen)."""
    if not len(inter):
        return inter
    imp = KIND_INDEX["impression"]
    follow = KIND_INDEX["follow"]
    key = inter.user.astype(np.int64) << 32 | inter.item.astype(np.int64)
    has = np.unique(key[inter.kind == imp])
    cand = (inter.kind != imp) & (inter.kind != follow) & ~np.isin(key, has)
    idx = np.flatnonzero(cand)
    if not len(idx):
        return inter
    order = idx[np.lexsort((inter.at[idx], key[idx]))]
    first = order[np.r_[True, key[order][1:] != key[order][:-1]]]
    add = Interactions(
        kind=np.full(len(first), imp, dtype=np.int8),
        user=inter.user[first],
        item=inter.item[first],
        at=inter.at[first],
        watch_ms=np.zeros(len(first), dtype=np.int32),
    )
    return Interactions(
        kind=np.concatenate([inter.kind, add.kind]),
        user=np.concatenate([inter.user, add.user]),
        item=np.concatenate([inter.item, add.item]),
        at=np.concatenate([inter.at, add.at]),
        watch_ms=np.concatenate([inter.watch_ms, add.watch_ms]),
    )
