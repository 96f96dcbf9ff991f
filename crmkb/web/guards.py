"""What stands in front of /api/*: the optional API key, the signed user tokens of :mod:`crmkb.web.jwt_auth`
with their origin allowlist, per-client rate limits shared by every worker, a count of wrong secrets per
address, and a body-size cap."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmkb.core.settings import JWTSettings, ServerSettings
from crmkb.web.jwt_auth import TokenRefused, TokenVerifier, bearer_token, origin_allowed
from crmkb.web.ratelimit import SlidingWindow, client_address, client_key, parse_networks
from crmkb.web.strict_json import StrictJSONRequest

API_KEY_HEADER = "X-API-Key"
RATE_DB = "ratelimit.sqlite3"


class Guards:
    """The API key check and the rate limits of one app, sharing one store of counts.

    Failed key attempts are counted per client address and, past ``auth_failures`` a minute, refused with
    429 whatever key is sent, so guessing costs a minute per handful of tries. Requests are counted per
    client (its verified identity, else its address; never a header the client chose, such as the key it
    sent) and refused past ``rate_limit`` a minute.
    """

    def __init__(self, settings: ServerSettings, state_dir: Path, tokens: JWTSettings | None = None) -> None:
        self.settings = settings
        self.proxies = parse_networks(settings.trusted_proxies)
        self.counts = SlidingWindow(state_dir / RATE_DB)
        self.tokens = TokenVerifier(tokens) if tokens is not None and tokens.mode != "off" else None

    def check_api_key(self, request: Request) -> None:
        expected = self.settings.api_key
        if expected is None:
            return
        given = request.headers.get(API_KEY_HEADER, "")
        self.check_secret(request, given, expected, f"missing or wrong API key (send it in {API_KEY_HEADER})")

    def check_secret(self, request: Request, given: str, expected: SecretStr, wrong: str) -> None:
        """Compare a secret a client sent in constant time; a wrong one is a 401 saying ``wrong`` and counts
        against the client's address. Every secret (the API key, the admin token, a user token's signature)
        shares one count, so guessing one does not buy tries at the other."""
        address = self._not_locked_out(request)
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            self.counts.add(address)
            raise HTTPException(status_code=401, detail=wrong)

    def _not_locked_out(self, request: Request) -> str:
        """The client's bucket of wrong secrets, after a 429 if it is full."""
        address = f"authfail:{client_address(request, self.proxies)}"
        wait = self.counts.exceeded(address, self.settings.auth_failures)
        if wait is not None:
            raise _too_many(
                f"too many wrong API keys, admin tokens or user tokens from this address; try again in {wait} s",
                wait,
            )
        return address

    def check(self, request: Request) -> None:
        self.authenticate(request)
        self.rate_limit(request)

    def authenticate(self, request: Request) -> None:
        """Admit a caller with the API key or, in JWT mode, a valid user token (whose ``sub`` becomes
        ``request.state.identity``). A valid key needs no token: it is for servers, not pages. A token
        that is sent is always checked, so a bad one is refused even where none is required."""
        tokens = self.tokens
        if tokens is None:
            self.check_api_key(request)
            return
        if not origin_allowed(request, self.settings.cors_origins):
            raise HTTPException(
                status_code=403,
                detail=f"pages on {request.headers.get('origin')} may not call this API "
                "(allow them in CRMKB_SERVER_CORS_ORIGINS)",
            )
        token = bearer_token(request)
        keyed = self.settings.api_key is not None and API_KEY_HEADER.lower() in request.headers
        if keyed or (token is None and self.settings.api_key is not None and not tokens.required):
            self.check_api_key(request)
        if token is not None:
            address = self._not_locked_out(request)
            try:
                request.state.identity = tokens.verify(token).user_id
            except TokenRefused as exc:
                if exc.suspicious:
                    self.counts.add(address)
                raise _unauthorized(str(exc)) from None
        elif tokens.required and not keyed:
            raise _unauthorized(
                "missing token: send the host page's signed JWT as 'Authorization: Bearer <token>'"
                + (f" (servers: the API key in {API_KEY_HEADER})" if self.settings.api_key else "")
            )

    def rate_limit(self, request: Request) -> None:
        limit = self.settings.rate_limit
        if limit == 0:
            return
        wait = self.counts.take(client_key(request, self.proxies), limit)
        if wait is not None:
            raise _too_many(f"too many requests: at most {limit} a minute; try again in {wait} s", wait)


class ApiRoute(APIRoute):
    """An /api/* route: :meth:`admit` (the app's :class:`Guards`) runs before the body is read, so a
    malformed body neither skips the key check nor escapes the limit (FastAPI parses bodies before it runs
    dependencies); then the body is parsed as standard JSON (:mod:`crmkb.web.strict_json`)."""

    def admit(self, request: Request) -> None:
        """Refuse the request (an ``HTTPException``) before its body is read; runs in a worker thread, as
        the counts may wait on another worker's write."""
        guards: Guards = request.app.state.guards
        guards.check(request)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            await run_in_threadpool(self.admit, request)
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return guarded


def _unauthorized(detail: str) -> HTTPException:
    # RFC 6750: a client that sent a bearer token learns that this is about its token.
    return HTTPException(
        status_code=401, detail=detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def _too_many(detail: str, wait: int) -> HTTPException:
    return HTTPException(status_code=429, detail=detail, headers={"Retry-After": str(wait)})


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
