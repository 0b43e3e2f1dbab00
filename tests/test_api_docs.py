"""``/docs`` and ``/redoc`` work offline: every asset they load is served by the app itself.

The app is built without its lifespan (no Neo4j needed): the docs pages and the OpenAPI
schema do not touch the database.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.docs import REDOC_JS_URL
from api.main import create_app
from graphrec.config import Settings


class _Assets(HTMLParser):
    """The URLs a page loads: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings(environment="test")))


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}),
        ("/redoc", {"redoc.standalone.js"}),
    ],
)
def test_docs_pages_load_only_same_origin_assets(
    client: TestClient, page: str, expected: set[str]
) -> None:
    r = client.get(page)
    assert r.status_code == 200
    urls = assets(r.text)
    assert expected <= {u.rsplit("/", 1)[-1] for u in urls}
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from elsewhere"
        got = client.get(url)
        assert got.status_code == 200, url
        assert len(got.content) > 1_000, url  # the real asset, not an empty placeholder
    # No CDN named anywhere in the page (inline scripts included).
    for host in ("cdn.jsdelivr.net", "unpkg.com", "fonts.googleapis.com", "http://", "https://"):
        assert host not in r.text, f"{page} names {host}"


def test_redoc_bundle_fetches_no_logo_from_the_internet(client: TestClient) -> None:
    bundle = client.get(REDOC_JS_URL)
    assert bundle.status_code == 200 and b"Redoc" in bundle.content
    assert b"cdn.redoc.ly" not in bundle.content


def test_openapi_schema_the_docs_read(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert "/users/{user_id}/feed" in r.json()["paths"]
