"""Curated answers: FAQ entries trainers reviewed, approved and published (`crmkb faq publish`).

When a question closely matches a published one (see :func:`is_match`), the bot serves the curated answer,
marked ``curated``, fitted to the asker (:func:`fit`): in the asker's script, with only the citations its
text cites, renumbered 1…n in the order the text first cites them.
The published file is re-read when it changes, so every server process picks up a publish, an edit or an
unpublish; changes are made under a lock, so two publishers (the CLI, the trainer page in any worker) never
lose each other's entries.
Curated answers are optional: a published file that cannot be read is logged once and ignored (answers
come from the index as usual) until it is fixed or published anew.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from crmkb.bot import render
from crmkb.bot.evidence import GENERIC_TERMS, QUESTION_WORD
from crmkb.bot.language import detect_language
from crmkb.bot.prompts import CITATION
from crmkb.bot.schemas import Answer
from crmkb.core import errors as core_errors
from crmkb.core.errors import Unavailable
from crmkb.core.files import exclusive, write_atomically
from crmkb.ingest.embeddings import IdentifiedEmbeddings
from crmkb.ingest.normalise import normalise_question
from crmkb.ingest.sparse import tokenize

log = logging.getLogger(__name__)
PUBLISHED = Path("faq") / "published.json"
LOCK = Path("faq") / ".published.lock"
# What is embedded: the question in one script with Taiwan wording mapped, so "如何預防範圍擴散?" and
# "如何预防范围扩散?" are one vector. Vectors of files published before carry no form and are re-embedded.
EMBEDDED_FORM = "normalise_question"
# Measured by evals/curated_calibration.py (figures in README, FAQ section) on 40 paraphrase pairs against
# 83,000 pairs of different golden-set questions. e5 alone cannot separate them: different questions reach
# 0.974 ("红烧肉怎么做才好吃?" / "…才不腻?", one word apart), while paraphrases that swap a word for its
# synonym fall to 0.95. So a match is either very close, above every different pair measured, or close
# and asking about the same content words, only the wording around them changed ("如何预防范围扩散?" /
# "怎样预防项目范围扩散?", 0.975 but the same terms). Same terms alone are not enough: "为什么?" / "怎么办?"
# have none, and different questions with the same words score lower.
MATCH = 0.975
MATCH_SAME_TERMS = 0.95


class PublishedFileError(Unavailable):
    """The published curated answers cannot be read; the message names the file and the way out."""


class Conflict(core_errors.Conflict):
    """A curated answer changed (or was unpublished) since the caller read it; nothing was written."""


CHANGED = "this curated answer was changed since it was opened: open it again and redo the edit"


def question_key(question: str) -> str:
    """A question as compared for an exact match: one script, no punctuation, spacing or case."""
    return re.sub(r"[\W_]+", "", normalise_question(question)).lower()


def embedding_text(question: str) -> str:
    return normalise_question(question)


def content_terms(question: str) -> frozenset[str]:
    """What a question is about: its words less function words, question words and words every CRM
    question has (项目, 系统, 实施…)."""
    words = tokenize(normalise_question(question))
    return frozenset(w for w in words if w not in GENERIC_TERMS and not QUESTION_WORD.match(w))


def same_terms(a: str, b: str) -> bool:
    terms = content_terms(a)
    return bool(terms) and terms == content_terms(b)


def is_match(similarity: float, same: bool) -> bool:
    return similarity >= MATCH or (same and similarity >= MATCH_SAME_TERMS)


def fit(answer: Answer, question: str) -> Answer:
    """The curated ``answer`` as served to ``question``: the asker's script and language, only the cited
    citations, numbered 1…n by first citation, the markers rewritten to match (a marker naming no
    citation is dropped). Quotes stay verbatim."""
    by_n = {c.n: c for c in answer.citations}
    order = list(dict.fromkeys(int(n) for n in CITATION.findall(answer.answer) if int(n) in by_n))
    number = {old: new for new, old in enumerate(order, 1)}
    text = CITATION.sub(lambda m: f"[{number[int(m[1])]}]" if int(m[1]) in number else "", answer.answer)
    citations = [by_n[old].model_copy(update={"n": number[old]}) for old in order]
    language = detect_language(question)
    return answer.model_copy(
        update={
            "question": question,
            "answer": render.curated_text(text, language, citations),
            "language": language,
            "citations": citations,
            "curated": True,
        }
    )


class CuratedAnswers:
    def __init__(self, data_dir: Path, embeddings: IdentifiedEmbeddings) -> None:
        self.path = data_dir / PUBLISHED
        self.embeddings = embeddings
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[dict[str, Any]] = []
        self._vectors = np.zeros((0, 1), np.float32)

    def _fresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._entries = None, []
            return
        # Every write is a new file renamed into place, so its inode tells a change the clock's tick
        # (a few milliseconds) and an equal size would hide: a one-character fix of an answer.
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp  # a bad file is reported once, not on every question
        try:
            entries = _entries(self.path)
            stale = [
                e
                for e in entries
                if e.get("embedder") != self.embeddings.name or e.get("embedded") != EMBEDDED_FORM
            ]
            for entry in stale:  # published with another model or form: this process embeds them itself
                entry["vector"] = self.embeddings.embed_query(embedding_text(entry["question"]))
            for entry in entries:
                entry["terms"] = content_terms(entry["question"])
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
                asked = np.asarray(self.embeddings.embed_query(embedding_text(question)), dtype=np.float32)
                scores = self._vectors @ asked
                terms = content_terms(question)
                same = [bool(terms) and e["terms"] == terms for e in self._entries]
                matching = [i for i in range(len(self._entries)) if is_match(float(scores[i]), same[i])]
                best = max(matching, key=lambda i: float(scores[i]), default=None)
                found = self._entries[best] if best is not None else None
        if found is None:
            return None
        return fit(Answer.model_validate(found["answer"]), question)


def entry_id(entry: Mapping[str, Any]) -> str:
    """A short stable name for a published entry (its key can be long and holds any script)."""
    return hashlib.sha256(entry["key"].encode()).hexdigest()[:16]


def revision(entry: Mapping[str, Any]) -> str:
    """Names one version of a published entry's answer: an edit based on another is a :class:`Conflict`."""
    text = json.dumps(entry["answer"], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def published(data_dir: Path) -> list[dict[str, Any]]:
    """The published entries, as stored (``PublishedFileError`` if the file cannot be read)."""
    return _read(data_dir)


def publish(
    data_dir: Path,
    embeddings: IdentifiedEmbeddings,
    answers: list[Answer],
    *,
    revisions: Mapping[str, str] | None = None,
) -> int:
    """Add (or replace) curated answers; returns how many are published in all. ``revisions`` maps an
    entry's id to the :func:`revision` the caller based its answer on: if that entry has changed or gone
    since, nothing is written and :class:`Conflict` is raised."""
    vectors = [embeddings.embed_query(embedding_text(a.question)) for a in answers]
    with exclusive(data_dir / LOCK):
        entries = {e["key"]: e for e in _read(data_dir)}
        current = {entry_id(e): revision(e) for e in entries.values()}
        for name, based_on in (revisions or {}).items():
            if name not in current:
                raise Conflict("this curated answer is no longer published (unpublished meanwhile?)")
            if current[name] != based_on:
                raise Conflict(CHANGED)
        for answer, vector in zip(answers, vectors, strict=True):
            entries[question_key(answer.question)] = {
                "key": question_key(answer.question),
                "question": answer.question,
                "answer": answer.model_dump(exclude={"latency_ms"}),
                "embedder": embeddings.name,
                "embedded": EMBEDDED_FORM,
                "vector": [round(float(x), 6) for x in vector],
            }
        _write(data_dir, sorted(entries.values(), key=lambda e: e["key"]))
    return len(entries)


def unpublish(data_dir: Path, questions: list[str] | None) -> int:
    """Remove the given questions (all when ``None``); returns how many were removed. Removing all works
    on an unreadable file too: it is the way out of one."""
    with exclusive(data_dir / LOCK):
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
