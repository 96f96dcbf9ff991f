"""The eval metrics catch each kind of broken bot (negative controls), and pass a correct one."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from crmkb.bot.schemas import Answer, Citation
from crmkb.evals.dataset import DatasetError, GoldenItem, load_dataset
from crmkb.evals.metrics import comparable, gate, load_thresholds
from crmkb.evals.runner import EvalRun, run
from crmkb.ingest.catalog import load_catalog
from crmkb.ingest.chunking import chunk_document
from crmkb.ingest.clean import clean
from tests.conftest import ARTICLES, KB

DOCS = {p.name: clean(p.read_text(encoding="utf-8")).text for p in ARTICLES}
THRESHOLDS = load_thresholds()
SECTIONS = {source: ["", "S", "T", "U"] for source in DOCS}  # each fake document's sections, in order
ITEMS = [
    GoldenItem(id="a1", question="项目预算中软件成本占多少?", lang="zh-Hans", kind="figure", split="test",
               expected_sources=["002_9683dd2b55d1bf3e.txt"], expected_phrases=["软件成本占三分之一"], answerable=True,
               expected_sections=["002_9683dd2b55d1bf3e.txt#S"]),
    GoldenItem(id="a2", question="業務範圍不斷擴大有什麼風險?", lang="zh-Hant", split="test",
               expected_sources=["003_80d4f176f4050b3e.txt"], expected_phrases=["业务范围反复定义"], answerable=True,
               expected_sections=["003_80d4f176f4050b3e.txt#S"]),
    GoldenItem(id="a3", question="项目失败后先做什么?", lang="zh-Hans", kind="how",
               expected_sources=["000_ea5525b80525cb07.txt"], expected_phrases=["首先找出上次到底是哪里出了错"],
               answerable=True, expected_sections=["000_ea5525b80525cb07.txt#S"]),
    GoldenItem(id="a4", question="What is business process reengineering for?", lang="en", split="test",
               expected_sources=["004_1bc54c01a6e7907a.txt"], expected_phrases=["业务流程再造是开始实施的地方"],
               answerable=True, expected_sections=["004_1bc54c01a6e7907a.txt#S"]),
    GoldenItem(id="l1", question="项目团队应该包括哪些人?", lang="zh-Hans", kind="list", split="test",
               expected_sources=["002_9683dd2b55d1bf3e.txt"], expected_phrases=["项目团队的最佳配置"], answerable=True,
               expected_sections=["002_9683dd2b55d1bf3e.txt#S"], list_items=["项目团队的最佳配置", "软件成本占三分之一"]),
    GoldenItem(id="f1", question="为什么?", lang="zh-Hans", kind="followup", split="test", history=["项目失败后先做什么?"],
               expected_sources=["000_ea5525b80525cb07.txt"], expected_phrases=["指责对任何人都没有好处"],
               answerable=True, expected_sections=["000_ea5525b80525cb07.txt#S"]),
    GoldenItem(id="u1", question="实施顾问的日薪是多少?", lang="zh-Hans", kind="nearmiss", split="test",
               expected_sources=[], expected_phrases=[], answerable=False),
    GoldenItem(id="u2", question="How do I bake bread?", lang="en", kind="nearmiss", expected_sources=[],
               expected_phrases=[], answerable=False),
]  # fmt: skip


def sentence_around(source: str, phrase: str) -> tuple[int, int]:
    text = DOCS[source]
    at = text.index(phrase)
    start = max(text.rfind("。", 0, at), text.rfind("\n", 0, at)) + 1
    ends = [i for i in (text.find("。", at), text.find("\n", at)) if i != -1]
    return start, min(ends) + 1 if ends else len(text)


def answer_with(question: str, spans: list[tuple[str, int, int]], extra: str = "") -> Answer:
    citations = [
        Citation(n=n, source=s, title="t", section="S", kind="best-practice",
                 quote=DOCS[s][a:b], start=a, end=b, score=1)
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

    def run(self, question: str, history: list[str] | None = None) -> tuple[Answer, list[str]]:
        # The longest question inside what was asked: a polite wrapper leaves the item findable.
        item = max((i for i in ITEMS if i.question in question and bool(i.history) == bool(history)),
                   key=lambda i: len(i.question))  # fmt: skip
        wrapped = question != item.question
        others = [s for s in DOCS if s not in item.expected_sources]
        if not item.answerable:
            if self.fault == "never refuses":
                source = others[0]
                return answer_with(question, [(source, 0, DOCS[source].index("\n"))]), others
            return refusal(question), others
        if self.fault == "always refuses" or (self.fault == "wrapper changes the answer" and wrapped):
            return refusal(question), item.expected_sources + others
        source = item.expected_sources[0]
        phrases = item.expected_phrases[:1] + item.list_items[: 1 if self.fault == "half a list" else None]
        spans = list(dict.fromkeys((source, *sentence_around(source, p)) for p in phrases))
        if self.fault == "follow-up repeats" and history:
            return self.run(history[-1])
        if self.fault == "random passages":
            source = self.rng.choice(others)
            start = self.rng.randrange(0, len(DOCS[source]) - 40)
            return answer_with(question, [(source, start, start + 30)]), others
        if self.fault == "wrong offsets":
            answer = answer_with(question, spans)
            answer.citations[0].start += 1
            return answer, item.expected_sources + others
        if self.fault == "off-point quote":  # a quote from a section two away from the expected one
            spans.append((source, 0, DOCS[source].index("\n")))
            answer = answer_with(question, spans)
            answer.citations[-1].section = "U"
            return answer, item.expected_sources + others
        if self.fault == "duplicate quote":
            spans.append((spans[0][0], spans[0][1] + 2, spans[0][2]))
        if self.fault == "dangling quote":
            text = DOCS[source]
            at = text.index("这")
            spans.append((source, at, text.find("。", at) + 1))
        extra = "只要购买最贵的软件,项目就一定会成功。[1]" if self.fault == "unsupported sentence" else ""
        return answer_with(question, spans, extra), item.expected_sources + others


def evaluate(fault: str | None) -> EvalRun:
    return run(FakeBot(fault), ITEMS, DOCS, sections=SECTIONS)


def test_a_correct_bot_passes_every_threshold() -> None:
    result = evaluate(None)
    metrics = result.metrics
    assert gate(metrics, THRESHOLDS) == [] and result.gate(THRESHOLDS) == []
    assert metrics["citation_validity"] == metrics["grounding"] == metrics["answer_correctness"] == 1.0
    assert (
        metrics["list_completeness"] == metrics["followup_distinct"] == metrics["wrapper_robustness"] == 1.0
    )
    assert metrics["off_point_rate"] == metrics["dangling_rate"] == metrics["duplicate_quotes"] == 0.0
    assert result.failing() == []


CONTROLS: dict[str, Callable[[dict[str, float | None]], bool]] = {
    "random passages": lambda m: m["hit_at_1"] == 0.0 and m["citation_precision"] == 0.0 and m["answer_correctness"] == 0.0,
    "wrong offsets": lambda m: m["citation_validity"] is not None and m["citation_validity"] < 0.2,
    "never refuses": lambda m: m["refusal_rate"] == 0.0,
    "always refuses": lambda m: m["false_refusal_rate"] == 1.0,
    "unsupported sentence": lambda m: m["grounding"] is not None and m["grounding"] < 0.6,
    "off-point quote": lambda m: m["off_point_rate"] is not None and m["off_point_rate"] > 0.4,
    "half a list": lambda m: m["list_completeness"] == 0.5,
    "duplicate quote": lambda m: m["duplicate_quotes"] == 6,
    "dangling quote": lambda m: m["dangling_rate"] is not None and m["dangling_rate"] > 0.4,
    "follow-up repeats": lambda m: m["followup_distinct"] == 0.0,
    "wrapper changes the answer": lambda m: m["wrapper_robustness"] == 0.25,  # the 6 answerable of 8
}  # fmt: skip


@pytest.mark.parametrize("fault", list(CONTROLS))
def test_each_broken_bot_is_caught(fault: str) -> None:
    result = evaluate(fault)
    assert CONTROLS[fault](result.metrics), result.metrics
    assert result.failing()


GATED = {"random passages", "wrong offsets", "never refuses", "always refuses", "unsupported sentence"}


@pytest.mark.parametrize("fault", sorted(GATED))
def test_the_gate_fails_a_broken_bot(fault: str) -> None:
    assert evaluate(fault).gate(THRESHOLDS)


def test_the_gate_reads_the_test_split_only() -> None:
    """Dev questions are tuned on: breaking every dev answer leaves the gate to the test split."""
    broken_dev = run(DevBroken(), ITEMS, DOCS, sections=SECTIONS)
    assert broken_dev.split("dev").metrics["false_refusal_rate"] == 1.0
    assert broken_dev.gate(THRESHOLDS) == []
    assert run(FakeBot("always refuses"), ITEMS, DOCS).gate(THRESHOLDS)
    only_dev = [i.model_copy(update={"split": "dev"}) for i in ITEMS]
    assert run(FakeBot(), only_dev, DOCS).gate(THRESHOLDS) == [
        "the dataset has no test-split questions to gate on"
    ]


class DevBroken(FakeBot):
    def run(self, question: str, history: list[str] | None = None) -> tuple[Answer, list[str]]:
        if any(i.split == "dev" and i.question in question for i in ITEMS):
            return refusal(question), []
        return super().run(question, history)


def test_breakdown_by_language_kind_and_source() -> None:
    groups = evaluate("always refuses").breakdown
    assert groups["kind"]["list"]["false_refusal_rate"] == 1.0
    assert groups["kind"]["nearmiss"]["refusal_rate"] == 1.0
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
    answerable = [i for i in items if i.answerable]
    by_lang = Counter(i.lang for i in answerable)
    assert len(items) >= 250
    assert by_lang["zh-Hans"] >= 50 and by_lang["zh-Hant"] >= 30 and by_lang["en"] >= 30
    assert sum(not i.answerable for i in items) >= 40, "near misses"
    for split in ("dev", "test"):
        mine = [i for i in items if i.split == split]
        assert len(mine) >= 80, split
        assert sum(not i.answerable for i in mine) >= 20, f"near misses in {split}"
        assert {i.kind for i in mine} >= {"what", "how", "why", "yesno", "list", "followup", "multidoc"}, (
            split
        )
    assert {s for i in items for s in i.expected_sources} == set(DOCS), "every article is asked about"
    assert sum(len(i.expected_sources) > 1 for i in items) >= 10, "answers spanning two articles"
    assert all(i.expected_sections for i in answerable), "each answerable question names its sections"
    assert sum(bool(i.list_items) for i in items) >= 20, "list questions with their items"
    assert len({i.id for i in items}) == len(items)
    # The same question may be asked in both scripts, or after different questions, but not twice alike.
    assert len({(i.lang, tuple(i.history), comparable(i.question)) for i in items}) == len(items)


def test_golden_sections_are_the_articles_own() -> None:
    catalog = load_catalog(KB)
    sections = {
        name: {
            section for _, _, section in chunk_document(text, title=catalog[name].title, limit=400, overlap=0)
        }
        for name, text in DOCS.items()
    }
    for item in load_dataset():
        for source, section in item.sections:
            assert section in sections[source], (item.id, section)


def test_golden_phrases_and_list_items_are_verbatim_in_an_expected_source() -> None:
    cleaned = {name: comparable(text) for name, text in DOCS.items()}
    for item in load_dataset():
        for snippet in item.expected_phrases + item.list_items:
            assert any(comparable(snippet) in cleaned[s] for s in item.expected_sources), (item.id, snippet)


def test_a_lead_in_is_dangling_only_without_what_it_leads() -> None:
    from crmkb.evals.shape import dangling

    text = "全方位的协作包括四个方面:一是决策层的支持;二是用户的需求;"

    def quote(start: int, end: int) -> Citation:
        return Citation(
            n=1, source="a.txt", title="t", section="s", kind="best-practice", quote=text[start:end],
            start=start, end=end, score=1.0,
        )  # fmt: skip

    lead, first, second = quote(0, 13), quote(13, 22), quote(22, 30)
    assert dangling([lead, first, second]) == 0  # its items follow it
    assert dangling([lead]) == 1  # "…四个方面:" and nothing after it
    assert dangling([lead, second]) == 1  # what follows is not what it leads
