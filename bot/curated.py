"""Curated answers: FAQ entries trainers reviewed, approved and published (`crmkb faq publish`).

When a question closely matches a published one (the same after normalising, or e5 similarity of the two
questions at least ``MATCH``), the bot serves the curated answer with its citations, marked ``curated``.
The published file is re-read when it changes, so every server process picks up a publish or unpublish.
Curated answers are optional: a published file that cannot be read is logged once and ignored (answers
come from the index as usual) until it is fixed or published anew.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from bot.schemas import Answer
from crmkb.files import write_atomically
from ingest.embeddings import IdentifiedEmbeddings
from ingest.normalise import normalise_question

log = logging.getLogger(__name__)
PUBLISHED = Path("faq") / "published.json"
MATCH = 0.975  # e5 query-to-query: paraphrases score 0.98–0.99, different questions on one topic up to ~0.97


class PublishedFileError(ValueError):
    """The published curated answers cannot be read; the message names the file and the way out."""


def question_key(question: str) -> str:
    """A question as compared for an exact match: one script, no punctuation, spacing or case."""
    return re.sub(r"[\W_]+", "", normalise_question(question)).lower()


class CuratedAnswers:
    def __init__(self, data_dir: Path, embeddings: IdentifiedEmbeddings) -> None:
        self.path = data_dir / PUBLISHED
        self.embeddings = embeddings
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: list[dict[str, Any]] = []
        self._vectors = np.zeros((0, 1), np.float32)

    def _fresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._entries = None, []
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp  # a bad file is reported once, not on every question
        try:
            entries = _entries(self.path)
            if entries and any(e.get("embedder") != self.embeddings.name for e in entries):
                for entry in entries:  # published with another model: this process embeds them itself
                    entry["vector"] = self.embeddings.embed_query(entry["question"])
            vectors = np.asarray([e["vector"] for e in entries], dtype=np.float32)
            if entries and vectors.ndim != 2:
                raise ValueError("vectors of different lengths")
            for entry in entries:
                Answer.model_validate(entry["answer"])
        except (PublishedFileError, KeyError, TypeError, ValueError) as exc:
            log.warning("curated answers are off: %s", exc)
            self._entries = []
            return
        self._entries, self._vectors = entries, vectors

    def match(self, question: str) -> Answer | None:
        with self._lock:
            self._fresh()
            if not self._entries:
                return None
            key = question_key(question)
            found = next((e for e in self._entries if e["key"] == key), None)
            if found is None:
                scores = self._vectors @ np.asarray(self.embeddings.embed_query(question), dtype=np.float32)
                best = int(np.argmax(scores))
                found = self._entries[best] if scores[best] >= MATCH else None
        if found is None:
            return None
        answer = Answer.model_validate(found["answer"])
        answer.question, answer.curated = question, True
        return answer


def publish(data_dir: Path, embeddings: IdentifiedEmbeddings, answers: list[Answer]) -> int:
    """Add (or replace) curated answers; returns how many are published in all."""
    entries = {e["key"]: e for e in _read(data_dir)}
    for answer in answers:
        entries[question_key(answer.question)] = {
            "key": question_key(answer.question),
            "question": answer.question,
            "answer": answer.model_dump(exclude={"latency_ms"}),
            "embedder": embeddings.name,
            "vector": [round(float(x), 6) for x in embeddings.embed_query(answer.question)],
        }
    _write(data_dir, sorted(entries.values(), key=lambda e: e["key"]))
    return len(entries)


def unpublish(data_dir: Path, questions: list[str] | None) -> int:
    """Remove the given questions (all when ``None``); returns how many were removed. Removing all works
    on an unreadable file too: it is the way out of one."""
    try:
        entries = _read(data_dir)
    except PublishedFileError:
        if questions is not None:
            raise
        entries = []
    keys = None if questions is None else {question_key(q) for q in questions}
    kept = [e for e in entries if keys is not None and e["key"] not in keys]
    _write(data_dir, kept)
    return len(entries) - len(kept)


def _read(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / PUBLISHED
    return _entries(path) if path.exists() else []


def _entries(path: Path) -> list[dict[str, Any]]:
    """The entries of a published file, checked for the fields matching relies on."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["entries"]
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and {"key", "question", "answer", "vector"} <= e.keys() for e in entries
        ):
            raise ValueError("entries are not a list of published answers")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishedFileError(
            f"{path} is not a readable published FAQ file ({type(exc).__name__}: {exc}); publish the reviewed "
            "file again, or remove every curated answer with `crmkb faq unpublish --all`"
        ) from exc
    return entries


def _write(data_dir: Path, entries: list[dict[str, Any]]) -> None:
    path = data_dir / PUBLISHED
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: json.dump({"entries": entries}, handle, ensure_ascii=False))
