"""Candidate FAQ questions drawn from the knowledge base itself, each filed under its article and section.

Three kinds, worded by :mod:`crmkb.faq.phrasing`: an article's title when it is a question; section
headings that are complete phrases, turned into the question their section answers (a yes/no check
"为什么要确认…?", a verb phrase "如何…?", an activity "…要注意什么?", a noun phrase "…有哪些要点?" or,
over a list, "…有哪些?", any heading whose section says what to do "…怎么办?"); and the
questions an article asks and answers on the next line. Labels, fragments, slogans, survey items and
statements with a question mark are never candidates.

Each candidate is asked of the bot and kept only when every citation of its answer comes from the
section it was drawn from (the whole article for a title), so no entry is filed under a section that
does not answer it; near-duplicates (close by e5 and answered from the same passages, as in the FAQ
build) are dropped too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from crmkb.bot.knowledge import Knowledge
from crmkb.bot.schemas import Answer, Citation
from crmkb.faq.build import NEAR_DUPLICATE
from crmkb.faq.phrasing import answered_question, heading_question, reads_as_question
from crmkb.ingest.catalog import place_label
from crmkb.ingest.chunking import SECTION_SEPARATOR, Chunk, same_title


@dataclass(frozen=True)
class Suggestion:
    source: str
    title: str
    section: str  # the heading chain (" > "); empty for a question about the whole article
    question: str

    @property
    def where(self) -> str:
        """``title › section`` as a reader sees it."""
        return place_label(
            self.title, self.section.split(SECTION_SEPARATOR)[-1] if self.section else "(全文)"
        )


class _Embeddings(Protocol):
    def embed_query(self, text: str) -> list[float] | np.ndarray: ...


class Answerer(Protocol):
    """What suggesting needs of :class:`crmkb.bot.service.Bot` (tests pass a fake)."""

    @property
    def embeddings(self) -> _Embeddings: ...

    def load(self) -> object: ...

    def ask(self, question: str) -> Answer: ...


def in_section(citation: Citation, source: str, section: str) -> bool:
    if citation.source != source:
        return False
    return (
        not section or citation.section == section or citation.section.startswith(section + SECTION_SEPARATOR)
    )


def _sections(chunks: list[Chunk]) -> Iterator[tuple[str, str]]:
    """(heading chain, body text) for every heading, outer ones first, in document order."""
    seen: list[str] = []
    for chunk in chunks:
        parts = chunk.section.split(SECTION_SEPARATOR) if chunk.section else []
        for depth in range(1, len(parts) + 1):
            chain = SECTION_SEPARATOR.join(parts[:depth])
            if chain not in seen:
                seen.append(chain)
    for chain in seen:
        body = "\n".join(
            c.text for c in chunks if c.section == chain or c.section.startswith(chain + SECTION_SEPARATOR)
        )
        yield chain, body


def _section_at(chunks: list[Chunk], offset: int) -> str:
    return next((c.section for c in chunks if c.start <= offset < c.end), "")


def candidates(knowledge: Knowledge) -> Iterator[Suggestion]:
    """Per article in source order: its title, its headings, then its own answered questions."""
    for source, document in sorted(knowledge.documents.items()):
        chunks = sorted((c for c in knowledge.chunks.values() if c.source == source), key=lambda c: c.start)
        title = document.title.strip()
        asked = title if title.endswith(("?", "?")) else f"{title}?"
        if reads_as_question(asked):
            yield Suggestion(source, title, "", asked)
        for chain, body in _sections(chunks):
            question = heading_question(chain.split(SECTION_SEPARATOR)[-1], body)
            if question:
                yield Suggestion(source, title, chain, question)
        lines = [(m, line.strip()) for m, line in _offsets(document.text) if line.strip()]
        for i, (offset, line) in enumerate(lines):
            if same_title(line, title):
                continue
            previous = lines[i - 1][1] if i else ""
            following = lines[i + 1][1] if i + 1 < len(lines) else ""
            question = answered_question(previous, line, following)
            if question:
                yield Suggestion(source, title, _section_at(chunks, offset), question)


def _offsets(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def filed_correctly(suggestion: Suggestion, answer: Answer) -> bool:
    """Answered, and only from the section the suggestion is filed under."""
    return (
        answer.answerable
        and bool(answer.citations)
        and all(in_section(c, suggestion.source, suggestion.section) for c in answer.citations)
    )


def select(bot: Answerer, found: Iterable[Suggestion], per_source: int | None = None) -> list[Suggestion]:
    kept: list[Suggestion] = []
    vectors: list[np.ndarray] = []
    passages: list[frozenset[tuple[str, int]]] = []
    counts: dict[str, int] = {}
    for suggestion in found:
        if per_source is not None and counts.get(suggestion.source, 0) >= per_source:
            continue
        if any(k.question == suggestion.question for k in kept):
            continue
        answer = bot.ask(suggestion.question)
        if not filed_correctly(suggestion, answer):
            continue
        vector = np.asarray(bot.embeddings.embed_query(suggestion.question), dtype=np.float32)
        cited = frozenset((c.source, c.start) for c in answer.citations)
        if any(
            p == cited and float(v @ vector) >= NEAR_DUPLICATE for v, p in zip(vectors, passages, strict=True)
        ):
            continue
        kept.append(suggestion)
        vectors.append(vector)
        passages.append(cited)
        counts[suggestion.source] = counts.get(suggestion.source, 0) + 1
    return kept


def suggestions(bot: Answerer, per_source: int | None = None) -> list[Suggestion]:
    knowledge = bot.load().knowledge  # type: ignore[attr-defined]
    return select(bot, candidates(knowledge), per_source)


def suggest(bot: Answerer, per_source: int | None = None) -> list[str]:
    """The suggested questions alone, as ``crmkb faq suggest`` prints them."""
    return [s.question for s in suggestions(bot, per_source)]
