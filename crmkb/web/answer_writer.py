"""Answers recorded off the request path: a request hands its answer to a writer thread and returns.

Recording an answer (for the admin console's Conversations, Gaps and Dashboard, and so that a rating can
name it) is a durable SQLite transaction, and on a disk shared with other work its fsync alone took 2 to
20 ms at p50: more than the answer itself. So the web routes queue each answer here, and one thread per
process writes whatever has queued in one transaction (group commit): under load a batch holds every
answer served while the previous one was being written, so the disk is asked for one fsync per batch,
not per answer.

What a crash can lose: the answers served but not yet written, that is those of the last batch or so
(a few milliseconds' worth, longer only while the disk or another writer holds the file). A clean stop
(SIGTERM, Ctrl-C) writes every queued answer before the process exits (:meth:`AnswerWriter.close`, from
the app's lifespan), and a rating of an answer still queued writes it first (:meth:`flush`), so a rating
that was acknowledged always has its answer on disk.
"""

from __future__ import annotations

import logging
import threading

from crmkb.bot.schemas import Answer
from crmkb.feedback_store import FeedbackStore, FeedbackUnavailable, Served

log = logging.getLogger(__name__)

# While the disk refuses writes for long, answers wait in memory up to this many; beyond it they are
# served unrecorded (with a warning), as they are when the store is unavailable.
MAX_PENDING = 10_000


class AnswerWriter:
    """One thread writing the answers :meth:`record` queues, in batches, to ``store``."""

    def __init__(self, store: FeedbackStore, *, max_pending: int = MAX_PENDING) -> None:
        self.store = store
        self.max_pending = max_pending
        self._pending: list[Served] = []
        self._queued = 0  # answers ever queued, and of them written (or given up), in order
        self._done = 0
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="answer-writer", daemon=True)
        self._thread.start()

    def record(self, answer: Answer, channel: str, *, user_id: str | None = None) -> str:
        """Queue ``answer`` (asked by ``user_id``, verified, or ``None``) for recording and return its id,
        given now when it has none: the client may rate it by that id at once."""
        answer.id = answer.id or self.store.new_id()
        served = Served(answer, channel, user_id)
        with self._wake:
            if not self._closed and len(self._pending) < self.max_pending:
                self._pending.append(served)
                self._queued += 1
                self._wake.notify_all()
                return answer.id
            closed = self._closed
        if closed:  # a request finishing after shutdown began: written in its own thread, as before
            self.store.try_record(answer, channel, user_id=user_id)
        else:
            log.warning("answer %s served without being recorded: %d answers wait for the disk", answer.id,
                        self.max_pending)  # fmt: skip
        return answer.id

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every answer queued before this call is written (or given up); ``False`` on timeout."""
        with self._wake:
            target = self._queued
            return self._wake.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is queued, then stop the thread; later answers are written as they come."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("answer writer stopped with %d answers unwritten", len(self._pending))

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: bool(self._pending) or self._closed)
                if not self._pending:
                    return  # closed, and everything written
                batch, self._pending = self._pending, []
                upto = self._queued
            self._write(batch)
            with self._wake:
                self._done = upto
                self._wake.notify_all()

    def _write(self, batch: list[Served]) -> None:
        try:
            self.store.record_many(batch)
        except FeedbackUnavailable as exc:
            log.warning("%d answers served without being recorded: %s", len(batch), exc)
        except Exception:  # the thread must outlive any one batch, or every later answer would queue forever
            log.exception("%d answers served without being recorded", len(batch))
