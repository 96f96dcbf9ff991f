"""POST /slack/events: Slack's events, slash commands and interactivity, checked, then handed to Bolt.

Nothing unchecked reaches Bolt, in this order: the body is read up to SLACK_MAX_BODY bytes (413 past it,
without reading the rest); the signature and its 5-minute timestamp window are verified on the raw bytes
(401); the body must parse as a Slack payload (400). Slack's URL verification is answered here, as soon as
the signing secret is set: the secret exists only once the app does, so Slack's first check (when the
manifest is pasted) cannot pass, and the install steps have it checked again after the secret is set,
before the bot token exists. A slash command or interaction already taken (the same signature) is
acknowledged (200) and not answered again; events are de-duplicated by id in the Bolt app, which Socket Mode
shares. A refusal is one line of JSON, never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import BoltRequest
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from crmkb.slack.replay import REPLAY_DB, WINDOW, ReplayGuard

router = APIRouter(tags=["slack"])

# Slack's payloads are a few KB; the largest we can cause is a button click carrying one of our own
# messages back (50 blocks of at most 3,000 characters, which form-encoded CJK turns into ~1.4 MB).
SLACK_MAX_BODY = 2 * 1024 * 1024


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


async def read_capped(request: Request, limit: int) -> bytes:
    """The whole body, or Refused(413) as soon as it is known to exceed ``limit`` bytes."""
    too_large = Refused(413, f"Slack request body too large (limit {limit} bytes)")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # a body sent without a length, or longer than it said
            raise too_large
    return bytes(body)


def verify(request: Request, body: bytes, signing_secret: str) -> str:
    """The request's signature once it is shown to be Slack's and recent, else Refused(401)."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    well_formed = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
    recent = well_formed and abs(time.time() - int(timestamp)) <= WINDOW
    # Slack signs the raw bytes; slack_sdk's verifier decodes them first and so fails on non-UTF-8 bodies.
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    if not recent or not hmac.compare_digest(expected.encode(), signature.encode("latin-1")):
        raise Refused(401, "invalid or expired Slack request signature")
    return signature


def parse(request: Request, body: bytes) -> BoltRequest:
    try:
        return to_bolt_request(request, body)
    except Exception:  # whatever Bolt trips on in a body Slack signed, the body is at fault
        raise Refused(400, "malformed Slack request body") from None


def replay_key(payload: dict[str, Any], signature: str) -> str | None:
    """What names a slash command or interaction (none has an id): the signature, which covers its
    timestamp and body. Events are known by their id in the Bolt app, for both transports."""
    if payload.get("type") in ("url_verification", "event_callback"):
        return None
    return f"signature:{signature}"


def unconfigured(missing: str) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": f"Slack is not configured: set {missing}"})


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    settings = request.app.state.settings
    if settings.slack.signing_secret is None:  # nothing can be verified
        return unconfigured("CRMKB_SLACK_SIGNING_SECRET and CRMKB_SLACK_BOT_TOKEN")
    try:
        body = await read_capped(request, SLACK_MAX_BODY)
        signature = verify(request, body, settings.slack.signing_secret.get_secret_value())
        bolt_request = parse(request, body)
    except Refused as refused:
        return JSONResponse(status_code=refused.status, content={"detail": refused.detail})
    if bolt_request.body.get("type") == "url_verification":
        challenge = bolt_request.body.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            return JSONResponse(status_code=400, content={"detail": "malformed Slack request body"})
        return JSONResponse(content={"challenge": challenge})
    handler = request.app.state.slack
    if handler is None:
        return unconfigured("CRMKB_SLACK_BOT_TOKEN (Install App → Bot User OAuth Token) and restart")
    key = replay_key(bolt_request.body, signature)
    guard = ReplayGuard(settings.host_state_dir / REPLAY_DB)
    if key is not None and not await run_in_threadpool(guard.first_time, key):
        return Response(status_code=200)  # taken already: acknowledged, so Slack stops sending it
    # Bolt waits (up to Slack's 3 s) for the listener's ack: in a thread, not on the event loop.
    return to_starlette_response(await run_in_threadpool(handler.app.dispatch, bolt_request))
