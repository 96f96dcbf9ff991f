"""Run a bot (or the naive baseline) over the golden set and measure it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from bot.schemas import Answer, Citation, Mode
from bot.service import Bot
from evals.dataset import GoldenItem
from evals.metrics import Embed, QuestionResult, aggregate, breakdown, evaluate
from ingest.embeddings import IdentifiedEmbeddings


class Target(Protocol):
    name: str

    def run(self, question: str) -> tuple[Answer, list[str]]:
        """The answer, and the sources retrieval ranked for the question (best first)."""
        ...


class BotTarget:
    def __init__(self, bot: Bot, mode: Mode = "extractive") -> None:
        self.bot = bot
        self.mode = mode
        self.name = f"crmkb ({mode})"

    def run(self, question: str) -> tuple[Answer, list[str]]:
        answer = self.bot.ask(question, mode=self.mode)
        hits = self.bot.load().gather(question).hits
        return answer, [h.chunk.source for h in hits]


class NaiveBaseline:
    """Fixed 500-character windows of the raw files, dense top-3, the whole chunks as the answer."""

    name = "naive baseline"

    def __init__(self, raw: dict[str, str], embeddings: IdentifiedEmbeddings) -> None:
        self.windows = [(s, i, t[i : i + 500]) for s, t in sorted(raw.items()) for i in range(0, len(t), 500)]
        self.embeddings = embeddings
        self.matrix = embeddings.embed_passages([w[2] for w in self.windows])

    def run(self, question: str) -> tuple[Answer, list[str]]:
        began = time.perf_counter()
        scores = self.matrix @ np.asarray(self.embeddings.embed_query(question), dtype=np.float32)
        top = [self.windows[i] for i in np.argsort(-scores)[:3]]
        citations = [
            Citation(n=n, source=s, title=s, section="", kind="", quote=t, start=i, end=i + len(t), score=0.0)
            for n, (s, i, t) in enumerate(top, 1)
        ]
        answer = Answer(
            question=question, answer="\n".join(f"{t}[{n}]" for n, (_, _, t) in enumerate(top, 1)),
            answerable=True, language="zh-Hans", mode="extractive", citations=citations,
            latency_ms=(time.perf_counter() - began) * 1000,
        )  # fmt: skip
        return answer, [s for s, _, _ in top]


@dataclass
class EvalRun:
    target: str
    results: list[QuestionResult]

    @property
    def metrics(self) -> dict[str, float | None]:
        return aggregate(self.results)

    @property
    def breakdown(self) -> dict[str, dict[str, dict[str, float | None]]]:
        return breakdown(self.results)

    def failing(self) -> list[QuestionResult]:
        """Questions that went wrong: wrong refusal decision, wrong answer, or a bad citation."""
        return [
            r for r in self.results
            if r.refused == r.item.answerable
            or (r.item.answerable and not r.correct)
            or r.invalid_citations or r.unsupported
        ]  # fmt: skip


def run(
    target: Target,
    items: list[GoldenItem],
    documents: dict[str, str],
    embed: Embed | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    results = []
    for n, item in enumerate(items, 1):
        answer, ranked = target.run(item.question)
        results.append(evaluate(item, answer, ranked, documents, embed))
        if progress:
            progress(n, len(items))
    return EvalRun(target.name, results)
