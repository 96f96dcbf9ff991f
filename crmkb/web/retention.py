"""The retention setting applied while the service runs: at start, then once a day (CRMKB_FEEDBACK_RETENTION_DAYS).

A daemon thread, stopped with the app; a purge that fails (the store is down) is logged and tried again at
the next run. Several worker processes may each purge: deleting what is already gone deletes nothing."""

from __future__ import annotations

import logging
import threading

from crmkb.feedback_store import FeedbackStore, FeedbackUnavailable
from crmkb.insights.conversations import DAY_S, ConversationLog

log = logging.getLogger(__name__)


class RetentionSchedule:
    def __init__(self, store: FeedbackStore, days: int, *, every_s: float = DAY_S) -> None:
        self.log = ConversationLog(store)
        self.days = days
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        try:
            deleted = self.log.purge(self.days)
        except FeedbackUnavailable as exc:
            log.warning("retention purge skipped: %s", exc)
            return 0
        if deleted:
            log.info("retention: deleted %d answers older than %d days", deleted, self.days)
        return deleted

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.run_once()

    def start(self) -> None:
        """Purge now (before the service answers, so nothing past its time is shown), then daily."""
        if self.days > 0:
            self.run_once()
            self._thread = threading.Thread(target=self._loop, daemon=True, name="retention")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
