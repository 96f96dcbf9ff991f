"""Metrics over answered golden questions: retrieval, citation validity and precision, correctness,
grounding, refusal, the answer's shape (crmkb.evals.shape), length and latency — overall and broken down by
language, kind and source document.

Grounding uses :func:`crmkb.bot.grounding.support`, the same checker as the LLM-mode guard.
"""

from __future__ import annotations

import statistics
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable

import numpy as np

from crmkb.bot.grounding import Embed, claims, framing, grounded
from crmkb.bot.schemas import Answer
from crmkb.evals import shape
from crmkb.evals.dataset import GoldenItem
from crmkb.evals.shape import comparable

__all__ = ["QuestionResult", "aggregate", "breakdown", "comparable", "evaluate", "gate"]


@dataclass
class QuestionResult:
    item: GoldenItem
    answer: Answer
    ranked_sources: list[str]
    invalid_citations: list[int] = field(default_factory=list)
    imprecise_citations: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    sentences: int = 0
    off_point: int = 0
    duplicates: int = 0
    dangling: int = 0
    list_share: float | None = None
    repeats: bool | None = None  # a follow-up's answer only saying the previous answer again
    robust: list[bool] = field(
        default_factory=list
    )  # per polite wrapper: the same answer as the bare question

    @property
    def refused(self) -> bool:
        return not self.answer.answerable

    @property
    def correct(self) -> bool:
        text = comparable(self.answer.answer)
        return self.answer.answerable and any(comparable(p) in text for p in self.item.expected_phrases)

    @property
    def problems(self) -> list[str]:
        """What went wrong, one phrase each: the decision, the answer, its citations, its shape."""
        r = self
        return [p for p, bad in (
            ("refused an answerable question", r.item.answerable and r.refused),
            ("answered an unanswerable question", not r.item.answerable and not r.refused),
            ("no expected phrase in the answer", r.item.answerable and not r.refused and not r.correct),
            (f"invalid citations {r.invalid_citations}", bool(r.invalid_citations)),
            (f"unsupported sentences {r.unsupported}", bool(r.unsupported)),
            (f"{r.off_point} off-point quotes", bool(r.off_point)),
            (f"list {r.list_share or 0:.0%} complete", r.list_share is not None and r.list_share < 1),
            (f"{r.duplicates} duplicate quotes", bool(r.duplicates)),
            (f"{r.dangling} dangling quotes", bool(r.dangling)),
            ("the follow-up repeats the previous answer", bool(r.repeats)),
            ("a polite wrapper changes the answer", not all(r.robust)),
        ) if bad]  # fmt: skip

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
    *,
    sections: Mapping[str, list[str]] | None = None,
    previous: Answer | None = None,
    wrapped: Sequence[Answer] = (),
) -> QuestionResult:
    """``sections``: each document's sections in order (for off-point); ``previous``: the answer to the
    question before a follow-up; ``wrapped``: answers to the question inside polite wrappers."""
    result = QuestionResult(item, answer, list(dict.fromkeys(ranked_sources)))
    result.duplicates = shape.duplicates(answer.citations)
    result.dangling = shape.dangling(answer.citations)
    result.robust = [shape.same_answer(answer, w) for w in wrapped]
    if previous is not None:
        result.repeats = shape.repeats(answer, previous)
    if item.answerable and answer.answerable:
        if item.expected_sections:
            result.off_point = shape.off_point(answer.citations, item.sections, sections or {})
        if item.list_items:
            result.list_share = shape.list_completeness(answer, item.list_items)
    for c in answer.citations:
        if documents.get(c.source, "")[c.start : c.end] != c.quote:
            result.invalid_citations.append(c.n)
        if item.answerable and c.source not in item.expected_sources:
            result.imprecise_citations.append(c.n)
    if answer.answerable:
        quotes = {c.n: c.quote for c in answer.citations}
        for claim in claims(answer.answer):
            if framing(claim):
                continue
            result.sentences += 1
            if not grounded(claim, quotes, embed):
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
    placed = [r for r in answered if r.item.expected_sections]
    placed_quotes = sum(len(r.answer.citations) for r in placed)
    quotes = sum(len(r.answer.citations) for r in results if r.answer.answerable)
    lists = [r.list_share for r in answered if r.list_share is not None]
    follow_ups = [r for r in results if r.repeats is not None]
    wrapped = [same for r in results for same in r.robust]
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
        "off_point_rate": sum(r.off_point for r in placed) / placed_quotes if placed_quotes else None,
        "list_completeness": statistics.fmean(lists) if lists else None,
        "duplicate_quotes": float(sum(r.duplicates for r in results)),
        "dangling_rate": sum(r.dangling for r in results) / quotes if quotes else None,
        "followup_distinct": _share(not r.repeats for r in follow_ups),
        "wrapper_robustness": _share(wrapped),
        "median_answer_chars": statistics.median(len(r.answer.answer) for r in answered)
        if answered
        else None,
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else None,
        "questions": float(len(results)),
    }


def breakdown(results: list[QuestionResult]) -> dict[str, dict[str, dict[str, float | None]]]:
    by_lang: dict[str, list[QuestionResult]] = {}
    by_kind: dict[str, list[QuestionResult]] = {}
    by_source: dict[str, list[QuestionResult]] = {}
    for r in results:
        by_lang.setdefault(r.item.lang, []).append(r)
        by_kind.setdefault(r.item.kind, []).append(r)
        for source in r.item.expected_sources or ["(unanswerable)"]:
            by_source.setdefault(source, []).append(r)
    return {
        "language": {k: aggregate(v) for k, v in sorted(by_lang.items())},
        "kind": {k: aggregate(v) for k, v in sorted(by_kind.items())},
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


THRESHOLDS = files("crmkb.evals") / "thresholds.toml"  # package data


def load_thresholds(path: Traversable = THRESHOLDS) -> dict[str, float]:
    """The gate's thresholds: metric name (``*_max`` for a ceiling) → limit. Raises OSError or TOMLDecodeError."""
    return tomllib.loads(path.read_text(encoding="utf-8"))
