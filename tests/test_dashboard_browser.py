"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright.

The app is served by uvicorn on a free loopback port against the test Neo4j (world S). Each
page must load with no console error, no failed request and no request leaving the machine,
and fit a phone's width with no sideways scrolling; typing a user id swaps the feed panel
in, and after events are posted the panel shows a different feed. Screenshots go to
``out/screens/`` (desktop and phone width) for a person to look at.

The browser is the system one (``GRAPHREC_CHROMIUM``, else ``chromium`` on the PATH); the
Playwright package only drives it (``playwright install`` is never run). Without a browser
the test is skipped with the reason, except in CI (``CI=true``), where it fails: ``.ci/run``
installs Debian's ``chromium`` when it is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from api.main import create_app
from graphrec.config import Settings
from graphrec.db import Graph
from graphrec.world.generate import World

KEY = {"X-API-Key": "graphrec-dev-api-key"}
SCREENS = Path(__file__).resolve().parent.parent / "out" / "screens"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGES = {
    "funnel": "/dashboard",
    "pools": "/dashboard/pools",
    "feed": "/dashboard/feed",
    "creator": "/dashboard/creators",
    "communities": "/dashboard/communities",
    "activity": "/dashboard/activity",
    "docs": "/docs",
    "redoc": "/redoc",
}
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def chromium_path() -> str | None:
    found = os.environ.get("GRAPHREC_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser test: no chromium (.ci/run installs it)")
        pytest.skip("no chromium on this machine (apt-get install chromium; CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(loaded_graph: Graph, settings: Settings) -> Iterator[str]:
    """The app under uvicorn on a loopback port; its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, graph=loaded_graph), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


class Watch:
    """Console errors, page errors, failed requests and requests to other hosts."""

    def __init__(self, page: Any, base: str) -> None:
        self.problems: list[str] = []
        host = urlsplit(base).netloc
        page.on(
            "console",
            lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "requestfailed",
            lambda r: self.problems.append(f"failed: {r.url} {r.failure}"),
        )

        def request(r: Any) -> None:
            parts = urlsplit(r.url)
            if parts.scheme in ("http", "https") and parts.netloc != host:
                self.problems.append(f"left the machine: {r.url}")

        page.on("request", request)


def test_each_page_loads_clean_at_every_width(
    browser: Any, served: str, loaded_graph: Graph, world_s: World
) -> None:
    httpx.post(f"{served}/admin/pools/cycle", headers=KEY, timeout=60).raise_for_status()
    for i in range(3):  # the latency plot has something to show
        httpx.get(f"{served}/users/{world_s.users[i]['id']}/feed", timeout=30).raise_for_status()
    SCREENS.mkdir(parents=True, exist_ok=True)
    creator = world_s.creators[0]["id"]
    user = world_s.users[0]["id"]
    for width, (w, h) in WIDTHS.items():
        context = browser.new_context(viewport={"width": w, "height": h})
        page = context.new_page()
        watch = Watch(page, served)
        for name, path in PAGES.items():
            if name == "creator":
                path += f"?creator_id={creator}"
            elif name == "feed":
                path += f"?user_id={user}"
            response = page.goto(served + path, wait_until="networkidle")
            assert response is not None and response.status == 200, path
            if name == "redoc":
                page.wait_for_selector(".api-content", timeout=20_000)
            elif name == "docs":
                page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
            else:
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at {w}px"
            page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
        assert watch.problems == [], watch.problems
        context.close()


def test_feed_panel_swaps_in_and_changes_after_events(
    browser: Any, served: str, world_s: World
) -> None:
    uid = world_s.users[7]["id"]
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    watch = Watch(page, served)
    page.goto(f"{served}/dashboard/feed", wait_until="networkidle")
    assert page.locator("#feed-panel li").count() == 0
    page.fill("#user_id", uid)
    page.click("form.ask button")
    page.wait_for_selector(f'#feed-panel[data-user="{uid}"] li[data-video]')
    assert page.url.endswith("/dashboard/feed")  # htmx swapped the panel; no page load
    first = page.locator("#feed-panel li[data-video]").evaluate_all(
        "els => els.map(e => e.dataset.video)"
    )
    assert len(first) == 10
    events = [
        {"event_id": f"browser-{kind}-{i}", "user_id": uid, "kind": kind, "video_id": v}
        for i, v in enumerate(first[:4])
        for kind in ("impression", "view")
    ]
    httpx.post(f"{served}/events", json=events, headers=KEY, timeout=30).raise_for_status()
    page.click("form.ask button")
    page.wait_for_function(
        "first => document.querySelector('#feed-panel li[data-video]')?.dataset.video"
        " && document.querySelector('#feed-panel li[data-video]').dataset.video !== first",
        arg=first[0],
    )
    after = page.locator("#feed-panel li[data-video]").evaluate_all(
        "els => els.map(e => e.dataset.video)"
    )
    assert after != first and not set(first[:4]) & set(after)
    page.screenshot(path=str(SCREENS / "feed-after-events.png"), full_page=True)
    assert watch.problems == [], watch.problems
    # An unknown id: the panel says so (the browser notes the 404 it answered with).
    page.fill("#user_id", "nobody-here")
    page.click("form.ask button")
    page.wait_for_selector("#feed-panel .error")
    assert "nobody-here" in page.inner_text("#feed-panel .error")
    assert all("404" in p for p in watch.problems), watch.problems
    context.close()
