"""Answers given and the ratings staff and consultants give them, in SQLite under the data dir.

Every answer a channel serves is recorded with its question and citations, so a rating can name it by id
and a reviewer later sees exactly what was rated. WAL mode lets the web workers write while a reviewer
reads; each write is its own transaction with ``synchronous=FULL``, so a rating acknowledged to the user
survives a crash or kill of the server.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.schemas import Answer

Rating = Literal["up", "down"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answerable INTEGER NOT NULL,
    language TEXT NOT NULL,
    mode TEXT NOT NULL,
    citations TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    answer_id TEXT NOT NULL REFERENCES answers(id),
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id);
CREATE TABLE IF NOT EXISTS conversation_turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,
    question TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_conversation ON conversation_turns(conversation);
"""


class UnknownAnswer(LookupError):
    """Feedback named an answer id that was never recorded."""


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


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

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

    def check_writable(self) -> str | None:
        """``None`` when a write would succeed now, else why not (for the readiness probe)."""
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=2)) as db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("SELECT 1 FROM answers LIMIT 1")
                db.rollback()
        except sqlite3.Error as exc:
            return str(exc)
        return None

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def record(self, answer: Answer, channel: str) -> str:
        """Store ``answer`` (giving it an id when it has none) and return the id."""
        answer.id = answer.id or self.new_id()
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer.id, time.time(), channel, answer.question, answer.answer, int(answer.answerable),
                    answer.language, answer.mode, json.dumps([c.model_dump() for c in answer.citations],
                                                             ensure_ascii=False),
                ),
            )  # fmt: skip
        return answer.id

    def rate(self, answer_id: str, rating: Rating, comment: str = "", channel: str = "web") -> int:
        with self._connect() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise UnknownAnswer(answer_id)
            cursor = db.execute(
                "INSERT INTO feedback (created, answer_id, rating, comment, channel) VALUES (?, ?, ?, ?, ?)",
                (time.time(), answer_id, rating, comment, channel),
            )
            return int(cursor.lastrowid or 0)

    def answer(self, answer_id: str) -> Answer | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, question, answer, answerable, language, mode, citations FROM answers WHERE id = ?",
                (answer_id,),
            ).fetchone()
        if row is None:
            return None
        return Answer.model_validate({
            "id": row[0], "question": row[1], "answer": row[2], "answerable": bool(row[3]),
            "language": row[4], "mode": row[5], "citations": json.loads(row[6]),
        })  # fmt: skip

    def remember(self, conversation: str, question: str) -> None:
        """Note a question asked in a conversation (a Slack thread or DM), for follow-ups."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO conversation_turns (conversation, question) VALUES (?, ?)",
                (conversation, question),
            )

    def history(self, conversation: str, limit: int = 5) -> list[str]:
        """The conversation's latest questions, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT question FROM conversation_turns WHERE conversation = ? ORDER BY id DESC LIMIT ?",
                (conversation, limit),
            ).fetchall()
        return [r[0] for r in reversed(rows)]

    def feedback(self) -> list[FeedbackRow]:
        """Every rating with the question, answer and citations it rated, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT f.id, f.answer_id, f.rating, f.comment, f.channel, a.question, a.answer, a.citations "
                "FROM feedback f JOIN answers a ON a.id = f.answer_id ORDER BY f.id"
            ).fetchall()
        return [
            FeedbackRow(
                id=r[0], answer_id=r[1], rating=r[2], comment=r[3], channel=r[4], question=r[5], answer=r[6],
                citations=json.loads(r[7]),
            )
            for r in rows
        ]  # fmt: skip
