"""The record of answers served, as the admin console reads it: filtered pages, a CSV of a filter, deletion
and the retention purge.

One row is one answer (a question asked on one channel) with what its raters said: how many 👍 and 👎, and
the latest comment. Filters become one SQL ``WHERE`` over ``answers`` (ratings through ``EXISTS`` on
``feedback``'s answer index), so a page of a store holding 100k answers reads only that page's rows.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from crmkb.bot.schemas import REPLIES
from crmkb.faq.reviewed import neutralise
from crmkb.feedback_store import REFUSED_SQL, REPLIED_SQL, FeedbackStore
from crmkb.insights.gaps import forget_vectors

# refused: the knowledge base does not hold the answer; replied: a greeting or thanks was replied to
# (bot.schemas.REPLIES), which is no refusal
Outcome = Literal["answered", "refused", "replied"]
RatingFilter = Literal["up", "down", "rated", "unrated"]
DAY_S = 86_400
CSV_COLUMNS = ("id", "asked_utc", "channel", "language", "outcome", "curated", "mode", "latency_ms", "user_id",
               "question", "answer", "up", "down", "comment", "sources")  # fmt: skip
_RATED = "EXISTS (SELECT 1 FROM feedback f WHERE f.answer_id = a.id{})"
_SELECT = (
    "SELECT a.id, a.created, a.channel, a.language, a.answerable, a.curated, a.mode, a.latency_ms, a.user_id, "
    "a.question, a.answer, a.citations, a.declined, "
    "(SELECT COUNT(*) FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'up'), "
    "(SELECT COUNT(*) FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'down'), "
    "COALESCE((SELECT f.comment FROM feedback f WHERE f.answer_id = a.id AND f.comment != '' "
    "ORDER BY f.created DESC LIMIT 1), '') "
    "FROM answers a"
)


@dataclass(frozen=True)
class Filters:
    """What the Conversations page shows; every field left empty matches everything."""

    channel: str | None = None
    language: str | None = None
    outcome: Outcome | None = None
    rating: RatingFilter | None = None
    since: float | None = None  # epoch seconds, inclusive
    until: float | None = None  # epoch seconds, exclusive
    text: str | None = None  # a substring of the question, the answer or a comment, any case

    def where(self) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if self.channel:
            clauses.append("a.channel = ?")
            params.append(self.channel)
        if self.language:
            clauses.append("a.language = ?")
            params.append(self.language)
        if self.outcome == "answered":
            clauses.append("a.answerable = 1")
        elif self.outcome == "replied":
            clauses.append(REPLIED_SQL)
        elif self.outcome == "refused":
            clauses.append(REFUSED_SQL)
        if self.rating in ("up", "down"):
            clauses.append(_RATED.format(" AND f.rating = ?"))
            params.append(self.rating)
        elif self.rating == "rated":
            clauses.append(_RATED.format(""))
        elif self.rating == "unrated":
            clauses.append("NOT " + _RATED.format(""))
        if self.since is not None:
            clauses.append("a.created >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("a.created < ?")
            params.append(self.until)
        if self.text:
            pattern = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                "(a.question LIKE ? ESCAPE '\\' OR a.answer LIKE ? ESCAPE '\\' OR "
                + _RATED.format(" AND f.comment LIKE ? ESCAPE '\\'")
                + ")"
            )
            params += [pattern, pattern, pattern]
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


@dataclass(frozen=True)
class Conversation:
    id: str
    asked: float  # epoch seconds
    channel: str
    language: str
    answered: bool
    outcome: Outcome
    curated: bool
    mode: str
    latency_ms: float | None  # None: recorded before crmkb measured it
    user_id: str | None
    question: str
    answer: str
    sources: list[str]
    up: int
    down: int
    comment: str  # the latest rater's comment, if any


def _row(r: tuple[Any, ...]) -> Conversation:
    citations = json.loads(str(r[11]))
    sources = list(dict.fromkeys(str(c.get("source", "")) for c in citations))
    outcome: Outcome = "answered" if r[4] else "replied" if r[12] in REPLIES else "refused"
    return Conversation(
        id=str(r[0]), asked=float(r[1]), channel=str(r[2]), language=str(r[3]), answered=bool(r[4]),
        outcome=outcome, curated=bool(r[5]), mode=str(r[6]), latency_ms=None if r[7] is None else float(r[7]),
        user_id=None if r[8] is None else str(r[8]), question=str(r[9]), answer=str(r[10]), sources=sources,
        up=int(r[13]), down=int(r[14]), comment=str(r[15]),
    )  # fmt: skip


class ConversationLog:
    """Reads and prunes the answers a :class:`FeedbackStore` recorded."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    def page(self, filters: Filters, *, offset: int = 0, limit: int = 50) -> tuple[int, list[Conversation]]:
        """How many answers match, and ``limit`` of them from ``offset``, newest first."""
        where, params = filters.where()

        def work(db: sqlite3.Connection) -> tuple[int, list[Conversation]]:
            total = int(db.execute(f"SELECT COUNT(*) FROM answers a{where}", params).fetchone()[0])
            rows = db.execute(
                f"{_SELECT}{where} ORDER BY a.created DESC, a.id LIMIT ? OFFSET ?", [*params, limit, offset]
            ).fetchall()
            return total, [_row(r) for r in rows]

        return self.store.transaction(work)

    def _after(self, filters: Filters, last: Conversation | None, limit: int) -> list[Conversation]:
        """``limit`` matching answers following ``last`` in the pages' order: the CSV walks the whole filter
        this way, each batch found through the index instead of skipping an ever longer offset."""
        where, params = filters.where()
        if last is not None:
            where += (" AND " if where else " WHERE ") + "(a.created < ? OR (a.created = ? AND a.id > ?))"
            params = [*params, last.asked, last.asked, last.id]
        query = f"{_SELECT}{where} ORDER BY a.created DESC, a.id LIMIT ?"
        rows = self.store.transaction(lambda db: db.execute(query, [*params, limit]).fetchall())
        return [_row(r) for r in rows]

    def channels_and_languages(self) -> tuple[list[str], list[str]]:
        """The values the filters can take: those recorded so far."""

        def work(db: sqlite3.Connection) -> tuple[list[str], list[str]]:
            channels = [r[0] for r in db.execute("SELECT DISTINCT channel FROM answers ORDER BY 1")]
            languages = [r[0] for r in db.execute("SELECT DISTINCT language FROM answers ORDER BY 1")]
            return channels, languages

        return self.store.transaction(work)

    def csv_chunks(self, filters: Filters, *, batch: int = 2000) -> Iterator[str]:
        """Every matching answer as CSV, newest first, in pieces for a streamed download. A UTF-8 byte-order
        mark first (spreadsheets then read Chinese right); every cell a spreadsheet would run as a formula
        (a question may start with ``=``) is neutralised."""
        yield "\ufeff"
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        last = None
        while True:
            rows = self._after(filters, last, batch)
            for c in rows:
                asked = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(c.asked))
                cells = [
                    c.id, asked, c.channel, c.language, c.outcome,
                    "yes" if c.curated else "no", c.mode, "" if c.latency_ms is None else f"{c.latency_ms:.0f}",
                    c.user_id or "", c.question, c.answer, str(c.up), str(c.down), c.comment, " ".join(c.sources),
                ]  # fmt: skip
                writer.writerow([neutralise(cell) for cell in cells])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(rows) < batch:
                return
            last = rows[-1]

    def delete(self, *, ids: list[str] | None = None, filters: Filters | None = None) -> int:
        """Delete the answers named by ``ids``, or those ``filters`` matches, with their ratings and the
        Gaps page's vectors of questions no longer asked; how many answers went."""
        params: list[object]
        if ids is not None:
            marks = ",".join("?" * len(ids))
            where, params = f" WHERE a.id IN ({marks})", list(ids)
        else:
            where, params = (filters or Filters()).where()
        chosen = f"SELECT a.id FROM answers a{where}"

        def work(db: sqlite3.Connection) -> int:
            db.execute(f"DELETE FROM feedback WHERE answer_id IN ({chosen})", params)
            deleted = int(db.execute(f"DELETE FROM answers WHERE id IN ({chosen})", params).rowcount)
            if deleted:
                forget_vectors(db)
            return deleted

        return self.store.transaction(work)

    def count(self, filters: Filters) -> int:
        return self.page(filters, limit=0)[0]

    def purge(self, days: int, *, now: float | None = None) -> int:
        """Delete what was asked more than ``days`` days ago (0: nothing); how many answers went."""
        if days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - days * DAY_S
        return self.delete(filters=Filters(until=cutoff))
