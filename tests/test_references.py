"""A question that names an article by how it describes it ("风险那篇", "the vendor article") is matched to that
article's title, author, subject or the names only it uses; a description that fits none clearly names none."""

from __future__ import annotations

import re

import pytest

from crmkb.bot.references import References
from crmkb.ingest.artifacts import StoredDocument

# what the glossary does for these tests: English words read as the Chinese the articles use
_ENGLISH = {"vendor": "供应商", "vendor's": "供应商", "risk": "风险", "risks": "风险", "rescue": "挽救"}
_CHINESE = {"厂商": "供应商"}


def _terms(text: str) -> frozenset[str]:
    words = re.findall(r"[A-Za-z']+|[\u4e00-\u9fff]+", text.lower())
    chinese = {w[i : i + 2] for w in words if not w.isascii() for i in range(len(w) - 1)}
    chinese |= {_CHINESE[w] for w in chinese if w in _CHINESE}
    return frozenset(chinese | {_ENGLISH.get(w, w) for w in words if w.isascii() and len(w) > 2})


def _document(source: str, title: str, text: str, *, subject: str = "", author: str = "") -> StoredDocument:
    return StoredDocument(
        source=source, path=source, title=title, kind="best-practice", sha256="", encoding=None, text=text,
        origin_runs=[], original_length=len(text), title_en="", subject=subject, author=author,
    )  # fmt: skip


@pytest.fixture
def references() -> References:
    documents = {
        "000_a.txt": _document(
            "000_a.txt", "如何挽救失败项目", "挽救项目要先分析。Gartner调查显示培训很重要。"
        ),
        "001_b.txt": _document(
            "001_b.txt",
            "上线准备",
            "准备阶段要选择供应商,培训用户。",
            subject="Preparation: team, budget, vendor, phases",
        ),
        "002_c.txt": _document(
            "002_c.txt", "实施中的风险", "管理风险、业务风险和技术风险。培训不足也是风险。"
        ),
        "003_d.txt": _document(
            "003_d.txt",
            "如何无法实施系统",
            "RegionSoft的经验:供应商的培训材料要索取。",
            subject="How implementations fail",
            author="RegionSoft, a CRM vendor",
        ),
    }
    return References(documents, _terms)


@pytest.mark.parametrize(
    ("question", "source"),
    [
        ("风险那篇说项目经理要具备哪些能力?", "002_c.txt"),  # a word of the title
        ("按那篇挽救失败项目的文章说,第一步做什么?", "000_a.txt"),  # the words between 那篇 and 文章
        (
            "What does the rescue article say about data?",
            "000_a.txt",
        ),  # English, read as the glossary reads it
        # the author names a vendor; another article's subject lists "vendor" as one of its topics
        ("According to the vendor article, why do projects fail?", "003_d.txt"),
        ("厂商那篇对培训怎么说?", "003_d.txt"),
        ("ok and the vendor one?", "003_d.txt"),  # lower case: "the X one" is how people say it
        ("The RegionSoft one?", "003_d.txt"),
        ("RegionSoft那篇的例子最后怎么样了?", "003_d.txt"),  # a name only that article uses
        ("講Gartner調查那篇怎麼說?", "000_a.txt"),
        ("003那篇里说的部分实现是什么意思?", "003_d.txt"),  # the number its file name starts with
    ],
)
def test_a_description_names_the_article_it_fits(references: References, question: str, source: str) -> None:
    assert references.named(question) == {source}


def test_two_descriptions_name_two_articles(references: References) -> None:
    question = "What do the rescue article and the risk article each say about training?"
    assert references.named(question) == {"000_a.txt", "002_c.txt"}
    assert [r.source for r in references.find(question)] == ["000_a.txt", "002_c.txt"]  # in order


@pytest.mark.parametrize(
    "question",
    [
        "那篇文章说培训要多久?",  # no description at all
        "讲培训的文章怎么说?",  # every article trains; no title, author or subject says so
        "讲材料的文章怎么说?",  # one article's text says it, in passing: no title, author or subject does
        "几篇文章对培训怎么看?",  # several articles, none in particular
        "the 2nd one - can you go deeper?",  # "one" after an ordinal is no article
        "and the other one?",
        "which is the most important one?",
        "007那篇说了什么?",  # no file starts with 007
    ],
)
def test_a_description_that_fits_no_article_clearly_names_none(references: References, question: str) -> None:
    assert references.named(question) == frozenset()
