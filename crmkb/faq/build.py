"""Answer a question list as FAQ entries, in bounded memory, grouped by topic in a stable order.

Questions stream in one line at a time. Exact repeats (after normalising) are dropped; near-duplicates are
merged into the first, as "also asked": e5 similarity of the questions at least ``NEAR_DUPLICATE`` *and*
answers citing mostly the same passages (templated questions about different things score high on e5
alone, but get different answers). Each
entry is written to a scratch SQLite file as it is answered, so a 10,000-question file holds only the
question vectors in memory; entries are then read back grouped: topics in document order (document id,
then where the topic's first citation sits), entries in question order, and the questions the knowledge
base does not cover last.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from crmkb.bot.curated import question_key
from crmkb.bot.schemas import Answer
from crmkb.bot.service import Bot, QuestionError
from crmkb.core.errors import UserError
from crmkb.faq.entries import Entry

CLOSEST = 8
NEAR_DUPLICATE = 0.975  # e5 scores paraphrases 0.98–0.99 and different questions on one topic up to ~0.97


def alike(a: frozenset[tuple[str, int]], b: frozenset[tuple[str, int]]) -> bool:
    """Two answers cite mostly the same passages (at least half of all they cite between them)."""
    return bool(a and b) and 2 * len(a & b) >= len(a | b)


class FaqError(UserError):
    """The questions or the reviewed file cannot be used; the message says why."""


def read_questions(path: Path) -> Iterator[str]:
    """Non-blank lines of a UTF-8 file, one question each, streamed."""
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield line.strip()
    except UnicodeDecodeError:
        raise FaqError(f"{path}: not UTF-8 text; save the question list as UTF-8") from None
    except OSError as exc:
        raise FaqError(f"{path}: {exc.strerror}") from None


class EntryStore:
    """Entries on disk while a build runs; read back in FAQ order."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE entries (id TEXT PRIMARY KEY, covered INT, source TEXT, pos INT, body TEXT)"
        )

    def add(self, entry: Entry) -> None:
        self.db.execute(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?)",
            (
                entry.id,
                int(entry.covered),
                entry.source,
                entry.order,
                json.dumps(entry.row(), ensure_ascii=False),
            ),
        )

    def merge(self, entry_id: str, question: str) -> None:
        body = json.loads(self.db.execute("SELECT body FROM entries WHERE id = ?", (entry_id,)).fetchone()[0])
        entry = Entry.from_row(body)
        entry.also_asked.append(question)
        self.db.execute(
            "UPDATE entries SET body = ? WHERE id = ?",
            (json.dumps(entry.row(), ensure_ascii=False), entry_id),
        )

    def ordered(self) -> Iterator[Entry]:
        # A topic is filed where its first entry's first citation sits; entries keep question order inside it.
        topic_order = """
            SELECT e.body FROM entries e
            LEFT JOIN (SELECT source, json_extract(body, '$.section') AS section, MIN(pos) AS first
                       FROM entries WHERE covered = 1 GROUP BY source, section) t
              ON t.source = e.source AND t.section = json_extract(e.body, '$.section')
            ORDER BY e.covered DESC, e.source, t.first, e.id
        """
        for (body,) in self.db.execute(topic_order):
            yield Entry.from_row(json.loads(body))

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


# How the feedback store (and the admin console's Conversations) names the answers the FAQ builder drafts;
# the Gaps page leaves them out, or the questions it sends the builder would come back as new gaps.
CHANNEL = "faq"


@contextmanager
def built(
    bot: Bot,
    questions: Iterable[str],
    progress: Callable[[int], None] | None = None,
    answered: Callable[[Answer], object] | None = None,
) -> Iterator[EntryStore]:
    """Answer ``questions`` into a scratch EntryStore (deleted afterwards); ``answered`` sees each answer
    given (the channel records it, as every channel records what it serves)."""
    with tempfile.TemporaryDirectory(prefix="crmkb-faq-") as scratch:
        store = EntryStore(Path(scratch) / "entries.sqlite3")
        seen: dict[str, str] = {}
        ids: list[str] = []
        vectors = np.zeros((0, 0), np.float32)  # grows by doubling; row i is ids[i]'s question
        passages: list[frozenset[tuple[str, int]]] = []  # what ids[i]'s answer cites
        for index, question in enumerate(questions):
            if progress:
                progress(index + 1)
            key = question_key(question)
            if not key:
                continue
            if key in seen:
                continue
            vector = np.asarray(bot.embeddings.embed_query(question), dtype=np.float32)
            try:
                answer = bot.ask(question)
            except QuestionError as exc:
                raise FaqError(f"question {index + 1}: {exc}") from None
            if answered:
                answered(answer)
            cited = frozenset((c.source, c.start) for c in answer.citations)
            if cited and ids:
                # einsum, not BLAS: BLAS threads left spinning after each product slow the embedder's threads
                # (measured: 10 → 21 ms per question embedding on two cores).
                scores = np.einsum("ij,j->i", vectors[: len(ids)], vector)
                # Only the closest few are compared: templated questions can have thousands above the bar.
                closest = np.argsort(-scores)[:CLOSEST]
                twins = [i for i in closest if scores[i] >= NEAR_DUPLICATE and alike(passages[i], cited)]
                if twins:
                    store.merge(ids[twins[0]], question)
                    seen[key] = ids[twins[0]]
                    continue
            entry = Entry.from_answer(index + 1, answer)
            store.add(entry)
            seen[key] = entry.id
            if len(ids) == len(vectors):
                vectors = (
                    np.resize(vectors, (max(64, 2 * len(ids)), len(vector)))
                    if ids
                    else np.zeros((64, len(vector)), np.float32)
                )
            vectors[len(ids)] = vector
            ids.append(entry.id)
            passages.append(cited)
        if not store.count():
            raise FaqError("no questions: the file is empty or holds only blank lines")
        try:
            yield store
        finally:
            store.db.close()
