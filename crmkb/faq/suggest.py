"""Candidate FAQ questions drawn from the knowledge base itself.

Three kinds: section headings turned into questions (a yes/no heading gets its question mark, one that
opens with a verb and does not end in a noun becomes "如何…?", any other "「…」有哪些要点?"), the
questions the articles ask themselves, and checklist items (numbered lines "1. …是否…?", numbering
dropped). Each candidate is asked of the bot: those it cannot answer are dropped, so every suggestion has
a cited answer; near-duplicates (close by e5 and answered from the same passages, as in the FAQ build) are
dropped too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from bot.evidence import posseg
from bot.service import Bot
from ingest.chunking import SECTION_SEPARATOR

NEAR_DUPLICATE = 0.975  # as in crmkb.faq.build
_NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|\d+[.、]\s*|[((]\d+[))]\s*)")
_QUESTION_MARK = re.compile("[?\uff1f]")
_YES_NO = re.compile(r"是否|有没有|能否|可否")
_PROBLEM = re.compile(r"^(没有|缺乏|无法|不|如何)")
_TRIM = " :\uff1a\u3002"


def _as_question(heading: str) -> str | None:
    text = _NUMBERING.sub("", heading).strip(_TRIM)
    if not 3 <= len(text) <= 30 or not re.search(r"[\u3400-\u9fff]", text):
        return None
    if _QUESTION_MARK.search(text[-1]):
        return text
    if _YES_NO.search(text):
        return f"{text}?"
    words = list(posseg().cut(text))  # type: ignore[attr-defined]
    if (
        words
        and words[0].flag.startswith("v")
        and not words[-1].flag.startswith("n")
        and not _PROBLEM.match(text)
    ):
        return f"如何{text}?"
    return f"「{text}」有哪些要点?"


def candidates(bot: Bot) -> Iterator[tuple[str, str]]:
    """(source, question) in document order: headings, then the articles' own questions and checklist items."""
    knowledge = bot.load().knowledge
    for source, document in sorted(knowledge.documents.items()):
        headings: list[str] = []
        for chunk in sorted(
            (c for c in knowledge.chunks.values() if c.source == source), key=lambda c: c.start
        ):
            for part in chunk.section.split(SECTION_SEPARATOR) if chunk.section else []:
                if part not in headings:
                    headings.append(part)
        for heading in headings:
            question = _as_question(heading)
            if question:
                yield source, question
        for line in document.text.splitlines():
            line = _NUMBERING.sub("", line).strip()
            if (
                8 <= len(line) <= 40
                and len(_QUESTION_MARK.findall(line)) == 1
                and _QUESTION_MARK.search(line[-1])
            ):
                yield source, line


def suggest(bot: Bot, per_source: int | None = None) -> list[str]:
    kept: list[str] = []
    vectors: list[np.ndarray] = []
    passages: list[frozenset[tuple[str, int]]] = []
    counts: dict[str, int] = {}
    for source, question in candidates(bot):
        if per_source is not None and counts.get(source, 0) >= per_source:
            continue
        answer = bot.ask(question)
        if not answer.answerable:
            continue
        vector = np.asarray(bot.embeddings.embed_query(question), dtype=np.float32)
        cited = frozenset((c.source, c.start) for c in answer.citations)
        if any(
            p == cited and float(v @ vector) >= NEAR_DUPLICATE for v, p in zip(vectors, passages, strict=True)
        ):
            continue
        kept.append(question)
        vectors.append(vector)
        passages.append(cited)
        counts[source] = counts.get(source, 0) + 1
    return kept
