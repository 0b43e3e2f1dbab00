"""Measures the API's own feed requests for the dashboard (a plain ASGI middleware: cheap)."""

from __future__ import annotations

import re
import time
from typing import Any

from graphrec.dashboard import ServingMeter

FEED_PATH = re.compile(r"^/users/[^/]+/feed$")


class FeedTimer:
    """Records the time of every answered ``GET /users/{id}/feed`` in a :class:`ServingMeter`."""

    def __init__(self, app: Any, meter: ServingMeter) -> None:
        self.app = app
        self.meter = meter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not FEED_PATH.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def timed_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif (
                message["type"] == "http.response.body"
                and not message.get("more_body")
                and status == 200
            ):
                self.meter.feed_served((time.perf_counter() - started) * 1000)
            await send(message)

        await self.app(scope, receive, send=timed_send)
