"""Bring your own data: a documented CSV format (and a MovieLens adapter) into the graph.

``read_folder`` reads and checks a whole folder before anything is written;
``import_dataset`` writes it in batches, resumably. ``graphrec import DIR`` runs both.
"""

from __future__ import annotations

from pathlib import Path

from graphrec.errors import InvalidInput
from graphrec.importer.dataset import Dataset, Interactions
from graphrec.importer.generic import RatingRule, read_generic
from graphrec.importer.load import import_dataset
from graphrec.importer.movielens import is_movielens, read_movielens

FORMATS = ("auto", "generic", "movielens")


def read_folder(folder: Path, *, fmt: str = "auto", rule: RatingRule | None = None) -> Dataset:
    """Read ``folder`` in format ``fmt`` (``auto``: MovieLens when its files are there)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInput(f"{folder}: no such folder")
    if fmt == "movielens" or (fmt == "auto" and is_movielens(folder)):
        return read_movielens(folder, rule=rule)
    return read_generic(folder, rule=rule)


__all__ = [
    "FORMATS",
    "Dataset",
    "Interactions",
    "RatingRule",
    "import_dataset",
    "read_folder",
    "read_generic",
    "read_movielens",
]
