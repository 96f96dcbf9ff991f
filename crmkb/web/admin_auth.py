"""Admin sign-in, for every page and API that changes what the bot serves (today: curated answers on /faq;
the /admin console of issue 17 is meant to use it as it is).

The admin token (``CRMKB_SERVER_ADMIN_TOKEN``) is exchanged once for a session cookie: signed with a key
derived from the token (so every worker process accepts it, and changing the token ends every session),
HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and expiring after
``CRMKB_SERVER_ADMIN_SESSION_S``. A request that changes something must also carry the session's CSRF token
in ``X-CSRF-Token`` (only a page of this origin can read it, from the sign-in reply or ``GET
/api/admin/session``), and an ``Origin`` (or ``Referer``) naming this server when the browser sends one.
Wrong tokens count against the same per-address limit as wrong API keys (:class:`Guards`). Without an admin
token, sign-in is off and every admin route answers 503 saying how to turn it on.

To protect an API route, put it on an ``APIRouter(route_class=AdminRoute)``: the session is checked before
the body is read, and left in ``request.state.admin``. A page that shows a sign-in form to a visitor
without a session asks ``admin_auth(request).current(request)``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from crmkb.core.settings import ServerSettings
from crmkb.web.guards import ApiRoute, Guards

COOKIE = "crmkb_admin"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOW_TO_ENABLE = "admin sign-in is off on this server: set CRMKB_SERVER_ADMIN_TOKEN and restart it"


@dataclass(frozen=True)
class AdminSession:
    sid: str  # random: names the session, and binds its CSRF token to it
    expires: int  # Unix time
    csrf: str

    @property
    def expires_at(self) -> str:
        return datetime.fromtimestamp(self.expires, UTC).isoformat(timespec="seconds")


class AdminAuth:
    """Issues and checks admin sessions for one app."""

    def __init__(
        self, settings: ServerSettings, guards: Guards, clock: Callable[[], float] = time.time
    ) -> None:
        self.token = settings.admin_token
        self.lifetime = settings.admin_session_s
        self.guards = guards
        self.clock = clock
        secret = self.token.get_secret_value().encode() if self.token else b""
        self._key = hmac.new(secret, b"crmkb admin session key", hashlib.sha256).digest()

    @property
    def enabled(self) -> bool:
        return self.token is not None

    def _mac(self, *parts: str) -> str:
        return hmac.new(self._key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()

    def issue(self, expires: float | None = None) -> AdminSession:
        """A new session, ending ``admin_session_s`` from now unless ``expires`` says otherwise."""
        sid = secrets.token_urlsafe(18)
        end = int(self.clock() + self.lifetime if expires is None else expires)
        return AdminSession(sid, end, self._mac("csrf", sid))

    def cookie_value(self, session: AdminSession) -> str:
        return f"{session.sid}.{session.expires}.{self._mac('session', session.sid, str(session.expires))}"

    def sign_in(self, request: Request, token: str) -> AdminSession:
        self._enabled()
        check_origin(request)
        assert self.token is not None
        self.guards.check_secret(request, token, self.token, "wrong admin token")
        return self.issue()

    def current(self, request: Request) -> AdminSession | None:
        """The request's session, if it carries a valid, unexpired one."""
        found = self._read(request)
        return found if isinstance(found, AdminSession) else None

    def require(self, request: Request, found: AdminSession | str | None = None) -> AdminSession:
        """The request's session; 503 when sign-in is off, 401 without a valid one, 403 when a request
        that changes something fails the CSRF or origin check. ``found``: its cookie, already read."""
        self._enabled()
        found = self._read(request) if found is None else found
        if not isinstance(found, AdminSession):
            raise HTTPException(status_code=401, detail=found)
        if request.method not in SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(given.encode(), found.csrf.encode()):
                raise HTTPException(
                    status_code=403,
                    detail=f"missing or wrong CSRF token (send the session's in {CSRF_HEADER})",
                )
            check_origin(request)
        return found

    def _read(self, request: Request) -> AdminSession | str:
        value = request.cookies.get(COOKIE)
        if not value:
            return "not signed in: sign in with the admin token"
        sid, _, rest = value.partition(".")
        expires, _, mac = rest.partition(".")
        if not (
            expires.isdigit()
            and hmac.compare_digest(mac.encode(), self._mac("session", sid, expires).encode())
        ):
            return "the session cookie is not valid (signed with another token?): sign in again"
        if int(expires) <= self.clock():
            return "the session has expired: sign in again"
        return AdminSession(sid, int(expires), self._mac("csrf", sid))

    def _enabled(self) -> None:
        if not self.enabled:
            raise HTTPException(status_code=503, detail=HOW_TO_ENABLE)

    def set_cookie(self, response: Response, request: Request, session: AdminSession) -> None:
        # Secure whenever the page is on https (a TLS proxy in front shows in the Origin, not the scheme).
        secure = request.url.scheme == "https" or request.headers.get("origin", "").startswith("https://")
        response.set_cookie(COOKIE, self.cookie_value(session), max_age=max(0, session.expires - int(self.clock())),
                            path="/", secure=secure, httponly=True, samesite="strict")  # fmt: skip

    @staticmethod
    def clear_cookie(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def check_origin(request: Request) -> None:
    """403 unless the browser's ``Origin`` (or, without one, ``Referer``) names this server's host. A
    client that sends neither is not a browser page, so no other site can have made it send the request."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed is None:
        return
    host = request.headers.get("host", "")
    if claimed == "null" or urlsplit(claimed).netloc.lower() != host.lower():
        raise HTTPException(
            status_code=403,
            detail=f"cross-origin request refused: {claimed} is not this server ({host}); "
            "a reverse proxy must pass the Host header on",
        )


def admin_auth(request: Request) -> AdminAuth:
    auth: AdminAuth = request.app.state.admin
    return auth


class AdminRoute(ApiRoute):
    """A route for admins: signed in with the admin session (checked before the body is read) instead of
    the shared API key, which host pages may show anyone. A request without a session is rate-limited
    like every /api/* route; a signed-in admin's are not counted against the askers' limit of the address
    they share (the console polls a re-ingest every second), nor are the askers' against the admin."""

    def admit(self, request: Request) -> None:
        admin = admin_auth(request)
        found = admin._read(request)
        if not isinstance(found, AdminSession):
            admin.guards.rate_limit(request)
        request.state.admin = admin.require(request, found)


class SessionRoute(ApiRoute):
    """The sign-in routes themselves: rate-limited, no session needed."""

    def admit(self, request: Request) -> None:
        admin_auth(request).guards.rate_limit(request)


router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=SessionRoute)


class SignIn(BaseModel):
    token: str = Field(max_length=1000, description="The admin token (CRMKB_SERVER_ADMIN_TOKEN).")


class SessionState(BaseModel):
    enabled: bool = Field(description="Whether admin sign-in is on (CRMKB_SERVER_ADMIN_TOKEN is set).")
    signed_in: bool
    expires_at: str | None = Field(default=None, description="When the session ends (ISO 8601, UTC).")
    csrf_token: str | None = Field(default=None, description=f"Send it in {CSRF_HEADER} with every change.")
    detail: str | None = Field(default=None, description="How to turn sign-in on, when it is off.")


def _state(session: AdminSession) -> SessionState:
    return SessionState(enabled=True, signed_in=True, expires_at=session.expires_at, csrf_token=session.csrf)


@router.get("/session", response_model=SessionState)
def session_state(request: Request) -> SessionState:
    auth = admin_auth(request)
    if not auth.enabled:
        return SessionState(enabled=False, signed_in=False, detail=HOW_TO_ENABLE)
    session = auth.current(request)
    return _state(session) if session else SessionState(enabled=True, signed_in=False)


@router.post("/session", response_model=SessionState)
def sign_in(body: SignIn, request: Request, response: Response) -> SessionState:
    auth = admin_auth(request)
    session = auth.sign_in(request, body.token)
    auth.set_cookie(response, request, session)
    return _state(session)


@router.delete("/session", response_model=SessionState)
def sign_out(request: Request, response: Response) -> SessionState:
    check_origin(request)
    AdminAuth.clear_cookie(response)
    return SessionState(enabled=admin_auth(request).enabled, signed_in=False)
