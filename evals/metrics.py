"""Metrics over answered golden questions: retrieval, citation validity and precision, correctness,
grounding, refusal, length and latency — overall and broken down by language and by source document.

Grounding uses :func:`bot.grounding.support`, the same checker as the LLM-mode guard.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from bot.grounding import Embed, claims, supported
from bot.schemas import Answer
from evals.dataset import GoldenItem
from ingest.normalise import normalise


def comparable(text: str) -> str:
    """Text as phrases are compared: one script, one width, no white space."""
    return re.sub(r"\s+", "", normalise(text))


@dataclass
class QuestionResult:
    item: GoldenItem
    answer: Answer
    ranked_sources: list[str]
    invalid_citations: list[int] = field(default_factory=list)
    imprecise_citations: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    sentences: int = 0

    @property
    def refused(self) -> bool:
        return not self.answer.answerable

    @property
    def correct(self) -> bool:
        text = comparable(self.answer.answer)
        return self.answer.answerable and any(comparable(p) in text for p in self.item.expected_phrases)

    def rank(self) -> int | None:
        for i, source in enumerate(self.ranked_sources, 1):
            if source in self.item.expected_sources:
                return i
        return None


def evaluate(
    item: GoldenItem,
    answer: Answer,
    ranked_sources: list[str],
    documents: Mapping[str, str],
    embed: Embed | None,
) -> QuestionResult:
    result = QuestionResult(item, answer, list(dict.fromkeys(ranked_sources)))
    by_n = {c.n: c for c in answer.citations}
    for c in answer.citations:
        if documents.get(c.source, "")[c.start : c.end] != c.quote:
            result.invalid_citations.append(c.n)
        if item.answerable and c.source not in item.expected_sources:
            result.imprecise_citations.append(c.n)
    if answer.answerable:
        for claim in claims(answer.answer):
            if claim.text.endswith(":") and not claim.markers:
                continue  # an uncited framing lead-in ("Best-practice guidance …:"), not a claim
            result.sentences += 1
            quotes = [by_n[n].quote for n in claim.markers if n in by_n]
            if not any(supported(claim.text, q, embed) for q in quotes):
                result.unsupported.append(claim.text + "".join(f"[{n}]" for n in claim.markers))
    return result


def _share(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return sum(values) / len(values) if values else None


def aggregate(results: list[QuestionResult]) -> dict[str, float | None]:
    """Every metric for a group of results (None where the group has nothing to measure)."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    ranks = [r.rank() for r in answerable]
    citations = [c for r in results for c in r.answer.citations]
    invalid = sum(len(r.invalid_citations) for r in results)
    answered = [r for r in answerable if not r.refused]
    cited = [c for r in answerable for c in r.answer.citations]
    sentences = sum(r.sentences for r in results)
    latencies = [r.answer.latency_ms for r in results]
    return {
        "hit_at_1": _share(rank is not None and rank <= 1 for rank in ranks),
        "hit_at_3": _share(rank is not None and rank <= 3 for rank in ranks),
        "hit_at_5": _share(rank is not None and rank <= 5 for rank in ranks),
        "mrr": statistics.fmean([1 / rank if rank else 0.0 for rank in ranks]) if ranks else None,
        "citation_validity": (len(citations) - invalid) / len(citations) if citations else None,
        "citation_precision": (
            (len(cited) - sum(len(r.imprecise_citations) for r in answerable)) / len(cited) if cited else None
        ),
        "answer_correctness": _share(r.correct for r in answerable),
        "grounding": (sentences - sum(len(r.unsupported) for r in results)) / sentences
        if sentences
        else None,
        "refusal_rate": _share(r.refused for r in unanswerable),
        "false_refusal_rate": _share(r.refused for r in answerable),
        "median_answer_chars": statistics.median(len(r.answer.answer) for r in answered)
        if answered
        else None,
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else None,
        "questions": float(len(results)),
    }


def breakdown(results: list[QuestionResult]) -> dict[str, dict[str, dict[str, float | None]]]:
    by_lang: dict[str, list[QuestionResult]] = {}
    by_source: dict[str, list[QuestionResult]] = {}
    for r in results:
        by_lang.setdefault(r.item.lang, []).append(r)
        for source in r.item.expected_sources or ["(unanswerable)"]:
            by_source.setdefault(source, []).append(r)
    return {
        "language": {k: aggregate(v) for k, v in sorted(by_lang.items())},
        "source": {k: aggregate(v) for k, v in sorted(by_source.items())},
    }


def gate(metrics: Mapping[str, float | None], thresholds: Mapping[str, float]) -> list[str]:
    """The thresholds a run misses, each as one line."""
    failures = []
    for name, limit in thresholds.items():
        if name.endswith("_max"):
            value = metrics.get(name.removesuffix("_max"))
            if value is not None and value > limit:
                failures.append(f"{name.removesuffix('_max')} = {value:.3f} is above {limit}")
        else:
            value = metrics.get(name)
            if value is None or value < limit:
                shown = "n/a" if value is None else f"{value:.3f}"
                failures.append(f"{name} = {shown} is under {limit}")
    return failures
