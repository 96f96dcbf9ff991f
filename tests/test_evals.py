"""The eval metrics catch each kind of broken bot (negative controls), and pass a correct one."""

from __future__ import annotations

import random
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.schemas import Answer, Citation
from evals.dataset import DatasetError, GoldenItem, load_dataset
from evals.metrics import comparable, gate
from evals.runner import EvalRun, run
from ingest.clean import clean
from tests.conftest import ARTICLES

DOCS = {p.name: clean(p.read_text(encoding="utf-8")).text for p in ARTICLES}
THRESHOLDS = tomllib.loads((Path(__file__).parent.parent / "evals" / "thresholds.toml").read_text())
ITEMS = [
    GoldenItem(id="a1", question="项目预算中软件成本占多少?", lang="zh-Hans",
               expected_sources=["002_9683dd2b55d1bf3e.txt"], expected_phrases=["软件成本占三分之一"], answerable=True),
    GoldenItem(id="a2", question="業務範圍不斷擴大有什麼風險?", lang="zh-Hant",
               expected_sources=["003_80d4f176f4050b3e.txt"], expected_phrases=["业务范围反复定义"], answerable=True),
    GoldenItem(id="a3", question="项目失败后先做什么?", lang="zh-Hans",
               expected_sources=["000_ea5525b80525cb07.txt"], expected_phrases=["首先找出上次到底是哪里出了错"],
               answerable=True),
    GoldenItem(id="a4", question="What is business process reengineering for?", lang="en",
               expected_sources=["004_1bc54c01a6e7907a.txt"], expected_phrases=["业务流程再造是开始实施的地方"],
               answerable=True),
    GoldenItem(id="u1", question="实施顾问的日薪是多少?", lang="zh-Hans", expected_sources=[], expected_phrases=[],
               answerable=False),
    GoldenItem(id="u2", question="How do I bake bread?", lang="en", expected_sources=[], expected_phrases=[],
               answerable=False),
]  # fmt: skip


def sentence_around(source: str, phrase: str) -> tuple[int, int]:
    text = DOCS[source]
    at = text.index(phrase)
    start = max(text.rfind("。", 0, at), text.rfind("\n", 0, at)) + 1
    ends = [i for i in (text.find("。", at), text.find("\n", at)) if i != -1]
    return start, min(ends) + 1 if ends else len(text)


def answer_with(question: str, spans: list[tuple[str, int, int]], extra: str = "") -> Answer:
    citations = [
        Citation(n=n, source=s, title="t", section="", kind="best-practice", quote=DOCS[s][a:b], start=a, end=b, score=1)
        for n, (s, a, b) in enumerate(spans, 1)
    ]  # fmt: skip
    text = "最佳实践建议:" + "".join(f"{c.quote}[{c.n}]" for c in citations) + extra
    return Answer(question=question, answer=text, answerable=True, language="zh-Hans", mode="extractive",
                  citations=citations, latency_ms=1.0)  # fmt: skip


def refusal(question: str) -> Answer:
    return Answer(question=question, answer="知识库中没有能回答这个问题的内容。", answerable=False, language="zh-Hans",
                  mode="extractive", latency_ms=1.0)  # fmt: skip


class FakeBot:
    """Answers from the gold data itself, then is broken in one way by ``fault``."""

    def __init__(self, fault: str | None = None) -> None:
        self.fault = fault
        self.name = f"fake ({fault or 'correct'})"
        self.rng = random.Random(0)

    def run(self, question: str) -> tuple[Answer, list[str]]:
        item = next(i for i in ITEMS if i.question == question)
        others = [s for s in DOCS if s not in item.expected_sources]
        if not item.answerable:
            if self.fault == "never refuses":
                source = others[0]
                return answer_with(question, [(source, 0, DOCS[source].index("\n"))]), others
            return refusal(question), others
        if self.fault == "always refuses":
            return refusal(question), item.expected_sources + others
        source = item.expected_sources[0]
        start, end = sentence_around(source, item.expected_phrases[0])
        if self.fault == "random passages":
            source = self.rng.choice(others)
            start = self.rng.randrange(0, len(DOCS[source]) - 40)
            end = start + 30
            return answer_with(question, [(source, start, end)]), others
        if self.fault == "wrong offsets":
            answer = answer_with(question, [(source, start, end)])
            answer.citations[0].start += 1
            return answer, item.expected_sources + others
        extra = "只要购买最贵的软件,项目就一定会成功。[1]" if self.fault == "unsupported sentence" else ""
        return answer_with(question, [(source, start, end)], extra), item.expected_sources + others


def evaluate(fault: str | None) -> EvalRun:
    return run(FakeBot(fault), ITEMS, DOCS)


def test_a_correct_bot_passes_every_threshold() -> None:
    result = evaluate(None)
    metrics = result.metrics
    assert gate(metrics, THRESHOLDS) == []
    assert metrics["citation_validity"] == metrics["grounding"] == metrics["answer_correctness"] == 1.0
    assert result.failing() == []


CONTROLS: dict[str, Callable[[dict[str, float | None]], bool]] = {
    "random passages": lambda m: m["hit_at_1"] == 0.0 and m["citation_precision"] == 0.0 and m["answer_correctness"] == 0.0,
    "wrong offsets": lambda m: m["citation_validity"] == 0.0,
    "never refuses": lambda m: m["refusal_rate"] == 0.0,
    "always refuses": lambda m: m["false_refusal_rate"] == 1.0,
    "unsupported sentence": lambda m: m["grounding"] is not None and m["grounding"] <= 0.5,
}  # fmt: skip


@pytest.mark.parametrize("fault", list(CONTROLS))
def test_each_broken_bot_is_caught(fault: str) -> None:
    result = evaluate(fault)
    assert CONTROLS[fault](result.metrics), result.metrics
    assert gate(result.metrics, THRESHOLDS), "the quality gate must fail"
    assert result.failing()


def test_breakdown_by_language_and_source() -> None:
    groups = evaluate("always refuses").breakdown
    assert groups["language"]["zh-Hant"]["false_refusal_rate"] == 1.0
    assert groups["source"]["003_80d4f176f4050b3e.txt"]["questions"] == 1
    assert groups["source"]["(unanswerable)"]["refusal_rate"] == 1.0


def test_dataset_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q", "lang": "zh-Hans", "expected_sources": [], '
                   '"expected_phrases": [], "answerable": true}\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(DatasetError, match=r"bad.jsonl:1"):
        load_dataset(bad)


def test_golden_set_is_the_set_the_issue_asks_for() -> None:
    items = load_dataset()
    by_lang = Counter(i.lang for i in items if i.answerable)
    unanswerable = [i for i in items if not i.answerable]
    assert len(items) >= 80
    assert by_lang["zh-Hans"] >= 50 and by_lang["zh-Hant"] >= 10 and by_lang["en"] >= 10
    assert len(unanswerable) >= 12
    assert {s for i in items for s in i.expected_sources} == set(DOCS), "every article is asked about"
    assert sum(len(i.expected_sources) > 1 for i in items) >= 4, "answers spanning two articles"
    assert len({i.id for i in items}) == len(items)
    assert len({comparable(i.question) for i in items}) == len(items)


def test_golden_phrases_are_verbatim_in_an_expected_source() -> None:
    cleaned = {name: comparable(text) for name, text in DOCS.items()}
    for item in load_dataset():
        for phrase in item.expected_phrases:
            assert any(comparable(phrase) in cleaned[s] for s in item.expected_sources), (item.id, phrase)
