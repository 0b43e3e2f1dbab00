"""``bench ingestcpu``'s traffic: what it posts is what its docs say (no server needed)."""

from __future__ import annotations

import json

from graphrec.bench.ingestcpu import make_batches
from graphrec.events import validate


def test_batches_are_users_sending_runs_of_new_valid_events() -> None:
    users = [f"u{i}" for i in range(30)]
    videos = [f"v{i}" for i in range(200)]
    bodies = make_batches(
        users, videos, batches=3, batch=100, users_per_batch=5, run_id="t", seed=1
    )
    batches = [json.loads(b) for b in bodies]
    assert [len(b) for b in batches] == [100, 100, 100]
    ids = [e["event_id"] for b in batches for e in b]
    assert len(set(ids)) == len(ids)  # every event id new
    for b in batches:
        good, bad = validate(b)
        assert bad == [] and len(good) == 100
        # five users a batch, each sending 20 events in a row
        runs = [b[i]["user_id"] for i in range(0, 100, 20)]
        assert all(e["user_id"] == runs[i // 20] for i, e in enumerate(b))
    # Zipf over the videos: the first video far more often than a middle one
    seen = [e["video_id"] for b in batches for e in b]
    assert seen.count("v0") > seen.count("v100")
