"""A stand-in for Slack on loopback: the Web API methods the app calls, and response_url receivers.

Every call is recorded (method, JSON or form body) for tests to assert on.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request

BOT_USER, BOT_ID = "UBOT", "BBOT"


@dataclass
class Recorder:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append((name, body))

    def named(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [b for n, b in self.calls if n == name]

    def wait_for(self, name: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.named(name)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"Slack got {len(self.named(name))} {name} calls, expected {count}: {self.calls}"
        )


def make_app(recorder: Recorder) -> FastAPI:
    app = FastAPI()

    async def body_of(request: Request) -> dict[str, Any]:
        raw = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(json.loads(raw or "{}"))
        return dict(parse_qsl(raw))

    @app.post("/api/auth.test")
    async def auth_test(request: Request) -> dict[str, Any]:
        recorder.add("auth.test", await body_of(request))
        return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "T1", "user": "crmkb"}

    @app.post("/api/chat.postMessage")
    async def post_message(request: Request) -> dict[str, Any]:
        body = await body_of(request)
        recorder.add("chat.postMessage", body)
        return {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}

    @app.post("/response/{key}")
    async def response_url(key: str, request: Request) -> dict[str, Any]:
        recorder.add(f"response/{key}", await body_of(request))
        return {"ok": True}

    return app
