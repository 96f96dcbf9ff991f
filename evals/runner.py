"""Run a bot (or the naive baseline) over the golden set and measure it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from crmkb.bot.schemas import Answer, Citation, Mode
from crmkb.bot.service import Bot
from crmkb.evals.dataset import GoldenItem
from crmkb.evals.metrics import Embed, QuestionResult, aggregate, breakdown, evaluate, gate
from crmkb.evals.shape import WRAPPERS
from crmkb.ingest.embeddings import IdentifiedEmbeddings


class Target(Protocol):
    name: str

    def run(self, question: str, history: list[str] | None = None) -> tuple[Answer, list[str]]:
        """The answer, and the sources retrieval ranked for the question (best first)."""
        ...


class BotTarget:
    def __init__(self, bot: Bot, mode: Mode = "extractive") -> None:
        self.bot = bot
        self.mode = mode
        self.name = f"crmkb ({mode})"

    def run(self, question: str, history: list[str] | None = None) -> tuple[Answer, list[str]]:
        answer = self.bot.ask(question, history=history, mode=self.mode)
        hits = self.bot.load().gather(question, history).hits
        return answer, [h.chunk.source for h in hits]


class NaiveBaseline:
    """Fixed 500-character windows of the raw files, dense top-3, the whole chunks as the answer."""

    name = "naive baseline"

    def __init__(self, raw: dict[str, str], embeddings: IdentifiedEmbeddings) -> None:
        self.windows = [(s, i, t[i : i + 500]) for s, t in sorted(raw.items()) for i in range(0, len(t), 500)]
        self.embeddings = embeddings
        self.matrix = embeddings.embed_passages([w[2] for w in self.windows])

    def run(self, question: str, history: list[str] | None = None) -> tuple[Answer, list[str]]:
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

    def split(self, name: str) -> EvalRun:
        return EvalRun(self.target, [r for r in self.results if r.item.split == name])

    @property
    def metrics(self) -> dict[str, float | None]:
        return aggregate(self.results)

    @property
    def breakdown(self) -> dict[str, dict[str, dict[str, float | None]]]:
        return breakdown(self.results)

    def gate(self, thresholds: Mapping[str, float]) -> list[str]:
        """The thresholds the test split misses: dev questions are tuned on, so they never gate."""
        test = self.split("test")
        if not test.results:
            return ["the dataset has no test-split questions to gate on"]
        return gate(test.metrics, thresholds)

    def failing(self) -> list[QuestionResult]:
        """Questions that went wrong: the refusal decision, the answer, a citation or the answer's shape."""
        return [r for r in self.results if r.problems]


def run(
    target: Target,
    items: list[GoldenItem],
    documents: dict[str, str],
    embed: Embed | None = None,
    progress: Callable[[int, int], None] | None = None,
    sections: Mapping[str, list[str]] | None = None,
) -> EvalRun:
    """Each question is asked as written (after its history, for a follow-up), inside each polite wrapper
    of its language, and, for a follow-up, the question before it is asked too: its answer is what the
    follow-up must not repeat."""
    results = []
    for n, item in enumerate(items, 1):
        history = item.history or None
        answer, ranked = target.run(item.question, history)
        previous = target.run(item.history[-1], item.history[:-1] or None)[0] if item.history else None
        wrapped = [
            target.run(wrapper.format(q=item.question), history)[0] for wrapper in WRAPPERS.get(item.lang, ())
        ]
        results.append(
            evaluate(
                item, answer, ranked, documents, embed, sections=sections, previous=previous, wrapped=wrapped
            )
        )
        if progress:
            progress(n, len(items))
    return EvalRun(target.name, results)
