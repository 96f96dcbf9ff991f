"""Re-ingest started from the admin console: one run at a time per server, in a thread of its own, with the
pipeline's progress kept for the page to poll, then the served index switched at once.

The run is the CLI's (``run_ingest`` on the bot's own embedder and store), so answering goes on from the
version being served while it runs, and a run started by someone else (``crmkb ingest``, another worker)
holds the data dir's ingest lock: this one waits for it and says so. When it has published, the bot loads
the new version beside the old one and swaps (:meth:`Bot.refresh`), so the next question is answered from
it without waiting for the IndexWatcher's next look. Its report is kept as the last ingest's
(crmkb.ingest.last_report), as ``crmkb ingest`` keeps its own.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from crmkb.bot.service import Bot
from crmkb.core.errors import Conflict, UserError, described, first_line
from crmkb.ingest.last_report import save_report
from crmkb.ingest.pipeline import run_ingest

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class IngestJob:
    id: int
    started_at: str
    state: Literal["running", "done", "failed"] = "running"
    phase: str = "starting"
    done: int = 0
    total: int = 0
    finished_at: str | None = None
    seconds: float | None = None
    report: dict[str, Any] | None = None
    error: str | None = None
    serving: str | None = None  # the version the bot answers from once the run is over

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Reingester:
    """The console's re-ingests for one bot; ``start`` refuses a second one while the first runs."""

    bot: Bot
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _job: IngestJob | None = None
    _count: int = 0
    _thread: threading.Thread | None = None

    @property
    def current(self) -> IngestJob | None:
        return self._job

    def start(self) -> IngestJob:
        with self._lock:
            if self._job is not None and self._job.state == "running":
                raise Conflict(
                    f"a re-ingest is already running (started {self._job.started_at}); wait for it"
                )
            self._count += 1
            job = self._job = IngestJob(self._count, _now())
            self._thread = threading.Thread(
                target=self._run, args=(job,), name="crmkb-admin-ingest", daemon=True
            )
            self._thread.start()
            return job

    def wait(self, timeout: float | None = None) -> None:
        """Until the current run is over (for the CLI-less callers and tests that need its end)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, job: IngestJob) -> None:
        began = time.perf_counter()

        def progress(phase: str, done: int, total: int) -> None:
            job.phase, job.done, job.total = phase, done, total

        try:
            report = run_ingest(
                self.bot.settings,
                embeddings=self.bot.embeddings,
                store=self.bot.index_store,
                progress=progress,
            )
            job.report = report.to_json()
            # saved before the job reads as done, so a page polling for "done" finds the report
            save_report(self.bot.settings.data_dir, job.report, by="admin")
            job.phase = "switching to the new index"
            self.bot.refresh(wait=True)
            job.serving = self.bot.served_version
            job.state, job.phase = "done", "done"
        except UserError as exc:  # e.g. kb/catalog.toml cannot be read: the admin's to fix
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # logged for the operator; the page shows one line, the old index serves on
            log.warning("admin re-ingest failed: %s", described(exc))
            job.state, job.error = "failed", f"{first_line(exc)} (the index being served is unchanged)"
        finally:
            job.seconds = round(time.perf_counter() - began, 1)
            job.finished_at = _now()
