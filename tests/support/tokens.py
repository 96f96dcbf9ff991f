"""What a host page's server does to vouch for its user: sign short-lived JWTs, HS256 with its site secret
or RS256 with a key it publishes in a JWKS, served here by a small HTTP server on loopback."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "intranet"
AUDIENCE = "crmkb"
SECRET = "b7c1e0f4a9d2" * 4  # 48 characters: a site secret as `openssl rand -hex 24` gives one


def claims(user: str = "alice", *, lifetime: float = 300, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": user, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": int(now + lifetime), **overrides}


def hs256(user: str = "alice", *, secret: str = SECRET, kid: str | None = None, **overrides: Any) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims(user, **overrides), secret, algorithm="HS256", headers=headers)


def unsigned(user: str = "alice", **overrides: Any) -> str:
    """A token with ``alg: none`` and no signature, written by hand as an attacker would."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims(user, **overrides))}."


@dataclass
class KeyPair:
    kid: str
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def sign(self, user: str = "alice", *, kid: str | None = None, **overrides: Any) -> str:
        headers = {"kid": kid or self.kid}
        return jwt.encode(claims(user, **overrides), self.private, algorithm="RS256", headers=headers)

    def jwk(self) -> dict[str, Any]:
        key: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**key, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass
class JWKSServer:
    url: str
    keys: list[KeyPair]
    fetches: int = 0


@contextmanager
def jwks_server(*keys: KeyPair) -> Iterator[JWKSServer]:
    """Serve ``keys``' public halves as a JWKS at ``/jwks.json`` on loopback, counting the fetches."""
    served = JWKSServer(url="", keys=list(keys))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/jwks.json":
                self.send_error(404)
                return
            served.fetches += 1
            body = json.dumps({"keys": [k.jwk() for k in served.keys]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()
