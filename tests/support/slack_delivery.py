"""What Slack sends, delivered to the app over either transport: signed HTTP requests to ``/slack/events``,
or envelopes over the fake's Socket Mode WebSocket (each waited for until the app acknowledges it, as
Slack does). Tests written against :class:`Delivery` run unchanged against both."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier

from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings, Settings, SlackSettings
from crmkb.feedback_store import FeedbackStore
from crmkb.slack.socket_mode import connect
from crmkb.web.app import FEEDBACK_DB, create_app
from crmkb.web.loopback import serving
from tests.support.fake_slack import Recorder

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def signed(body: str | bytes, content_type: str, *, age: int = 0, secret: str = SECRET) -> dict[str, str]:
    """The headers Slack sends with ``body``."""
    timestamp = str(int(time.time()) - age)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body) or ""
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def signed_post(
    url: str, body: str | bytes, content_type: str, *, age: int = 0, secret: str = SECRET, **headers: str
) -> httpx.Response:
    head = signed(body, content_type, age=age, secret=secret)
    content = body.encode() if isinstance(body, str) else body
    return httpx.post(f"{url}/slack/events", content=content, headers={**head, **headers}, timeout=30)


class Delivery(Protocol):
    name: str

    def event(self, payload: dict[str, Any]) -> None: ...

    def command(self, fields: dict[str, str]) -> dict[str, Any]:
        """Deliver a slash command; returns what its acknowledgement said (``{}`` for a bare ack)."""
        ...

    def action(self, payload: dict[str, Any]) -> None: ...


class Http:
    name = "http"

    def __init__(self, url: str) -> None:
        self.url = url

    def event(self, payload: dict[str, Any]) -> None:
        assert signed_post(self.url, json.dumps(payload), "application/json").status_code == 200

    def command(self, fields: dict[str, str]) -> dict[str, Any]:
        response = signed_post(self.url, urlencode(fields), "application/x-www-form-urlencoded")
        assert response.status_code == 200
        return dict(response.json()) if response.content else {}

    def action(self, payload: dict[str, Any]) -> None:
        body = urlencode({"payload": json.dumps(payload)})
        assert signed_post(self.url, body, "application/x-www-form-urlencoded").status_code == 200


class Socket:
    name = "socket"

    def __init__(self, recorder: Recorder, connection: str) -> None:
        self.recorder, self.connection = recorder, connection

    def send(self, kind: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        envelope_id = uuid.uuid4().hex
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, **extra}
        self.recorder.sockets[self.connection].put(json.dumps(envelope))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for ack in self.recorder.named("socket.ack"):
                if ack.get("envelope_id") == envelope_id:
                    return dict(ack.get("payload") or {})
            time.sleep(0.02)
        raise AssertionError(f"the app never acknowledged the {kind} envelope")

    def event(self, payload: dict[str, Any]) -> None:
        # Slack marks a first delivery as retry 0
        self.send("events_api", payload, accepts_response_payload=False, retry_attempt=0, retry_reason="")

    def command(self, fields: dict[str, str]) -> dict[str, Any]:
        return self.send("slash_commands", fields, accepts_response_payload=True)

    def action(self, payload: dict[str, Any]) -> None:
        self.send("interactive", payload, accepts_response_payload=False)


def fake_slack_settings(base: Settings, fake: str, *, token: bool = True, **slack: Any) -> Settings:
    """``base`` with Slack pointed at the fake at ``fake`` (the signing secret set; the bot and app tokens
    unless ``token`` is false; ``slack`` overrides any other Slack setting)."""
    tokens: dict[str, Any] = {"bot_token": SecretStr("xoxb-test"), "app_token": SecretStr("xapp-test")}
    section = SlackSettings(
        signing_secret=SecretStr(SECRET), api_url=f"{fake}/api/", **(tokens if token else {}), **slack
    )
    return base.model_copy(update={"server": ServerSettings(rate_limit=0), "slack": section})


@contextmanager
def delivering(kind: str, settings: Settings, bot: Bot, recorder: Recorder) -> Iterator[Delivery]:
    """The app (``crmkb serve``'s or ``crmkb slack-socket``'s wiring) running against the fake Slack, and
    the way to deliver to it."""
    if kind == "http":
        with serving(create_app(settings, bot=bot)) as url:
            yield Http(url)
        return
    handler = connect(settings, bot, FeedbackStore(settings.data_dir / FEEDBACK_DB))
    try:
        yield Socket(recorder, max(recorder.sockets, key=int))  # the connection it just opened
    finally:
        handler.close()
