"""The graph writer's served impressions against real Neo4j and real Redis (world S): a batch
holding a video many times moves its counters by exactly the SAWs it created (a served_id
already stored, an unknown user or video and a repeat within the batch count nothing; a pool
with budget 0 counts no ``served``), and applying the batch again changes nothing."""

from __future__ import annotations

from typing import Any

from graphrec.db import Graph
from graphrec.spine import Spine
from graphrec.spine.stream import Entry
from graphrec.spine.writer import GraphWriter, served_rows
from graphrec.world.generate import World

T = 1_900_000_000_000


def served(feed: str, user: str, videos: list[str], at: int = T) -> Entry:
    """A ``served`` stream entry as the feed appends it (features logged for each video)."""
    x = ";".join(",".join(["0.5"] * 3) for _ in videos)
    fields = {"k": "served", "u": user, "at": str(at), "f": feed, "v": ",".join(videos), "x": x}
    return Entry("s", f"{at}-0", fields)


def state(graph: Graph, videos: list[str]) -> dict[str, dict[str, Any]]:
    return {r["video_id"]: r for r in graph.read("serving/served_state", video_ids=videos)}


def test_a_batch_moves_each_videos_counters_by_the_saws_it_created(
    spine: Spine, loaded_graph: Graph, world_s: World
) -> None:
    by_pool = {v["pool"]: v["id"] for v in world_s.videos if v["status"] == "approved"}
    hot = next(v["id"] for v in world_s.videos if v["pool"] == "cold_start" and v["budget"] > 0)
    cold = by_pool["long_tail"]  # IN_POOL with budget 0: no served count
    u = [x["id"] for x in world_s.users[:4]]
    before = state(loaded_graph, [hot, cold])
    assert before[cold]["budget"] == 0 and before[hot]["budget"] > 0
    writer = GraphWriter(loaded_graph, spine)
    first = [served("f1", u[0], [hot, cold]), served("f2", u[1], [hot])]
    assert writer.apply(first)["served"] == 3

    batch = [
        served("f1", u[0], [hot, cold]),  # stored already
        served("f3", u[2], [cold, "no-such-video", hot]),
        served("f4", u[3], [hot]),
        served("f5", "no-such-user", [hot, cold]),
        served("f3", u[2], [cold, "no-such-video", hot]),  # the same entry twice in a batch
    ]
    assert len(served_rows(batch)) == 8  # each served_id once
    assert writer.apply(batch)["served"] == 3  # f3: cold, hot; f4: hot
    after = state(loaded_graph, [hot, cold])
    assert after[hot]["impressions"] == before[hot]["impressions"] + 4
    assert after[hot]["served"] == before[hot]["served"] + 4
    assert after[hot]["saws"] == before[hot]["saws"] + 4  # f1, f2, f3, f4
    assert after[cold]["impressions"] == before[cold]["impressions"] + 2
    assert after[cold]["served"] == before[cold]["served"]  # budget 0: not counted
    assert after[cold]["saws"] == before[cold]["saws"] + 2  # f1, f3
    # Applying both batches again (a consumer killed after commit, before ack) changes nothing.
    assert writer.apply(first + batch)["served"] == 0
    assert state(loaded_graph, [hot, cold]) == after


def test_the_saw_benchmark_serves_feeds_as_the_feed_logs_them(world_s: World) -> None:
    import numpy as np

    from graphrec.bench.saw import FEED, served_entries
    from graphrec.learn.ranker import LOGGED

    entries = served_entries(world_s, feeds=50, rng=np.random.default_rng(0), tag="t", at=T)
    rows = served_rows(entries)
    assert len(rows) == 50 * FEED  # 10 distinct videos a feed, each served_id once
    assert [r["video_id"] for r in rows] == sorted(r["video_id"] for r in rows)  # lock order
    assert all(len(r["x"]) == len(LOGGED) for r in rows)
    counts = np.unique([r["video_id"] for r in rows], return_counts=True)[1]
    assert counts.max() >= 10  # popular videos recur within a batch
