"""A world on disk: a folder of CSV files, a manifest, and the latent truth as ``.npz``.

Reading checks every record (fields, types, references) and names the file and line of the
first bad one, before anything is written to the graph.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.domain import SERVED_POOLS
from graphrec.errors import InvalidInput
from graphrec.world.generate import KINDS, Interactions, World

FORMAT_VERSION = 1
POOLS = SERVED_POOLS
STATUSES = ("approved", "rejected", "review")

_COLUMNS: dict[str, list[str]] = {
    "categories": ["id", "name"],
    "tags": ["id", "category"],
    "creators": ["id", "name", "followers", "strikes", "joined_at"],
    "users": ["id", "name", "created_at", "last_active_at", "active_hour"],
    "videos": [
        "id",
        "creator",
        "caption",
        "hashtags",
        "duration_ms",
        "created_at",
        "status",
        "reasons",
        "pool",
        "budget",
    ],
    "interactions": ["kind", "user", "video", "at", "watch_ms"],
}
_INTS = {
    "followers",
    "strikes",
    "joined_at",
    "created_at",
    "last_active_at",
    "active_hour",
    "duration_ms",
    "budget",
    "at",
    "watch_ms",
}


def write_world(world: World, folder: Path) -> Path:
    """Write ``world`` into ``folder`` (created if needed); returns the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("categories", "tags", "creators", "users", "videos"):
        rows: list[dict[str, Any]] = getattr(world, name)
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(_COLUMNS[name])
            for row in rows:
                w.writerow([_cell(row.get(c)) for c in _COLUMNS[name]])
    inter = world.interactions
    user_ids = np.array([u["id"] for u in world.users], dtype=object)
    video_ids = np.array([v["id"] for v in world.videos], dtype=object)
    kinds = np.array(KINDS, dtype=object)
    with open(folder / "interactions.csv", "w", newline="", encoding="utf-8") as f:
        f.write(",".join(_COLUMNS["interactions"]) + "\n")
        step = 200_000
        for s in range(0, len(inter), step):
            sl = slice(s, s + step)
            cols = zip(
                kinds[inter.kind[sl]],
                user_ids[inter.user[sl]],
                video_ids[inter.video[sl]],
                inter.at[sl].tolist(),
                inter.watch_ms[sl].tolist(),
                strict=True,
            )
            f.write("".join(f"{k},{u},{v},{a},{m}\n" for k, u, v, a, m in cols))
    np.savez_compressed(folder / "latent.npz", **world.latent)  # type: ignore[arg-type]
    manifest = {
        "format": FORMAT_VERSION,
        "size": world.size,
        "seed": world.seed,
        "now_ms": world.now_ms,
        "counts": world.counts(),
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "|".join(str(x) for x in value)
    return "" if value is None else value


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    if not path.exists():
        raise InvalidInput(f"{path}: file is missing")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            expected = _COLUMNS[path.stem]
            if header != expected:
                raise InvalidInput(f"{path.name}:1: header {header} should be {expected}")
            for lineno, values in enumerate(reader, start=2):
                if len(values) != len(expected):
                    raise InvalidInput(
                        f"{path.name}:{lineno}: {len(values)} fields, expected {len(expected)}"
                    )
                yield lineno, dict(zip(expected, values, strict=True))
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path.name}: not UTF-8 ({e.reason} at byte {e.start})") from e
    except csv.Error as e:
        raise InvalidInput(f"{path.name}: malformed CSV: {e}") from e


def _typed(name: str, lineno: int, row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if k in _INTS:
            try:
                out[k] = int(v)
            except ValueError:
                raise InvalidInput(
                    f"{name}.csv:{lineno}: {k}={v!r} is not an integer (record {row.get('id', '')!r})"
                ) from None
            if out[k] < 0:
                raise InvalidInput(f"{name}.csv:{lineno}: {k}={v} is negative")
        else:
            out[k] = v
    if "id" in out and not out["id"]:
        raise InvalidInput(f"{name}.csv:{lineno}: empty id")
    return out


def _unique(name: str, rows: list[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, (lineno, row) in enumerate(rows):
        if row["id"] in index:
            raise InvalidInput(f"{name}.csv:{lineno}: duplicate id {row['id']!r}")
        index[row["id"]] = i
    return index


def read_world(folder: Path) -> World:
    """Read and check a world folder written by :func:`write_world`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInput(
            f"{folder}: no such world folder (make one with `graphrec world generate`)"
        )
    manifest = _read_manifest(folder)
    table = {
        n: [(ln, _typed(n, ln, r)) for ln, r in _rows(folder / f"{n}.csv")]
        for n in ("categories", "tags", "creators", "users", "videos")
    }
    cats = _unique("categories", table["categories"])
    tags = _unique("tags", table["tags"])
    creators = _unique("creators", table["creators"])
    users = _unique("users", table["users"])
    videos = _unique("videos", table["videos"])
    for ln, t in table["tags"]:
        if t["category"] not in cats:
            raise InvalidInput(
                f"tags.csv:{ln}: tag {t['id']!r} names category {t['category']!r}, which does not exist"
            )
    video_rows = [_checked_video(ln, v, creators, tags) for ln, v in table["videos"]]
    inter = _read_interactions(folder / "interactions.csv", users, videos)
    latent: dict[str, np.ndarray] = {}
    if (folder / "latent.npz").exists():
        with np.load(folder / "latent.npz") as z:
            latent = {k: z[k] for k in z.files}
    return World(
        size=str(manifest.get("size", "?")),
        seed=int(manifest.get("seed", 0)),
        now_ms=int(manifest.get("now_ms", 0)),
        categories=[r for _, r in table["categories"]],
        tags=[r for _, r in table["tags"]],
        creators=[r for _, r in table["creators"]],
        users=[r for _, r in table["users"]],
        videos=video_rows,
        interactions=inter,
        latent=latent,
    )


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError:
        raise InvalidInput(f"{folder}/manifest.json: file is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{folder}/manifest.json: malformed JSON ({e})") from e
    if manifest.get("format") != FORMAT_VERSION:
        raise InvalidInput(
            f"{folder}/manifest.json: format {manifest.get('format')!r} is not {FORMAT_VERSION}"
        )
    return dict(manifest)


def _checked_video(
    ln: int, v: dict[str, Any], creators: dict[str, int], tags: dict[str, int]
) -> dict[str, Any]:
    """A video row with its lists split, its creator, hashtags, status and pool checked."""
    if v["creator"] not in creators:
        raise InvalidInput(
            f"videos.csv:{ln}: video {v['id']!r} names creator {v['creator']!r}, which does not exist"
        )
    v["hashtags"] = [h for h in v["hashtags"].split("|") if h]
    for h in v["hashtags"]:
        if h not in tags:
            raise InvalidInput(
                f"videos.csv:{ln}: video {v['id']!r} has hashtag {h!r}, which is not in tags.csv"
            )
    v["reasons"] = [r for r in v["reasons"].split("|") if r]
    if v["status"] not in STATUSES:
        raise InvalidInput(
            f"videos.csv:{ln}: video {v['id']!r} has status {v['status']!r}, not one of {STATUSES}"
        )
    v["pool"] = v["pool"] or None
    if v["pool"] is not None and v["pool"] not in POOLS:
        raise InvalidInput(
            f"videos.csv:{ln}: video {v['id']!r} has pool {v['pool']!r}, not one of {POOLS}"
        )
    return v


def _read_interactions(path: Path, users: dict[str, int], videos: dict[str, int]) -> Interactions:
    """The history as columns, each row's kind, user and video checked."""
    kinds, us, vs, ats, wms = [], [], [], [], []
    kind_index = {k: i for i, k in enumerate(KINDS)}
    for ln, r in _rows(path):
        try:
            kinds.append(kind_index[r["kind"]])
        except KeyError:
            raise InvalidInput(
                f"interactions.csv:{ln}: kind {r['kind']!r} is not one of {KINDS}"
            ) from None
        try:
            us.append(users[r["user"]])
        except KeyError:
            raise InvalidInput(
                f"interactions.csv:{ln}: user {r['user']!r} does not exist"
            ) from None
        try:
            vs.append(videos[r["video"]])
        except KeyError:
            raise InvalidInput(
                f"interactions.csv:{ln}: video {r['video']!r} does not exist"
            ) from None
        try:
            ats.append(int(r["at"]))
            wms.append(int(r["watch_ms"]))
        except ValueError:
            raise InvalidInput(f"interactions.csv:{ln}: at/watch_ms must be integers") from None
    return Interactions(
        kind=np.array(kinds, dtype=np.int8),
        user=np.array(us, dtype=np.int32),
        video=np.array(vs, dtype=np.int32),
        at=np.array(ats, dtype=np.int64),
        watch_ms=np.array(wms, dtype=np.int32),
    )


def fingerprint(world: World) -> str:
    """A short hash of a world's interaction history: names its load batches."""
    h = hashlib.sha1()
    for arr in (
        world.interactions.kind,
        world.interactions.user,
        world.interactions.video,
        world.interactions.at,
    ):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(str(len(world.users)).encode())
    h.update(str(len(world.videos)).encode())
    return h.hexdigest()[:16]
