"""Which Slack deliveries were already taken, so a replayed or duplicated request is answered once.

Slack signs each request with a timestamp and refuses nothing itself, so a captured request can be sent
again while its timestamp is inside the 5-minute window, and Slack may deliver one event twice. An event is
known by its ``event_id``; a slash command or interaction, which has none, by its signature (which covers
its timestamp and body). The keys live in SQLite under the data dir, so every worker process sees them.

When the file cannot be used, requests are let through with a logged warning: a duplicate answer is a
smaller harm than Slack going silent.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

REPLAY_DB = "slack-replay.sqlite3"  # under Settings.host_state_dir
WINDOW = 5 * 60  # Slack's own timestamp window
# A request is accepted while its timestamp is within WINDOW either side of our clock, so a key must outlive
# its first sighting by twice the window to cover every replay that would still verify.
KEEP = 2 * WINDOW

_SCHEMA = "CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL)"


class ReplayGuard:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _claim(self, key: str, now: float) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                db.execute(_SCHEMA)
                db.execute("DELETE FROM seen WHERE at < ?", (now - KEEP,))
                return db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, now)).rowcount == 1
        finally:
            db.close()

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within KEEP seconds (and remember it); False after that."""
        try:
            return self._claim(key, time.time())
        except (sqlite3.Error, OSError) as exc:
            log.warning("Slack replay check skipped, %s is unavailable: %s", self.path, exc)
            return True
