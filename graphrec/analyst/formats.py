"""Output formats of an analyst query's rows: a rich table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphrec.analyst.runner import Result

FORMATS = ("table", "csv", "json")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple | dict):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return str(value)


def to_json(result: Result) -> str:
    """The rows as a JSON array of objects (keys in column order)."""
    rows = [{c: _jsonable(r.get(c)) for c in result.columns} for r in result.rows]
    return json.dumps(rows, indent=2, ensure_ascii=False)


def to_csv(result: Result) -> str:
    """The rows as CSV with a header line; lists and maps as JSON, null as empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result.columns)
    for r in result.rows:
        writer.writerow([_cell(r.get(c)) for c in result.columns])
    return buf.getvalue()


def to_table(result: Result) -> Any:
    """The rows as a rich Table (every column shown, also when there are no rows)."""
    from rich.table import Table

    n = len(result.rows)
    table = Table(title=result.query.name, caption=f"{n} row{'s' if n != 1 else ''}")
    for c in result.columns:
        table.add_column(c, overflow="fold")
    for r in result.rows:
        table.add_row(*[_cell(r.get(c)) for c in result.columns])
    return table
