"""The generated world: deterministic per seed, with realistic rates and budgets."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.domain import COLD_START_BUDGET
from graphrec.errors import InvalidInput
from graphrec.world.generate import KINDS, generate, world_size


def test_same_seed_same_world() -> None:
    a, b = generate("S", seed=3), generate("S", seed=3)
    assert a.counts() == b.counts()
    assert a.videos == b.videos
    for col in ("kind", "user", "video", "at", "watch_ms"):
        assert np.array_equal(getattr(a.interactions, col), getattr(b.interactions, col))


def test_other_seed_other_world() -> None:
    a, b = generate("S", seed=3), generate("S", seed=4)
    assert a.videos != b.videos


def test_rates_are_ordered_like_a_real_feed() -> None:
    c = generate("S", seed=1).counts()
    assert c["impressions"] > 2 * c["views"]  # impressions >> views
    assert c["views"] > c["completes"] > c["likes"]
    assert c["likes"] > max(c["comments"], c["shares"], c["follows"]) > 0


def test_population_has_categories_niches_and_latent_truth() -> None:
    w = generate("S", seed=1)
    assert len(w.categories) >= 12
    assert {"dance", "comedy", "diy", "cringe", "food", "pets", "sports"} <= {
        c["id"] for c in w.categories
    }
    assert w.latent["user_interests"].shape == (len(w.users), len(w.categories))
    assert np.allclose(w.latent["user_interests"].sum(axis=1), 1.0, atol=1e-4)
    # Most creators are vertical (one niche), some mixed.
    vertical_share = w.latent["creator_vertical"].mean()
    assert 0.6 < vertical_share < 0.95
    # Users in one natural community share interests more than users across communities.
    theta, comm = w.latent["user_interests"], w.latent["user_community"]
    same = [
        np.dot(theta[i], theta[j])
        for i in range(60)
        for j in range(60)
        if i < j and comm[i] == comm[j]
    ]
    diff = [
        np.dot(theta[i], theta[j])
        for i in range(60)
        for j in range(60)
        if i < j and comm[i] != comm[j]
    ]
    assert np.mean(same) > 1.5 * np.mean(diff)


def test_cold_start_videos_have_a_budget_in_range_and_stay_under_it() -> None:
    w = generate("S", seed=2)
    imp = np.bincount(
        w.interactions.video[w.interactions.kind == KINDS.index("impression")],
        minlength=len(w.videos),
    )
    cold = [(i, v) for i, v in enumerate(w.videos) if v["pool"] == "cold_start"]
    assert cold
    for i, v in cold:
        assert COLD_START_BUDGET[0] <= v["budget"] <= COLD_START_BUDGET[1]
        assert imp[i] <= v["budget"]


def test_rejected_videos_are_never_shown() -> None:
    w = generate("S", seed=5)
    rejected = {i for i, v in enumerate(w.videos) if v["status"] == "rejected"}
    assert all(w.videos[i]["pool"] is None and w.videos[i]["reasons"] for i in rejected)
    assert not rejected & set(w.interactions.video.tolist())


def test_interactions_follow_latent_interests() -> None:
    w = generate("S", seed=1)
    theta = w.latent["user_interests"]
    cat = w.latent["video_category"]
    likes = w.interactions.kind == KINDS.index("like")
    liked_affinity = theta[w.interactions.user[likes], cat[w.interactions.video[likes]]].mean()
    assert liked_affinity > 2.0 / len(w.categories)  # twice what a random category would get


@pytest.mark.parametrize("bad", ["XL", "", "medium"])
def test_unknown_size_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="unknown world size"):
        world_size(bad)
