"""Answers given and the ratings staff and consultants give them, in SQLite under the data dir.

Every answer a channel serves is recorded with its question and citations, so a rating can name it by id
and a reviewer later sees exactly what was rated. WAL mode lets the web workers write while a reviewer
reads; each write is its own transaction with ``synchronous=FULL``, so a rating acknowledged to the user
survives a crash or kill of the server.

One rater (a Slack user, a browser, a client address) holds one rating per answer: rating again replaces
it, so repeated clicks cannot stack up votes.

The store is an optional part of serving: when its file is deleted or replaced while the service runs,
the next call recreates the schema and carries on; while it cannot be healed (an unwritable data dir, a
file that is not a database) every call raises :class:`FeedbackUnavailable`, which answering channels log
and step over, and which the rating endpoints turn into 503.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from crmkb.bot.schemas import REPLIES, Answer
from crmkb.core.errors import NotFound, Unavailable

Rating = Literal["up", "down"]
# The two kinds of unanswered question, as SQL over ``answers a``: a reply to a greeting or thanks, and a
# refusal (the knowledge base does not hold the answer; every one recorded before ``declined`` existed).
_REPLY_KINDS = ", ".join(f"'{kind}'" for kind in sorted(REPLIES))
REPLIED_SQL = f"(a.answerable = 0 AND a.declined IN ({_REPLY_KINDS}))"
REFUSED_SQL = f"(a.answerable = 0 AND COALESCE(a.declined, '') NOT IN ({_REPLY_KINDS}))"
T = TypeVar("T")
log = logging.getLogger(__name__)

_TABLES = (
    """CREATE TABLE IF NOT EXISTS answers (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        channel TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        answerable INTEGER NOT NULL,
        language TEXT NOT NULL,
        mode TEXT NOT NULL,
        citations TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created REAL NOT NULL,
        answer_id TEXT NOT NULL REFERENCES answers(id),
        rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
        comment TEXT NOT NULL DEFAULT '',
        channel TEXT NOT NULL,
        rater TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id)",
    """CREATE TABLE IF NOT EXISTS conversation_turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation TEXT NOT NULL,
        question TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS turns_conversation ON conversation_turns(conversation)",
)

# A comment given with a rating survives a later click of the same rating without one: the widget sends
# the bare rating and then the comment as two requests, which may arrive in either order.
_UPSERT = """
INSERT INTO feedback (created, answer_id, rating, comment, channel, rater, user_id) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (answer_id, rater) DO UPDATE SET
    created = excluded.created,
    user_id = excluded.user_id,
    comment = CASE WHEN excluded.comment != '' THEN excluded.comment
                   WHEN excluded.rating = feedback.rating THEN feedback.comment ELSE '' END,
    rating = excluded.rating,
    channel = excluded.channel
RETURNING id
"""


class UnknownAnswer(NotFound):
    """Feedback named an answer id that was never recorded."""


class FeedbackUnavailable(Unavailable):
    """The store cannot be read or written right now (its cause is chained and logged)."""


@dataclass(frozen=True)
class FeedbackRow:
    id: int
    answer_id: str
    rating: Rating
    comment: str
    channel: str
    question: str
    answer: str
    citations: list[dict[str, object]]
    rater: str
    user_id: str | None = None  # the rater's verified user (a signed token's sub), when they had one


@dataclass(frozen=True)
class Served:
    """An answer a channel served: to whom (a verified user, ``None`` when anonymous) and when."""

    answer: Answer
    channel: str
    user_id: str | None = None
    created: float = field(default_factory=time.time)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database written by an older crmkb up to date; runs inside the schema transaction."""
    if "rater" not in {row[1] for row in db.execute("PRAGMA table_info(feedback)")}:
        db.execute("ALTER TABLE feedback ADD COLUMN rater TEXT NOT NULL DEFAULT ''")
    unique = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'feedback_rater'")
    if unique.fetchone() is None:
        # Ratings from before raters were known all count as one anonymous rater: the latest one stays.
        db.execute(
            "DELETE FROM feedback WHERE id NOT IN (SELECT MAX(id) FROM feedback GROUP BY answer_id, rater)"
        )
        db.execute("CREATE UNIQUE INDEX feedback_rater ON feedback(answer_id, rater)")
    _add_user_ids(db)
    _add_answer_facts(db)


def _add_answer_facts(db: sqlite3.Connection) -> None:
    """Whether an answer was a curated one and how long it took (the admin console's dashboard and
    conversations); NULL latency for answers recorded before it was. The index on ``created`` serves the
    console's date filters, newest-first pages and the retention purge."""
    _add_column(db, "answers", "curated", "INTEGER NOT NULL DEFAULT 0")
    _add_column(db, "answers", "latency_ms", "REAL")
    # why nothing was answered (bot.schemas.Declined); NULL for answers, and for refusals recorded before
    # greetings and thanks were told apart, which count as not covered
    _add_column(db, "answers", "declined", "TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS answers_created ON answers(created)")


def _add_user_ids(db: sqlite3.Connection) -> None:
    """Who asked and who rated, as verified (a signed token's ``sub``); NULL for the anonymous, and for
    everything recorded before users were known. Idempotent: adds the column only where it is missing."""
    for table in ("answers", "feedback"):
        _add_column(db, table, "user_id", "TEXT")


def _add_column(db: sqlite3.Connection, table: str, column: str, declaration: str) -> None:
    """``column`` added to ``table`` where an older database lacks it."""
    if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._prepare()
        except (sqlite3.Error, OSError) as exc:
            # Serving starts without it; every call tries to heal the store again.
            log.warning(
                "feedback store %s unavailable, answers will not be recorded until it heals: %s", path, exc
            )

    def _prepare(self) -> None:
        """Create or update the schema: on start, and again whenever the file was lost or replaced."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")  # one process checks and migrates at a time
            for statement in _TABLES:
                db.execute(statement)
            _migrate(db)
            db.execute("COMMIT")
        finally:
            db.close()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: the store is shared by threads and worker processes, and writes are rare.
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            with db:
                yield db
        finally:
            db.close()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` in one transaction; on a database error, heal the schema once and try again."""
        try:
            with self._connect() as db:
                return work(db)
        except sqlite3.Error as first:
            log.warning("feedback store %s failed (%s); recreating its schema", self.path, first)
            try:
                self._prepare()
                with self._connect() as db:
                    return work(db)
            except (sqlite3.Error, OSError) as exc:
                raise FeedbackUnavailable(f"the feedback store {self.path} is unavailable: {exc}") from exc

    def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` in one transaction, healing the schema as every call here does: for the admin console's
        reports and deletions (crmkb.insights), which read and delete across the tables."""
        return self._run(work)

    def check_writable(self) -> str | None:
        """``None`` when a rating could be stored now (healing the file first if it was lost), else why
        not: the readiness probe's question."""

        def probe(db: sqlite3.Connection) -> None:
            db.execute("SELECT 1 FROM answers LIMIT 1")
            db.execute("DELETE FROM answers WHERE 0")  # takes the write lock, changes nothing

        try:
            self._run(probe)
        except FeedbackUnavailable as exc:
            return str(exc)
        return None

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def record(self, answer: Answer, channel: str, *, user_id: str | None = None) -> str:
        """Store ``answer`` asked by ``user_id`` (verified; ``None``: anonymous), giving it an id when it has
        none, and return the id."""
        self.record_many([Served(answer, channel, user_id)])
        return str(answer.id)

    def record_many(self, served: Sequence[Served]) -> None:
        """Store each answer as :meth:`record` does, all in one transaction: one write to disk for the lot
        (:mod:`crmkb.web.answer_writer` batches a server's answers this way)."""
        rows = []
        for one in served:
            answer = one.answer
            answer.id = answer.id or self.new_id()
            rows.append((
                answer.id, one.created, one.channel, answer.question, answer.answer, int(answer.answerable),
                answer.language, answer.mode,
                json.dumps([c.model_dump() for c in answer.citations], ensure_ascii=False),
                one.user_id, int(answer.curated), answer.latency_ms, answer.declined,
            ))  # fmt: skip
        # Columns named: migrations append columns, so their order differs between old and new databases.
        insert = (
            "INSERT OR REPLACE INTO answers (id, created, channel, question, answer, answerable, language, mode, "
            "citations, user_id, curated, latency_ms, declined) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._run(lambda db: db.executemany(insert, rows))

    def try_record(self, answer: Answer, channel: str, *, user_id: str | None = None) -> bool:
        """:meth:`record`, or a logged warning when the store is unavailable: answering goes on unrecorded."""
        try:
            self.record(answer, channel, user_id=user_id)
        except FeedbackUnavailable as exc:
            log.warning("answer %s served without being recorded: %s", answer.id, exc)
            return False
        return True

    def rate(
        self,
        answer_id: str,
        rating: Rating,
        comment: str = "",
        channel: str = "web",
        *,
        rater: str = "",
        user_id: str | None = None,
    ) -> int:
        """Store ``rater``'s rating of an answer (``user_id``: their verified user, if any), replacing the
        one they gave it before; returns its id."""

        def work(db: sqlite3.Connection) -> int:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise UnknownAnswer(answer_id)
            return int(
                db.execute(
                    _UPSERT, (time.time(), answer_id, rating, comment, channel, rater, user_id)
                ).fetchone()[0]
            )

        return self._run(work)

    def answer(self, answer_id: str) -> Answer | None:
        query = "SELECT id, question, answer, answerable, language, mode, citations, declined FROM answers WHERE id = ?"
        row = self._run(lambda db: db.execute(query, (answer_id,)).fetchone())
        if row is None:
            return None
        return Answer.model_validate({
            "id": row[0], "question": row[1], "answer": row[2], "answerable": bool(row[3]),
            "language": row[4], "mode": row[5], "citations": json.loads(row[6]), "declined": row[7],
        })  # fmt: skip

    def asked_by(self, answer_id: str) -> str | None:
        """The verified user who asked for an answer; ``None`` when anonymous or unknown."""
        row = self._run(
            lambda db: db.execute("SELECT user_id FROM answers WHERE id = ?", (answer_id,)).fetchone()
        )
        return None if row is None else row[0]

    def remember(self, conversation: str, question: str) -> None:
        """Note a question asked in a conversation (a Slack thread or DM), for follow-ups."""
        self._run(
            lambda db: db.execute(
                "INSERT INTO conversation_turns (conversation, question) VALUES (?, ?)",
                (conversation, question),
            )
        )

    def history(self, conversation: str, limit: int = 5) -> list[str]:
        """The conversation's latest questions, oldest first."""
        query = "SELECT question FROM conversation_turns WHERE conversation = ? ORDER BY id DESC LIMIT ?"
        rows = self._run(lambda db: db.execute(query, (conversation, limit)).fetchall())
        return [r[0] for r in reversed(rows)]

    def feedback(self) -> list[FeedbackRow]:
        """Every rater's current rating of each answer, with the question, answer and citations it rated,
        oldest first."""
        query = (
            "SELECT f.id, f.answer_id, f.rating, f.comment, f.channel, a.question, a.answer, a.citations, f.rater, "
            "f.user_id "
            "FROM feedback f JOIN answers a ON a.id = f.answer_id ORDER BY f.id"
        )
        rows = self._run(lambda db: db.execute(query).fetchall())
        return [
            FeedbackRow(
                id=r[0], answer_id=r[1], rating=r[2], comment=r[3], channel=r[4], question=r[5], answer=r[6],
                citations=json.loads(r[7]), rater=r[8], user_id=r[9],
            )
            for r in rows
        ]  # fmt: skip
