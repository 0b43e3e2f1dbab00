"""The MovieLens adapter: ``ratings.csv``, ``movies.csv`` and ``tags.csv`` as a data set.

What becomes what (also in ``docs/import.md``):

- a user ``userId`` -> User ``u<userId>``, created at their first rating or tag;
- a movie ``movieId`` -> Video ``m<movieId>``, caption = title; its genres are its categories
  (and tags: each category is also a tag); created at 1 January of the year in its title, or
  at its first rating when that is earlier (or no year is given);
- creators: MovieLens names no director or studio, so a **surrogate** stands in: the movie's
  first genre and release year (``drama-1995``: "the drama desk of 1995"). Follows, creator
  affinity and diversity caps then act on "films of one kind from one year";
- a rating -> events by :class:`~graphrec.importer.generic.RatingRule` (default: every rating an
  impression and a view; >= 4 stars also a completion and a like; <= 2 stars also a skip), at
  the rating's timestamp;
- a tag application (``tags.csv``) -> a hashtag on the movie (normalised: ``Dark comedy`` ->
  ``darkcomedy``) and a comment by that user at that time.

``until`` (per user, epoch ms) leaves out everything a user did at or after their time: the
replay benchmark imports each user's past this way, hashtags included.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.errors import InvalidInput
from graphrec.importer.dataset import KIND_INDEX, Dataset, Interactions
from graphrec.importer.generic import RatingRule, with_impressions
from graphrec.lifecycle.tagging import normalise_hashtag

FILES = ("ratings.csv", "movies.csv")
_YEAR = re.compile(r"\((\d{4})\)\s*$")
NO_GENRE = "(no genres listed)"


def is_movielens(folder: Path) -> bool:
    return all((Path(folder) / f).is_file() for f in FILES)


@dataclass
class MovieLens:
    """The raw files as columns: ratings, tag applications, movies."""

    users: np.ndarray  # rating user ids (int)
    movies: np.ndarray  # rating movie ids (int)
    ratings: np.ndarray  # float
    at: np.ndarray  # epoch ms
    tag_users: np.ndarray
    tag_movies: np.ndarray
    tag_text: list[str]
    tag_at: np.ndarray
    titles: dict[int, str]
    genres: dict[int, list[str]]


def _csv(path: Path, header: list[str]) -> list[tuple[int, list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            got = next(reader, None)
            if got != header:
                raise InvalidInput(f"{path.name}:1: header {got} should be {header}")
            return [(n, row) for n, row in enumerate(reader, start=2) if row]
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path.name}: not UTF-8 ({e.reason} at byte {e.start})") from e
    except csv.Error as e:
        raise InvalidInput(f"{path.name}: malformed CSV: {e}") from e


def read_raw(folder: Path) -> MovieLens:
    """Read and check the MovieLens files (``file:line`` on the first bad record)."""
    folder = Path(folder)
    if not is_movielens(folder):
        raise InvalidInput(f"{folder}: not a MovieLens folder (needs {', '.join(FILES)})")
    titles: dict[int, str] = {}
    genres: dict[int, list[str]] = {}
    for n, row in _csv(folder / "movies.csv", ["movieId", "title", "genres"]):
        try:
            mid = int(row[0])
            titles[mid] = row[1]
        except (ValueError, IndexError):
            raise InvalidInput(f"movies.csv:{n}: expected movieId,title,genres") from None
        if len(row) != 3:
            raise InvalidInput(f"movies.csv:{n}: {len(row)} fields, expected 3")
        genres[mid] = [g for g in row[2].split("|") if g and g != NO_GENRE]
    users, movies, ratings, at = [], [], [], []
    for n, row in _csv(folder / "ratings.csv", ["userId", "movieId", "rating", "timestamp"]):
        try:
            u, m, r, t = int(row[0]), int(row[1]), float(row[2]), int(row[3])
        except (ValueError, IndexError):
            raise InvalidInput(
                f"ratings.csv:{n}: expected userId,movieId,rating,timestamp"
            ) from None
        if m not in titles:
            raise InvalidInput(f"ratings.csv:{n}: movie {m} is not in movies.csv")
        users.append(u)
        movies.append(m)
        ratings.append(r)
        at.append(t * 1000)
    tu, tm, tt, ta = [], [], [], []
    if (folder / "tags.csv").is_file():
        for n, row in _csv(folder / "tags.csv", ["userId", "movieId", "tag", "timestamp"]):
            try:
                u, m, t = int(row[0]), int(row[1]), int(row[3])
            except (ValueError, IndexError):
                raise InvalidInput(f"tags.csv:{n}: expected userId,movieId,tag,timestamp") from None
            if m not in titles:
                raise InvalidInput(f"tags.csv:{n}: movie {m} is not in movies.csv")
            tu.append(u)
            tm.append(m)
            tt.append(row[2])
            ta.append(t * 1000)
    return MovieLens(
        users=np.asarray(users, np.int64), movies=np.asarray(movies, np.int64),
        ratings=np.asarray(ratings, np.float64), at=np.asarray(at, np.int64),
        tag_users=np.asarray(tu, np.int64), tag_movies=np.asarray(tm, np.int64), tag_text=tt,
        tag_at=np.asarray(ta, np.int64), titles=titles, genres=genres,
    )  # fmt: skip


def _tag(text: str) -> str:
    try:
        return normalise_hashtag(text)
    except InvalidInput:
        return ""  # longer than a hashtag may be: left out


def creator_of(title: str, genres: list[str]) -> str:
    """The creator surrogate: first genre and release year (``drama-1995``)."""
    m = _YEAR.search(title)
    genre = _tag(genres[0]) if genres else "nogenre"
    return f"{genre or 'nogenre'}-{m.group(1) if m else 'unknown'}"


def to_dataset(
    ml: MovieLens,
    *,
    rule: RatingRule | None = None,
    until: Mapping[int, int] | None = None,
    ratings: np.ndarray | None = None,
    name: str = "movielens",
) -> Dataset:
    """The data set (see the module docstring); ``until``: per user, leave out their actions
    at or after that time (users absent from it keep everything); ``ratings``: a mask of the
    ratings to keep instead (tags still cut by ``until``)."""
    rule = rule or RatingRule()
    keep = np.ones(len(ml.users), dtype=bool) if ratings is None else np.asarray(ratings, bool)
    tkeep = np.ones(len(ml.tag_users), dtype=bool)
    if until is not None:
        big = np.iinfo(np.int64).max
        if ratings is None:
            keep = ml.at < np.array([until.get(int(u), big) for u in ml.users], dtype=np.int64)
        tcut = np.array([until.get(int(u), big) for u in ml.tag_users], dtype=np.int64)
        tkeep = ml.tag_at < tcut if len(ml.tag_users) else tkeep
    user_list = sorted(set(ml.users.tolist()) | set(ml.tag_users.tolist()))
    u_index = {u: i for i, u in enumerate(user_list)}
    movie_list = sorted(ml.titles)
    m_index = {m: i for i, m in enumerate(movie_list)}

    hashtags: dict[int, list[str]] = {m: [] for m in movie_list}
    for m, text, k in zip(ml.tag_movies.tolist(), ml.tag_text, tkeep.tolist(), strict=True):
        tag = _tag(text) if k else ""
        if tag and tag not in hashtags[m]:
            hashtags[m].append(tag)

    first_seen: dict[int, int] = {}
    for m, t in zip(ml.movies[keep].tolist(), ml.at[keep].tolist(), strict=True):
        first_seen[m] = min(first_seen.get(m, t), t)
    start = int(ml.at.min()) if len(ml.at) else 0
    items: list[dict[str, Any]] = []
    creators: dict[str, dict[str, Any]] = {}
    for m in movie_list:
        title, gen = ml.titles[m], ml.genres[m]
        year = _YEAR.search(title)
        created = first_seen.get(m, start)
        if year:
            jan1 = int(datetime(int(year.group(1)), 1, 1, tzinfo=UTC).timestamp() * 1000)
            created = min(created, jan1) if m in first_seen else jan1
        creator = creator_of(title, gen)
        creators.setdefault(creator, {"id": creator, "name": creator, "created_at": None})
        cats = [c for c in (_tag(g) for g in gen) if c]
        items.append({
            "id": f"m{m}", "creator": creator, "caption": title, "tags": hashtags[m],
            "categories": cats, "created_at": created, "duration_ms": None,
        })  # fmt: skip

    kinds: list[np.ndarray] = []
    us: list[np.ndarray] = []
    its: list[np.ndarray] = []
    ats: list[np.ndarray] = []
    ru = np.array([u_index[int(u)] for u in ml.users[keep]], dtype=np.int32)
    ri = np.array([m_index[int(m)] for m in ml.movies[keep]], dtype=np.int32)
    rr, ra = ml.ratings[keep], ml.at[keep]
    groups: dict[tuple[str, ...], np.ndarray] = {}
    for value in np.unique(rr):
        groups.setdefault(tuple(rule.kinds(float(value))), np.zeros(len(rr), bool))
        groups[tuple(rule.kinds(float(value)))] |= rr == value
    for ks, mask in groups.items():
        for k in ks:
            kinds.append(np.full(int(mask.sum()), KIND_INDEX[k], np.int8))
            us.append(ru[mask])
            its.append(ri[mask])
            ats.append(ra[mask])
    if tkeep.any():
        kinds.append(np.full(int(tkeep.sum()), KIND_INDEX["comment"], np.int8))
        us.append(np.array([u_index[int(u)] for u in ml.tag_users[tkeep]], np.int32))
        its.append(np.array([m_index[int(m)] for m in ml.tag_movies[tkeep]], np.int32))
        ats.append(ml.tag_at[tkeep])
    inter = (
        Interactions(
            kind=np.concatenate(kinds), user=np.concatenate(us), item=np.concatenate(its),
            at=np.concatenate(ats), watch_ms=np.zeros(sum(len(a) for a in ats), np.int32),
        )
        if kinds else Interactions.empty()
    )  # fmt: skip
    users = [{"id": f"u{u}", "name": f"user {u}", "created_at": None} for u in user_list]
    return Dataset(
        name=name,
        users=users,
        creators=sorted(creators.values(), key=lambda c: c["id"]),
        items=items,
        interactions=with_impressions(inter),
        notes={
            "format": "movielens",
            "rating_rule": rule.describe(),
            "creator_surrogate": "first genre + release year (movielens names no director)",
            "tags": "tags.csv: a hashtag on the movie and a comment by the user",
        },
    )


def read_movielens(folder: Path, *, rule: RatingRule | None = None) -> Dataset:
    """Read a MovieLens folder (``ratings.csv``, ``movies.csv``, optional ``tags.csv``)."""
    return to_dataset(read_raw(folder), rule=rule, name=Path(folder).name)
