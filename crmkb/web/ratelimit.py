"""Who a client is, and how often it has come: the keys and the shared counts behind /api/*'s limits.

A client is its verified identity when a channel established one (``request.state.identity``: the user
of a signed token, :mod:`crmkb.web.jwt_auth`), else its network address. ``X-Forwarded-For`` names the address only when
the request came through a proxy listed in ``CRMKB_SERVER_TRUSTED_PROXIES``; from anyone else it is a
header the client wrote itself, and honouring it would let one client be a thousand.

Counts live in SQLite under the data dir, so every worker process of a server draws on the same bucket.
They are cheap to lose (a crash forgets at most a minute of counting), so writes skip the fsync; a store
that cannot be opened lets requests through with a logged warning rather than refusing everyone.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import random
import sqlite3
import threading
import time
from pathlib import Path

from fastapi import Request

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_bucket ON hits(bucket, at);
"""


def parse_networks(values: list[str]) -> list[Network]:
    """Addresses or CIDR ranges as the settings hold them (already checked there)."""
    return [ipaddress.ip_network(value.strip(), strict=False) for value in values]


def _trusted(address: str, proxies: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request: Request, proxies: list[Network]) -> str:
    """The address of the client: the peer, or, when the peer is a trusted proxy, the right-most address
    in X-Forwarded-For that is not itself a trusted proxy (hops left of it could be forged)."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def client_key(request: Request, proxies: list[Network]) -> str:
    identity = getattr(request.state, "identity", None)
    return f"id:{identity}" if identity else f"addr:{client_address(request, proxies)}"


class SlidingWindow:
    """Hits per bucket over the last ``window`` seconds, shared by every process using ``path``."""

    def __init__(self, path: Path, window: float = 60.0) -> None:
        self.path = path
        self.window = window
        self._local = threading.local()
        self._warned = False

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:  # one connection per thread: sqlite3 connections are not shared across threads
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.executescript(_SCHEMA)
            self._local.db = db
        return db

    def take(self, bucket: str, limit: int) -> int | None:
        """Count a hit for ``bucket`` unless it already has ``limit`` in the window; returns the seconds to
        wait when it has (the hit is then not counted), else ``None``."""
        return self._run(bucket, limit, record=True)

    def exceeded(self, bucket: str, limit: int) -> int | None:
        """Seconds to wait when ``bucket`` already has ``limit`` hits in the window, else ``None``."""
        return self._run(bucket, limit, record=False)

    def add(self, bucket: str) -> None:
        self._run(bucket, None, record=True)

    def _run(self, bucket: str, limit: int | None, *, record: bool) -> int | None:
        now = time.time()
        try:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM hits WHERE bucket = ? AND at <= ?", (bucket, now - self.window))
                if random.random() < 0.01:  # now and then, forget clients that have gone quiet
                    db.execute("DELETE FROM hits WHERE at <= ?", (now - self.window,))
                count, oldest = db.execute(
                    "SELECT COUNT(*), MIN(at) FROM hits WHERE bucket = ?", (bucket,)
                ).fetchone()
                if limit is not None and count >= limit:
                    return max(1, math.ceil(oldest + self.window - now))
                if record:
                    db.execute("INSERT INTO hits VALUES (?, ?)", (bucket, now))
                return None
            finally:
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(Exception):
                self._local.db = None
            if not self._warned:
                log.warning("rate-limit store %s unusable, requests are not limited: %s", self.path, exc)
                self._warned = True
            return None
