"""A stand-in for Slack on loopback: the Web API methods the app calls, response_url receivers, and a
Socket Mode server (``apps.connections.open`` hands out a WebSocket on the same server).

Every call is recorded (method, JSON or form body) for tests to assert on, and every Socket Mode
acknowledgement as ``socket.ack``. Channels remember the messages posted in them, so ``conversations.replies``
reads back a thread as Slack would; a test says what people wrote with :meth:`Recorder.said`. A channel can
refuse posts as a real one does (``channel_not_found``: a private channel the bot is not in).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect

BOT_USER, BOT_ID = "UBOT", "BBOT"


@dataclass
class Recorder:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # channel → (error, only when the post carries blocks)
    refusals: dict[str, tuple[str, bool]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sockets: dict[str, queue.Queue[str]] = field(default_factory=dict)  # connection id → envelopes to send

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

    def refuse(self, channel: str, error: str, *, blocks_only: bool = False) -> None:
        with self.lock:
            self.refusals[channel] = (error, blocks_only)

    def said(self, message: dict[str, Any]) -> None:
        """Keep a message (an event's ``event`` part) in its channel, as Slack does."""
        with self.lock:
            self.messages.setdefault(message["channel"], []).append(message)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        with self.lock:
            found = [m for m in self.messages.get(channel, []) if ts in (m["ts"], m.get("thread_ts"))]
        return sorted(found, key=lambda m: float(m["ts"]))


def make_app(recorder: Recorder) -> FastAPI:
    app = FastAPI()
    connection_ids = itertools.count(1)

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
        error, blocks_only = recorder.refusals.get(body.get("channel", ""), ("", False))
        if error and (body.get("blocks") or not blocks_only):
            return {"ok": False, "error": error}
        ts = f"{time.time():.6f}"
        message = {"channel": body.get("channel"), "ts": ts, "user": BOT_USER, "bot_id": BOT_ID,
                   "text": body.get("text", "")} | ({"thread_ts": body["thread_ts"]} if body.get("thread_ts") else {})  # fmt: skip
        recorder.said(message)
        return {"ok": True, "channel": body.get("channel"), "ts": ts}

    @app.post("/api/conversations.replies")
    async def replies(request: Request) -> dict[str, Any]:
        body = await body_of(request)
        recorder.add("conversations.replies", body)
        thread = recorder.thread(body.get("channel", ""), body.get("ts", ""))
        return (
            {"ok": True, "messages": thread, "has_more": False}
            if thread
            else {"ok": False, "error": "thread_not_found"}
        )

    @app.post("/response/{key}")
    async def response_url(key: str, request: Request) -> dict[str, Any]:
        recorder.add(f"response/{key}", await body_of(request))
        return {"ok": True}

    @app.post("/api/apps.connections.open")
    async def connections_open(request: Request) -> dict[str, Any]:
        recorder.add("apps.connections.open", await body_of(request))
        connection = str(next(connection_ids))
        recorder.sockets[connection] = queue.Queue()
        return {"ok": True, "url": f"ws://{request.url.netloc}/socket/{connection}"}

    @app.websocket("/socket/{connection}")
    async def socket(websocket: WebSocket, connection: str) -> None:
        outbox = recorder.sockets[connection]
        await websocket.accept()
        await websocket.send_text(json.dumps({"type": "hello", "num_connections": 1,
                                              "connection_info": {"app_id": "A1"}}))  # fmt: skip

        async def send() -> None:
            while True:
                try:
                    await websocket.send_text(outbox.get_nowait())
                except queue.Empty:
                    await asyncio.sleep(0.02)

        sender = asyncio.create_task(send())
        try:
            while True:
                recorder.add("socket.ack", json.loads(await websocket.receive_text()))
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()

    return app


def event_payload(inner: dict[str, Any], event_id: str = "") -> dict[str, Any]:
    """What Slack sends for an event: ``inner`` in its envelope."""
    return {
        "type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event": inner,
        "event_id": event_id or f"Ev{time.time_ns()}", "event_time": int(time.time()),
        "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
    }  # fmt: skip


def command_fields(fake: str, text: str, key: str, channel: str = "C1") -> dict[str, str]:
    """What Slack sends for ``/crm text`` typed in ``channel``; the reply goes to response/``key``."""
    return {
        "command": "/crm", "text": text, "response_url": f"{fake}/response/{key}", "user_id": "U1",
        "channel_id": channel, "team_id": "T1", "trigger_id": "1.2", "api_app_id": "A1",
    }  # fmt: skip


def action_payload(fake: str, action_id: str, value: str, key: str, channel: str = "C1") -> dict[str, Any]:
    """What Slack sends when a button of ours is pressed in ``channel``."""
    return {
        "type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}, "api_app_id": "A1",
        "channel": {"id": channel}, "container": {"type": "message"}, "trigger_id": "1.2",
        "response_url": f"{fake}/response/{key}",
        "actions": [{"type": "button", "action_id": action_id, "value": value, "block_id": "b", "action_ts": "1"}],
    }  # fmt: skip
