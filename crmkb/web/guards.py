"""What stands in front of /api/*: the optional API key, a per-client rate limit, and a body-size cap."""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import deque

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmkb.settings import ServerSettings

API_KEY_HEADER = "X-API-Key"


def check_api_key(request: Request) -> None:
    settings: ServerSettings = request.app.state.settings.server
    if settings.api_key is None:
        return
    given = request.headers.get(API_KEY_HEADER, "")
    if not hmac.compare_digest(given.encode(), settings.api_key.get_secret_value().encode()):
        raise HTTPException(status_code=401, detail=f"missing or wrong API key (send it in {API_KEY_HEADER})")


class RateLimiter:
    """A sliding one-minute window per client (its API key when it sends one, else its address)."""

    WINDOW = 60.0

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> None:
        if self.per_minute == 0:
            return
        client = request.headers.get(API_KEY_HEADER) or (request.client.host if request.client else "?")
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - self.WINDOW:
                hits.popleft()
            if len(hits) >= self.per_minute:
                wait = math.ceil(hits[0] + self.WINDOW - now)
                raise HTTPException(
                    status_code=429,
                    detail=f"too many requests: at most {self.per_minute} a minute; try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            hits.append(now)
            if len(self._hits) > 10_000:  # forget clients that have gone quiet
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.WINDOW}


class BodyLimit:
    """Refuses /api/* request bodies over ``limit`` bytes with 413, whether or not they declare their length.
    (Slack's own payloads, on /slack/events, are verified and bounded by Slack.)"""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        # Bodies here are small (a question, a rating): read one whole before the app sees it, so one that
        # grows past the limit without declaring its length is refused too.
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self._refuse(send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = f'{{"detail":"request body too large (limit {self.limit} bytes)"}}'.encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
