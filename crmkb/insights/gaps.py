"""What the knowledge base fails to answer, from real traffic: refused questions and 👎 answers, grouped by
meaning and ranked by how often they are asked (the admin console's Gaps page).

Questions are counted by their normalised text (case, width and spacing ignored), then embedded as queries
with the bot's own embedder and grouped by leader clustering: the most-asked question not yet in a group leads a new
one, and every remaining question at least ``similarity`` from it joins. The questions are ranked first,
so leaders come in order and their similarities are computed a block of rows at a time: one matrix product
per block, and never the whole n×n matrix.

Embedding is the slow part (e5 on a shared CPU: a few to a hundred questions a second), so a question's
vector is kept in the feedback database (``question_vectors``, keyed by the model and the normalised text)
and computed once, in a background thread: a request groups what is embedded already, says how many wait,
and never waits itself. Only the ``limit`` most recent distinct questions are considered.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from crmkb.feedback_store import REFUSED_SQL, FeedbackStore
from crmkb.ingest.embeddings import IdentifiedEmbeddings

log = logging.getLogger(__name__)
BATCH = 32  # questions per embedding call, and per cache write
BLOCK = 512  # leaders whose similarities to every question are computed at once (BLOCK × n floats)
_VECTORS = """CREATE TABLE IF NOT EXISTS question_vectors (
    model TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, key))"""
_FAILED = f"""
SELECT a.question, a.created, a.answerable,
       EXISTS (SELECT 1 FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'down')
FROM answers a
WHERE a.channel != 'faq'  -- the FAQ builder's drafts (crmkb.faq.build.CHANNEL): a trainer's, not askers'
  -- a greeting or thanks is not a gap in the knowledge base
  AND ({REFUSED_SQL} OR EXISTS (SELECT 1 FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'down'))
ORDER BY a.created DESC
"""


def _kept_as(model: IdentifiedEmbeddings) -> str:
    """The model a kept vector was made by, and how: questions are embedded as queries (e5's own advice for
    comparing texts with each other; its passage side scores distinct questions of one domain as high as
    0.95, its query side 0.91 at most, against 0.95 and up for paraphrases)."""
    return f"{model.cache_identity} query"


def normalised(question: str) -> str:
    """The text two askings of one question share: NFKC (full-width to half-width), folded case, single
    spaces, no trailing punctuation."""
    text = " ".join(unicodedata.normalize("NFKC", question).casefold().split())
    return text.rstrip("?？!！.。 ")


@dataclass
class Asked:
    """One distinct question: how often, how recently, and why it counts as a gap."""

    key: str
    text: str  # its most recent wording
    asks: int = 0
    refused: int = 0
    disliked: int = 0
    last: float = 0.0
    wordings: list[str] = field(default_factory=list)


@dataclass
class Gap:
    asks: int
    refused: int
    disliked: int
    last: float
    questions: list[Asked]  # most asked first


@dataclass
class GapReport:
    gaps: list[Gap]
    considered: int  # distinct questions grouped
    pending: int  # distinct questions still waiting for their vectors
    beyond_limit: int  # distinct questions older than the newest ``limit``, left out


def forget_vectors(db: sqlite3.Connection) -> None:
    """Drop the kept vectors of questions no recorded answer asks any more: a vector's key is the question's
    text, so deleting answers (one, a filter, the retention purge) must take it too."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'question_vectors'").fetchone() is None:
        return
    asked = {normalised(q) for (q,) in db.execute("SELECT question FROM answers")}
    kept = [k for (k,) in db.execute("SELECT DISTINCT key FROM question_vectors")]
    gone = [(k,) for k in kept if k not in asked]
    db.executemany("DELETE FROM question_vectors WHERE key = ?", gone)


def failed_questions(store: FeedbackStore, limit: int) -> tuple[list[Asked], int]:
    """The ``limit`` most recently asked distinct refused or disliked questions, and how many more there are."""
    rows = store.transaction(lambda db: db.execute(_FAILED).fetchall())
    found: dict[str, Asked] = {}
    for question, created, answerable, disliked in rows:
        key = normalised(question)
        if not key:
            continue
        asked = found.get(key)
        if asked is None:
            asked = found[key] = Asked(key=key, text=question, last=created)
        asked.asks += 1
        asked.refused += int(not answerable)
        asked.disliked += int(bool(disliked))
        if question not in asked.wordings:
            asked.wordings.append(question)
    questions = list(found.values())  # most recent first: rows came newest first
    return questions[:limit], max(0, len(questions) - limit)


def group(questions: list[Asked], vectors: np.ndarray, similarity: float) -> list[Gap]:
    """Leader clustering of ``questions`` (rows of unit ``vectors``), ranked by asks."""
    order = sorted(range(len(questions)), key=lambda i: (-questions[i].asks, -questions[i].last))
    ranked = vectors[order]  # leaders come in this order, so their similarities are computed in blocks
    free = np.ones(len(order), dtype=bool)
    gaps = []
    for block in range(0, len(order), BLOCK):
        similar = ranked[block : block + BLOCK] @ ranked.T >= similarity  # one BLAS call per block of leaders
        for row, leader in enumerate(range(block, min(block + BLOCK, len(order)))):
            if not free[leader]:
                continue
            members = np.flatnonzero(free & similar[row])  # the leader's own row includes itself
            free[members] = False
            chosen = [questions[order[i]] for i in members]  # already most asked first
            gaps.append(Gap(asks=sum(q.asks for q in chosen), refused=sum(q.refused for q in chosen),
                            disliked=sum(q.disliked for q in chosen), last=max(q.last for q in chosen),
                            questions=chosen))  # fmt: skip
    gaps.sort(key=lambda g: (-g.asks, -g.last))
    return gaps


class GapFinder:
    """The gaps of one feedback store, with its question vectors cached and filled in the background."""

    def __init__(self, store: FeedbackStore, embeddings: Callable[[], IdentifiedEmbeddings]) -> None:
        self.store = store
        self._embeddings = embeddings  # the bot's, reached late: it may be swapped or not loaded yet
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.failure: str | None = None  # why the last background run stopped, if it failed

    def _cached(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        def work(db: sqlite3.Connection) -> dict[str, np.ndarray]:
            db.execute(_VECTORS)
            found: dict[str, np.ndarray] = {}
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                query = f"SELECT key, vector FROM question_vectors WHERE model = ? AND key IN ({marks})"
                for key, blob in db.execute(query, [model, *part]):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
            return found

        return self.store.transaction(work)

    def _embed(self, model: IdentifiedEmbeddings, keys: list[str]) -> None:
        try:
            for start in range(0, len(keys), BATCH):
                part = keys[start : start + BATCH]
                vectors = np.asarray(model.embed_queries(part), dtype=np.float32)
                rows = [(_kept_as(model), k, v.tobytes()) for k, v in zip(part, vectors, strict=True)]

                def store(db: sqlite3.Connection, rows: list[tuple[str, str, bytes]] = rows) -> None:
                    db.execute(_VECTORS)
                    db.executemany("INSERT OR REPLACE INTO question_vectors VALUES (?, ?, ?)", rows)

                self.store.transaction(store)
        except Exception as exc:  # a broken model or store: reported on the page, retried next request
            log.warning("embedding gap questions failed: %s", exc)
            self.failure = str(exc)

    def start(self, model: IdentifiedEmbeddings, keys: list[str]) -> None:
        """Embed ``keys`` in a background thread, unless one is at work already."""
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return
            self.failure = None
            self._worker = threading.Thread(target=self._embed, args=(model, keys), daemon=True, name="gaps")
            self._worker.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the background embedding is done (tests, benchmarks)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def report(self, *, limit: int, similarity: float) -> GapReport:
        """The gaps among what is embedded now; what is not yet is handed to the background thread."""
        questions, beyond = failed_questions(self.store, limit)
        model = self._embeddings()
        cached = self._cached(_kept_as(model), [q.key for q in questions])
        # The most asked first: while the rest wait, the page already shows the gaps that matter most.
        missing = [q.key for q in sorted(questions, key=lambda q: -q.asks) if q.key not in cached]
        if missing:
            self.start(model, missing)
        ready = [q for q in questions if q.key in cached]
        vectors = np.vstack([cached[q.key] for q in ready]) if ready else np.zeros((0, 1), np.float32)
        return GapReport(group(ready, vectors, similarity), len(ready), len(missing), beyond)
