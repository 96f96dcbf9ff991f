"""The default, offline answerer: pick the few sentences that answer the question and cite each one.

Sentences from the retrieved chunks are scored against the question by embedding (vectors computed at
ingest) and by the question's terms; the best few, within a character budget, become the answer, each
followed by its [n] marker. Before answering, the evidence is checked against what the question asks
(bot.evidence); when it does not hold, the result is a refusal that lists nearby topics instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bot import render
from bot.evidence import Ask, Vocabulary, analyse, coverage, has_date, has_quantity
from bot.knowledge import Knowledge
from bot.language import Language, detect_language
from bot.retrieval import Hit, retrieve
from bot.schemas import Answer, Citation
from crmkb.settings import AnswerSettings
from ingest.embeddings import IdentifiedEmbeddings
from ingest.normalise import normalise

# e5 cosine similarities of related Chinese text sit in a narrow band; this maps it onto [0, 1].
DENSE_FLOOR, DENSE_SPAN = 0.78, 0.14
DENSE_WEIGHT, TERM_WEIGHT, RANK_WEIGHT = 0.6, 0.4, 0.05
SENTENCE_CANDIDATES = 40  # sentences taken by their own similarity, besides those of the retrieved chunks


@dataclass(frozen=True)
class Scored:
    index: int
    score: float
    dense: float
    terms: float


@dataclass(frozen=True)
class Evidence:
    """What retrieval and sentence scoring found for a question, before the decision to answer."""

    language: Language
    ask: Ask
    hits: list[Hit]
    chosen: list[Scored]
    refusal_reason: str | None


class ExtractiveAnswerer:
    def __init__(
        self, knowledge: Knowledge, embeddings: IdentifiedEmbeddings, settings: AnswerSettings
    ) -> None:
        self.knowledge = knowledge
        self.embeddings = embeddings
        self.settings = settings
        self.vocabulary = Vocabulary([d.text for d in knowledge.documents.values()])

    def gather(self, question: str, history: list[str] | None = None) -> Evidence:
        language = detect_language(question)
        normalised = normalise(question)
        ask = analyse(normalised, language, self.knowledge.glossary)
        context = normalise(history[-1]) if history else ""
        if context and not ask.terms:  # "为什么?" after a question: ask about the previous topic
            previous = analyse(context, detect_language(context), self.knowledge.glossary)
            ask = Ask(previous.terms, previous.specific, ask.wants_quantity, wants_date=ask.wants_date)
        keywords = " ".join([context, normalised, *ask.terms])
        query_vector = self.embeddings.embed_query(f"{context} {normalised}".strip())
        hits = retrieve(self.knowledge, query_vector, keywords, self.settings.chunks, self.settings.fusion)
        if language == "other":
            return Evidence(language, ask, hits, [], "language")
        scored = self._score(hits, np.asarray(query_vector, dtype=np.float32), ask)
        chosen = self._choose(scored, ask)
        return Evidence(language, ask, hits, chosen, self._refusal(ask, chosen))

    def answer(self, question: str, history: list[str] | None = None) -> Answer:
        began = time.perf_counter()
        result = self.render(question, self.gather(question, history))
        result.latency_ms = round((time.perf_counter() - began) * 1000, 2)
        return result

    def render(self, question: str, evidence: Evidence) -> Answer:
        """The extractive answer (or refusal) for gathered evidence."""
        if evidence.refusal_reason is not None:
            return render.refusal(question, evidence.language, evidence.hits)
        citations = [self._citation(n, s) for n, s in enumerate(evidence.chosen, 1)]
        return render.answer(question, evidence.language, citations)

    def _score(self, hits: list[Hit], query: np.ndarray, ask: Ask) -> list[Scored]:
        """Score the sentences of the retrieved chunks plus the sentences nearest the question on their own
        (a sentence can answer even when its chunk, diluted by neighbours, ranked lower)."""
        all_dense = self.knowledge.sentences.vectors @ query
        rank_of: dict[int, int] = {int(i): len(hits) for i in np.argsort(-all_dense)[:SENTENCE_CANDIDATES]}
        for rank, hit in enumerate(hits):
            for i in self.knowledge.chunk_sentences.get(hit.chunk.id, []):
                rank_of[i] = min(rank_of.get(i, rank), rank)
        units = self.knowledge.sentences.units
        scored = []
        for i, rank in rank_of.items():
            dense = float(all_dense[i])
            terms = coverage(ask, units[i].text)
            scaled = min(max((dense - DENSE_FLOOR) / DENSE_SPAN, 0.0), 1.0)
            score = DENSE_WEIGHT * scaled + TERM_WEIGHT * terms + RANK_WEIGHT / (1 + rank)
            scored.append(Scored(i, score, dense, terms))
        return sorted(scored, key=lambda s: s.score, reverse=True)

    def _choose(self, scored: list[Scored], ask: Ask) -> list[Scored]:
        units = self.knowledge.sentences.units
        chosen: list[Scored] = []
        budget = self.settings.max_chars
        if ask.wants_quantity:  # lead with the best sentence that actually holds a figure
            figures = [s for s in scored if has_quantity(units[s.index].text) and s.terms > 0]
            scored = figures[:1] + [s for s in scored if s not in figures[:1]]
        for item in scored:
            text = units[item.index].text
            if len(chosen) >= self.settings.max_sentences or (chosen and item.score < 0.75 * chosen[0].score):
                break
            if len(text) > budget and chosen:
                continue
            if any(units[c.index].text == text for c in chosen):
                continue
            chosen.append(item)
            budget -= len(text)
        return chosen

    def _refusal(self, ask: Ask, chosen: list[Scored]) -> str | None:
        """Why the evidence does not answer the question, or None when it does."""
        if not ask.terms and not ask.unknown_english:
            return "nothing specific asked"
        if self.vocabulary.unknown(ask):
            return "asks about something the knowledge base never mentions"
        if ask.unknown_english and not ask.terms:
            return "no known CRM term in the question"
        if not chosen:
            return "no evidence"
        units = self.knowledge.sentences.units
        text = " ".join(units[c.index].text for c in chosen)
        if ask.wants_quantity and not has_quantity(text):
            return "asks for a figure the evidence does not give"
        if ask.wants_date and not has_date(text):
            return "asks for a date the evidence does not give"
        best_dense = max(c.dense for c in chosen)
        if best_dense < self.settings.min_dense:
            return "evidence too far from the question"
        if coverage(ask, text) < self.settings.min_coverage and best_dense < self.settings.strong_dense:
            return "evidence does not cover what is asked"
        return None

    def _citation(self, n: int, item: Scored) -> Citation:
        unit = self.knowledge.sentences.units[item.index]
        chunk = self.knowledge.chunks[unit.chunk_id]
        return Citation(
            n=n, source=unit.source, title=chunk.title, section=chunk.section, kind=chunk.kind,
            quote=unit.text, start=unit.start, end=unit.end, score=round(item.score, 4),
        )  # fmt: skip
