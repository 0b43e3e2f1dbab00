"""Request body limit: an ASGI middleware that answers 413 before a large body is parsed.

A declared ``Content-Length`` over the limit is refused before the app sees the request; a
body sent without one (chunked) is counted as it streams and refused as soon as it passes the
limit. The answer never echoes the body.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit: int) -> str:
    return f"request body too large: at most {limit} bytes are accepted"


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0 or size > self.limit:
                status, detail = (
                    (413, too_large(self.limit)) if size > 0 else (400, "bad Content-Length")
                )
                await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Raised where the app reads the body: FastAPI answers it as a 413.
                    raise HTTPException(status_code=413, detail=too_large(self.limit))
            return message

        await self.app(scope, counted, send)
