"""Keeps a server on the index the last ingest published, without a restart.

A daemon thread loads the index once the server is up (so liveness answers at once and readiness tells
when answers can be given), then checks the active-version pointer every ``reload_interval_s`` seconds;
a new version is loaded beside the one being served and swapped in when complete (:meth:`Bot.refresh`).
Failures are logged once per distinct message and retried: a store that is down, or index files that an
ingest is about to repair, must not stop the thread or flood the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from crmkb.bot.service import Bot
from crmkb.core.errors import first_line

log = logging.getLogger(__name__)


class IndexWatcher:
    """``prepare`` runs before each attempt at the first load: a channel's way to have an index made first
    (``crmkb.ingest.pipeline.ensure_index``), which the bot, a reader, never does itself."""

    def __init__(self, bot: Bot, interval_s: float, prepare: Callable[[], object] | None = None) -> None:
        self.bot = bot
        self.interval_s = interval_s
        self.prepare = prepare
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crmkb-index-watcher", daemon=True)
        self._last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                if first:
                    if self.prepare is not None:
                        self.prepare()
                    self.bot.load()
                else:
                    switched = self.bot.refresh()
                    if switched:
                        log.warning("now serving index version %s", switched)
                first = False
                self._last_error = None
            except Exception as exc:  # logged and retried: the server keeps serving what it has
                message = first_line(exc)
                if message != self._last_error:
                    log.warning("index not (re)loaded, will retry: %s", message)
                    self._last_error = message
                first = first and self.bot.served_version is None
            self._stop.wait(self.interval_s)
