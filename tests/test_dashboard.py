"""``/dashboard`` through the real HTTP app against real Neo4j (world S, seed 7).

What a person reads on each page is checked against the graph: the funnel's counts, the last
cycle's moves, the boost videos, a user's feed with its reasons (and that it changes after an
event), a creator's spillover, communities, and the activity figures. The browser run of the
same pages is ``tests/test_dashboard_browser.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from graphrec import dashboard
from graphrec.config import Settings
from graphrec.dashboard import ServingMeter
from graphrec.db import Graph
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key"}
PAGES = [
    "/dashboard",
    "/dashboard/pools",
    "/dashboard/feed",
    "/dashboard/creators",
    "/dashboard/communities",
    "/dashboard/activity",
]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        self.urls += [v for k, v in attrs if k == wanted and v and not v.startswith("data:")]


@pytest.fixture
def client(loaded_graph: Graph, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, graph=loaded_graph)) as c:
        yield c


def cells(html: str, row_attr: str, value: str) -> list[str]:
    """The cell texts of the table row carrying ``row_attr="value"``."""
    row = re.search(rf'<tr {row_attr}="{re.escape(value)}">(.*?)</tr>', html, re.S)
    assert row, f"no row {row_attr}={value}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1])]


def feed_ids(html: str) -> list[str]:
    return re.findall(r'<li data-video="([^"]+)"', html)


def test_every_page_renders_with_only_its_own_assets(client: TestClient) -> None:
    for page in PAGES:
        r = client.get(page)
        assert r.status_code == 200, page
        assert r.headers["content-type"].startswith("text/html")
        parser = _Assets()
        parser.feed(r.text)
        assert any(u.endswith("htmx.min.js") for u in parser.urls), page
        for url in parser.urls:
            assert not urlsplit(url).netloc, f"{page} loads {url} from elsewhere"
            assert client.get(url).status_code == 200, url


def test_funnel_counts_and_last_cycle_moves_match_the_graph(
    client: TestClient, loaded_graph: Graph
) -> None:
    assert "No pool cycle has finished yet" in client.get("/dashboard").text
    cycle = client.post("/admin/pools/cycle", headers=KEY)
    assert cycle.status_code == 200, cycle.text
    html = client.get("/dashboard").text
    pools = {r["pool_id"]: r for r in loaded_graph.read("serving/pools_overview")}
    for pool, row in pools.items():
        assert cells(html, "data-pool", pool)[1] == f"{row['videos']:,}", pool
    rejected = client.get("/dashboard/panels/funnel").text
    assert "stopped at audit" in rejected
    last = dashboard.last_cycle(loaded_graph)
    assert last is not None and last["moved"] > 0
    assert f"#{last['cycle']}" in html
    for move in last["moves"][:5]:
        assert f"<code>{move['video_id']}</code>" in html
    # The funnel panel htmx refreshes is the same table.
    assert cells(client.get("/dashboard/panels/funnel").text, "data-pool", "cold_start") == cells(
        html, "data-pool", "cold_start"
    )
    assert html.count("<svg") >= 2  # the funnel and the moves are plotted


def test_boost_page_lists_the_pool_with_scores_and_rates(
    client: TestClient, loaded_graph: Graph
) -> None:
    client.post("/admin/pools/cycle", headers=KEY)
    boost = dashboard.pool_videos(loaded_graph, "boost")
    html = client.get("/dashboard/pools").text
    if not boost:
        assert "No video is in boost yet" in html
        return
    section = html.split('id="pool-boost"')[1].split("</section>")[0]
    assert re.findall(r"<code>([^<]+)</code>", section) == [v["video_id"] for v in boost]
    assert f"{boost[0]['score']:,.3f}" in section


def test_feed_panel_shows_reasons_and_changes_after_an_event(
    client: TestClient, world_s: World
) -> None:
    uid = world_s.users[5]["id"]
    page = client.get("/dashboard/feed", params={"user_id": uid})
    assert page.status_code == 200
    first = feed_ids(page.text)
    assert len(first) == 10
    assert page.text.count('class="reason"') == 10
    panel = client.get("/dashboard/panels/feed", params={"user_id": uid}).text
    assert feed_ids(panel) == first  # a preview: showing it recorded nothing
    events = [  # the user was shown the first three and watched them
        {"event_id": f"dash-{kind}-{i}", "user_id": uid, "kind": kind, "video_id": v}
        for i, v in enumerate(first[:3])
        for kind in ("impression", "view")
    ]
    assert client.post("/events", json=events, headers=KEY).status_code == 200
    after = feed_ids(client.get("/dashboard/panels/feed", params={"user_id": uid}).text)
    assert len(after) == 10 and not set(first[:3]) & set(after)


def test_unknown_ids_get_a_clear_message(client: TestClient) -> None:
    r = client.get("/dashboard/panels/feed", params={"user_id": "nobody-here"})
    assert r.status_code == 404 and "nobody-here" in r.text and 'role="alert"' in r.text
    r = client.get("/dashboard/creators", params={"creator_id": "no-creator"})
    assert r.status_code == 404 and "no-creator" in r.text
    assert client.get("/dashboard/feed", params={"user_id": "x" * 200}).status_code == 422


def test_creator_page_shows_account_and_spillover(client: TestClient, world_s: World) -> None:
    creator = world_s.creators[0]["id"]
    html = client.get("/dashboard/creators", params={"creator_id": creator}).text
    profile = client.get(f"/creators/{creator}").json()
    assert 'id="spillover"' in html
    assert f"{profile['followers']:,}" in html
    for v in profile["recent"][:3]:
        assert f"<code>{v['video_id']}</code>" in html
    for s in profile["spillover"]:
        assert f"<code>{s['video_id']}</code>" in html


def test_communities_page_lists_each_with_top_tags(client: TestClient, loaded_graph: Graph) -> None:
    assert "No communities yet" in client.get("/dashboard/communities").text
    loaded_graph.write(
        "learn/write_communities",
        rows=[
            {"id": "k1", "size": 40, "top_tags": ["dance", "music"], "label": "dance"},
            {"id": "k2", "size": 12, "top_tags": ["food"], "label": "food"},
        ],
        at=0,
    )
    html = client.get("/dashboard/communities").text
    table = html.split('id="communities"')[1]
    assert table.index("k1") < table.index("k2")  # largest first
    assert "#dance" in table and "#food" in table and "<svg" in html


def test_activity_counts_feeds_served_and_events_stored(client: TestClient, world_s: World) -> None:
    uid = world_s.users[1]["id"]
    panel = client.get("/dashboard/panels/activity").text
    assert re.search('id="feed-p50">\N{EN DASH}<', panel)  # no feed served yet
    for _ in range(3):
        assert client.get(f"/users/{uid}/feed").status_code == 200
    events = [
        {"event_id": f"act-{i}", "user_id": uid, "kind": "like", "video_id": v["id"]}
        for i, v in enumerate(world_s.videos[:4])
        if v["status"] == "approved"
    ]
    client.post("/events", json=events, headers=KEY)
    panel = client.get("/dashboard/panels/activity").text
    assert "3 feed requests this API worker served" in panel
    assert re.search(r'id="feed-p50">[0-9.,]+ ms<', panel)
    assert re.search(r'id="stream-lag">[0-9.,]+ ms<', panel)
    assert "graph writer has not applied" in panel


def test_live_metrics_rate_is_the_slope_of_the_event_count(loaded_graph: Graph) -> None:
    meter = ServingMeter(window_s=60)
    stored = sum(r["events"] for r in loaded_graph.read("dashboard/stored_events"))
    assert stored > 0
    meter.reading("graph", stored - 500, at=1_000.0)  # 10 s ago there were 500 fewer
    meter.feed_served(4.0, at=1_005.0)
    meter.feed_served(8.0, at=1_008.0)
    meter.feed_served(100.0, at=900.0)  # outside the window
    live = dashboard.live_metrics(loaded_graph, meter, now=1_010.0)
    assert live.events_stored == stored
    assert live.event_rate_per_s == pytest.approx(50.0)
    assert live.feed_latency.requests == 2 and live.feed_latency.p50_ms == pytest.approx(6.0)
    assert live.stream_lag_ms is None  # no stream given


def test_live_metrics_from_the_stream(
    client: TestClient, loaded_graph: Graph, settings: Settings, world_s: World
) -> None:
    spine = client.app.state.spine  # type: ignore[attr-defined]
    meter = ServingMeter(window_s=60)
    first = dashboard.live_metrics(loaded_graph, meter, spine=spine, now=1_000.0)
    assert first.event_rate_per_s is None  # one reading: no rate yet
    uid = world_s.users[2]["id"]
    approved = [v["id"] for v in world_s.videos if v["status"] == "approved"][:6]
    events = [
        {"event_id": f"rate-{i}", "user_id": uid, "kind": "like", "video_id": v}
        for i, v in enumerate(approved)
    ]
    assert client.post("/events", json=events, headers=KEY).status_code == 200
    live = dashboard.live_metrics(loaded_graph, meter, spine=spine, now=1_002.0)
    assert live.event_rate_per_s == pytest.approx(len(events) / 2)  # 6 entries in 2 s
    assert live.stream_lag_ms is not None and live.stream_lag_ms >= 0


def test_dashboard_needs_the_read_key_when_reads_do(
    loaded_graph: Graph, settings: Settings
) -> None:
    strict = settings.model_copy(update={"api_read_requires_key": True})
    with TestClient(create_app(strict, graph=loaded_graph)) as c:
        assert c.get("/dashboard").status_code == 401
        assert c.get("/dashboard/panels/feed", headers={"X-API-Key": "wrong"}).status_code == 403
        assert c.get("/dashboard", headers=KEY).status_code == 200
