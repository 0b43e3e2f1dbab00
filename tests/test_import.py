"""Importing users, items and interactions from CSV (and MovieLens) into real Neo4j."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from graphrec.config import Settings
from graphrec.db import Graph, migrate
from graphrec.errors import InvalidInput
from graphrec.feed import Recommender
from graphrec.importer import RatingRule, import_dataset, read_folder
from graphrec.importer.movielens import read_raw, to_dataset
from graphrec.world.load import summary

DAY = 86_400_000
T0 = 1_600_000_000_000
ML = Path("/work/shared/data/ml-latest-small")


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three users, two creators, six items; kinds and ratings mixed; ISO and ms times."""
    d = tmp_path / "data"
    d.mkdir()
    write_csv(
        d / "users.csv",
        ["id", "name", "created_at"],
        [["ana", "Ana", "2020-09-01T00:00:00"], ["bo", "", ""], ["cy", "Cy", ""]],
    )
    write_csv(d / "creators.csv", ["id", "name"], [["chef", "The Chef"]])
    items = [
        ["v1", "chef", "pasta night", "recipe|#Pasta", "food", T0 - 30 * DAY],
        ["v2", "chef", "bread", "baking", "food", ""],
        ["v3", "dj", "new beat", "beat", "music", T0 - 20 * DAY],
        ["v4", "dj", "remix", "", "music|dance", T0 - 10 * DAY],
        ["v5", "dj", "live set", "live", "music", T0 - 5 * DAY],
        ["v6", "chef", "soup", "recipe", "food", T0 + 9 * DAY],
    ]
    write_csv(
        d / "items.csv", ["id", "creator", "caption", "tags", "categories", "created_at"], items
    )
    inter = [
        ["ana", "v1", T0, "like", "", ""],
        ["ana", "v2", T0 + DAY, "view", "", 12000],
        ["ana", "v2", T0 + DAY, "follow", "", ""],
        ["bo", "v3", T0 + 2 * DAY, "", "5", ""],
        ["bo", "v4", T0 + 3 * DAY, "", "1.5", ""],
        ["cy", "v1", "2020-09-20T10:00:00+00:00", "", "3", ""],
        ["cy", "v5", T0 + 4 * DAY, "impression", "", ""],
    ]
    write_csv(d / "interactions.csv", ["user", "item", "at", "kind", "rating", "watch_ms"], inter)
    return d


def rel_count(graph: Graph, rel: str) -> int:
    return summary(graph)["relationship"].get(rel, 0)


def test_generic_import_keeps_times_and_serves_feeds(
    graph: Graph, folder: Path, settings: Settings
) -> None:
    ds = read_folder(folder)
    report = import_dataset(graph, ds, settings=settings, batch_size=3)
    s = summary(graph)
    assert s["node"]["User"] == 3 and s["node"]["Video"] == 6 and s["node"]["Creator"] == 2
    assert s["node"]["Pool"] == 5
    # Ratings became events by the rule: 5 -> view + complete + like, 1.5 -> view + skip.
    assert s["relationship"]["LIKED"] == 2  # ana's like, bo's 5 stars
    assert s["relationship"]["SKIPPED"] == 1
    assert s["relationship"]["COMPLETED"] == 1
    # One impression per (user, item) pair with any interaction, explicit ones kept.
    assert s["relationship"]["SAW"] == 6
    assert s["relationship"]["FOLLOWS"] == 1
    assert report.relationships["VIEWED"] == 4
    rows = graph.read("serving/video_detail", video_id="v2")
    assert rows[0]["created_at"] == T0 + DAY  # backdated to its first interaction
    ana = graph.read("serving/user_profile", user_id="ana", top=5)[0]
    assert ana["created_at"] == 1_598_918_400_000  # 2020-09-01 UTC, as given

    # Recent and barely seen (v6, created after the last event) -> cold start; others long tail.
    def pool(vid: str) -> str:
        return graph.read("serving/video_detail", video_id=vid)[0]["pool"]["id"]

    assert pool("v6") == "cold_start" and pool("v1") == "long_tail"
    feed = Recommender(graph, settings).feed("cy", 3, record=False)
    assert feed.items, "an imported graph serves feeds"
    assert "v1" not in {it.video_id for it in feed.items}  # seen through its rating


def test_import_twice_creates_nothing_and_resumes(
    graph: Graph, folder: Path, settings: Settings
) -> None:
    ds = read_folder(folder)
    import_dataset(graph, ds, settings=settings, batch_size=2)
    first = summary(graph)
    again = import_dataset(graph, ds, settings=settings, batch_size=2)
    assert summary(graph) == first
    assert again.skipped_batches >= 3
    assert sum(again.relationships.get(t, 0) for t in ("SAW", "VIEWED", "LIKED")) == 0


def test_bad_folder_names_every_problem_and_writes_nothing(graph: Graph, folder: Path) -> None:
    with open(folder / "interactions.csv", "a", newline="") as f:
        w = csv.writer(f)
        w.writerow(["zed", "v1", T0, "like", "", ""])  # line 9
        w.writerow(["ana", "v9", "yesterday", "", "4", ""])  # line 10
        w.writerow(["ana", "v1", 1_600_000_000, "poke", "", ""])  # line 11
        w.writerow(["ana", "v1", T0, "like", "4", ""])  # line 12
    with open(folder / "items.csv", "a", newline="") as f:
        csv.writer(f).writerow(["v1", "chef", "dup", "", "", ""])  # line 8
    with pytest.raises(InvalidInput) as e:
        read_folder(folder)
    msg = str(e.value)
    for expected in (
        "items.csv:8: duplicate id 'v1'",
        "interactions.csv:9: user 'zed' is not in users.csv",
        "interactions.csv:10: item 'v9' is not in items.csv",
        "interactions.csv:10: at:",
        "interactions.csv:11: at: 1600000000 looks like epoch seconds",
        "interactions.csv:11: kind 'poke'",
        "interactions.csv:12: give a kind or a rating, not both",
    ):
        assert expected in msg
    assert summary(graph)["node"].get("User", 0) == 0


def test_unknown_column_and_missing_file(folder: Path) -> None:
    (folder / "users.csv").write_text("id,nmae\nana,Ana\n")
    with pytest.raises(InvalidInput, match=r"users.csv:1: unknown column\(s\) \['nmae'\]"):
        read_folder(folder)
    (folder / "items.csv").unlink()
    with pytest.raises(InvalidInput, match=r"missing items\.csv"):
        read_folder(folder)


def test_migrate_alone_creates_the_pools(graph: Graph, settings: Settings) -> None:
    assert summary(graph)["node"].get("Pool", 0) == 0
    migrate(graph, settings=settings)
    assert summary(graph)["node"]["Pool"] == 5


def ml_slice(tmp_path: Path, users: set[int]) -> Path:
    """A few real MovieLens users with the movies they rated or tagged."""
    d = tmp_path / "ml"
    d.mkdir()
    movies: set[int] = set()
    for name in ("ratings.csv", "tags.csv"):
        lines = (ML / name).read_text(encoding="utf-8").splitlines()
        kept = [lines[0]] + [ln for ln in lines[1:] if int(ln.split(",", 1)[0]) in users]
        movies |= {int(ln.split(",")[1]) for ln in kept[1:]}
        (d / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    with (
        open(ML / "movies.csv", newline="", encoding="utf-8") as f,
        open(d / "movies.csv", "w", newline="", encoding="utf-8") as g,
    ):
        r, w = csv.reader(f), csv.writer(g)
        w.writerow(next(r))
        w.writerows(row for row in r if int(row[0]) in movies)
    return d


@pytest.mark.skipif(not ML.is_dir(), reason="ml-latest-small is not on this machine")
def test_movielens_slice(graph: Graph, tmp_path: Path, settings: Settings) -> None:
    folder = ml_slice(tmp_path, {2, 7, 62})
    raw = read_raw(folder)
    ds = read_folder(folder, rule=RatingRule(like_at=4.0, skip_at=2.0))
    import_dataset(graph, ds, settings=settings)
    s = summary(graph)
    assert s["node"]["User"] == 3
    assert s["relationship"]["LIKED"] == int((raw.ratings >= 4).sum())
    assert s["relationship"]["SKIPPED"] == int((raw.ratings <= 2).sum())
    assert s["relationship"]["VIEWED"] == len(raw.ratings)
    assert s["relationship"]["COMMENTED"] == len(raw.tag_users)  # a tag application
    # User 2 tagged "The Wolf of Wall Street" (106782) "Leonardo DiCaprio": a hashtag now.
    tags = graph.read("serving/video_detail", video_id="m106782")[0]["tags"]
    assert "leonardodicaprio" in tags and "drama" in tags and "crime" in tags
    # The creator surrogate: first genre + release year.
    assert graph.read("serving/video_detail", video_id="m106782")[0]["creator_id"] == "comedy-2013"
    # Per-user cut: nothing at or after a user's time is imported (hashtags included).
    cut = to_dataset(raw, until={2: 0})
    wolf = next(it for it in cut.items if it["id"] == "m106782")
    assert "leonardodicaprio" not in wolf["tags"] and "crime" in wolf["categories"]
    assert cut.counts()["users"] == 3 and len(cut.interactions) < len(ds.interactions)
