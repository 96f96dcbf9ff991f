"""Who is asking: the short-lived signed tokens (JWTs) that host pages give the widget for their signed-in
user, verified on every /api/* call (``CRMKB_JWT_*``; README, "Who is asking").

A token is ``Authorization: Bearer <jwt>``. Its header's ``alg`` picks where the key comes from, and
nothing else is accepted: HS256 with a site's secret (found by the ``kid`` header, else the ``iss`` claim),
or RS256 with a key from the JWKS (found by ``kid``; PyJWKClient fetches and caches it). So an unsigned
token (``alg: none``), or an RS256 public key passed off as an HS256 secret, never reaches a verifier.
The token must name this service (``aud``), an accepted issuer (``iss``), a user (``sub``) and an expiry
(``exp``) no further ahead than ``max_lifetime_s``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from fastapi import Request

from crmkb.core.errors import Unavailable, UserError
from crmkb.core.settings import JWTSettings

MAX_USER_ID = 200  # a sub longer than this is not an id any identity provider issues


class TokenRefused(UserError):
    """The request's token cannot be accepted; the message says why (HTTP: 401)."""

    def __init__(self, detail: str, *, suspicious: bool = True) -> None:
        super().__init__(detail)
        # A forged or foreign token counts against the client's address like a wrong API key; a missing or
        # expired one is what an honest page sends when its user's session lapsed.
        self.suspicious = suspicious


class KeysUnavailable(Unavailable):
    """The JWKS cannot be fetched, so no RS256 token can be checked now."""


@dataclass(frozen=True)
class Caller:
    """A verified token's user and the site (issuer) that vouched for them."""

    user_id: str
    issuer: str


def bearer_token(request: Request) -> str | None:
    """The request's ``Authorization: Bearer`` token; ``None`` without one. Other schemes are not ours to
    judge (a reverse proxy's Basic sign-in may pass through), so they count as no token."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class TokenVerifier:
    """Checks tokens against one app's ``CRMKB_JWT_*`` settings."""

    def __init__(self, settings: JWTSettings) -> None:
        self.settings = settings
        self.required = settings.mode == "required"
        # Fetches nothing until the first RS256 token arrives.
        self._jwks = (
            jwt.PyJWKClient(
                settings.jwks_url,
                cache_keys=True,
                lifespan=settings.jwks_cache_s,
                timeout=settings.jwks_timeout_s,
            )
            if settings.jwks_url
            else None
        )

    def verify(self, token: str) -> Caller:
        """The token's caller, or :class:`TokenRefused` saying what is wrong with it."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise TokenRefused("the token is not a well-formed JWT") from None
        key = self._key(header, unverified, token)
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[header["alg"]], audience=s.audience, issuer=s.issuers,
                leeway=s.leeway_s, options={"require": ["exp", "iss", "aud", "sub"]},
            )  # fmt: skip
        except jwt.InvalidTokenError as exc:
            raise _refusal(exc, s) from None
        user = claims["sub"]
        if not isinstance(user, str) or not 0 < len(user) <= MAX_USER_ID:
            raise TokenRefused(f"the token's sub must be a user id of 1 to {MAX_USER_ID} characters")
        if claims["exp"] - time.time() > s.max_lifetime_s + s.leeway_s:
            raise TokenRefused(_too_long(s))
        return Caller(user_id=user, issuer=str(claims["iss"]))

    def _key(self, header: dict[str, Any], claims: dict[str, Any], token: str) -> Any:
        alg = header.get("alg")
        if alg == "HS256" and self.settings.secrets:
            name = header.get("kid") or claims.get("iss")
            secret = self.settings.secrets.get(str(name)) if name else None
            if secret is None:
                raise TokenRefused(f"no site secret for this token (kid or iss {name!r} is not configured)")
            return secret.get_secret_value().encode()
        if alg == "RS256" and self._jwks is not None:
            try:
                return self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError as exc:
                raise KeysUnavailable(
                    f"the JWKS at {self.settings.jwks_url} cannot be fetched; check CRMKB_JWT_JWKS_URL"
                ) from exc
            except jwt.PyJWKClientError:
                raise TokenRefused(f"no key in the JWKS for this token (kid {header.get('kid')!r})") from None
        accepted = [name for name, on in (("HS256", self.settings.secrets), ("RS256", self._jwks)) if on]
        raise TokenRefused(f"token algorithm {alg!r} is not accepted here (accepted: {', '.join(accepted)})")


def _too_long(s: JWTSettings) -> str:
    return f"the token lives too long: its exp may be at most {s.max_lifetime_s} s ahead"


def _refusal(exc: jwt.InvalidTokenError, s: JWTSettings) -> TokenRefused:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return TokenRefused("the token has expired: get a fresh one from the host page", suspicious=False)
    if isinstance(exc, jwt.InvalidSignatureError):
        return TokenRefused("the token's signature is not valid")
    if isinstance(exc, jwt.InvalidAudienceError):
        return TokenRefused(f"the token is not meant for this service (its aud must be {s.audience!r})")
    if isinstance(exc, jwt.InvalidIssuerError):
        return TokenRefused(f"the token's issuer is not accepted (accepted: {', '.join(s.issuers)})")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return TokenRefused(f"the token has no {exc.claim!r} claim")
    if isinstance(exc, jwt.ImmatureSignatureError):
        return TokenRefused("the token is not valid yet (check the host server's clock)", suspicious=False)
    return TokenRefused(f"the token is not valid: {exc}")


def origin_allowed(request: Request, allowed: list[str]) -> bool:
    """Whether the page that sent the request may call /api/*: no ``Origin`` (not a browser page), this
    server's own pages, or an origin in ``allowed`` (``*``: any)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if "*" in allowed or origin.rstrip("/") in {a.rstrip("/") for a in allowed}:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()
