"""Cleaning on the real articles: every kind of dirt is gone, every piece of guidance survives."""

from __future__ import annotations

import re
from pathlib import Path

import opencc
import pytest

from crmkb.ingest.clean import clean
from crmkb.ingest.normalise import MISCONVERTED, normalise, normalise_question
from tests.conftest import ARTICLES, KB

_T2S = opencc.OpenCC("t2s")  # an independent converter config, so the check is not the cleaner itself


def cleaned(name: str) -> str:
    return clean((KB / name).read_text(encoding="utf-8")).text


ALL = {p.name: cleaned(p.name) for p in ARTICLES}


@pytest.mark.parametrize("name", [p.name for p in ARTICLES])
def test_no_traditional_or_misconverted_characters(name: str) -> None:
    text = ALL[name]
    assert _T2S.convert(text) == text
    assert not set(text) & set(MISCONVERTED), set(text) & set(MISCONVERTED)
    # Traditional forms the articles use often, spot-checked directly
    assert not set(text) & set("個門關於這們實與業務資項後從經對發")


@pytest.mark.parametrize("name", [p.name for p in ARTICLES])
def test_no_pinyin_mojibake_or_residue(name: str) -> None:
    text = ALL[name]
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,6}\)", text)
    assert not re.search(r"[\u2500-\u259f\u2200-\u22ff\ue000-\uf8ff\ufffd]", text)
    for bad in ("赡芤蚰承", "勴椖繉嵤", "fù)", "***"):
        assert bad not in text
    # machine-translation residue: runs of bare punctuation with the words lost between them
    assert not re.search(r"(?:[,.«»—-] *){4,}", text), re.search(r"(?:[,.«»—-] *){4,}", text)
    assert "« »" not in text and "CRM-," not in text


BOILERPLATE = [
    "第1张", "第2张", "评论", "上一篇", "下一篇", "copyright", "转载请注明", "责编", "相关文章", "相关链接",
    "当前位置", "首页>>", ">>", "»", "立即查看", "资源集合", "2015年7月13日", "2010-09-20", "2008/07/25",
    "2008-12-22", "客户世界", "分类信息", "Source:", "habr.com", "All Articles", "Telegram", "通方期货",
    "位律师回复", "法律咨询服务网",
]  # fmt: skip


@pytest.mark.parametrize("name", [p.name for p in ARTICLES])
def test_no_site_boilerplate(name: str) -> None:
    text = ALL[name]
    found = [b for b in BOILERPLATE if b.lower() in text.lower()]
    assert not found


GUIDANCE = {
    "000_ea5525b80525cb07.txt": [
        "在进行下一个项目以前,应该首先找出上次到底是哪里出了错。",
        "CRM项目失败的一个最主要的单独的原因就是项目不能真正满足客户的需要,只是满足了内部的要求,客户觉得受到了干扰。",
        "CRM项目从本质上来说其实是一个基于数据的策略,所以CRM项目的好坏与支持该项目的数据的好坏息息相关。",
        "失败经常是由于把关键的人物放到了局外。",
        "项目出现问题的一个重要原因IT行业寻找捷径的趋势。",
        "培训:有些企业通过减少培训来提高效率,这样做毫无效果。",
    ],
    "001_4998ac562ddf94fb.txt": [
        "故在项目结尾的时候,企业要考虑,实施顾问是否帮助企业,建立起来了标准作业流程。",
        "为此,笔者认为,在项目结尾的时候,企业有必要把这些问题一一的整理清楚。",
        "三、企业后续是否有人能够担任项目完善的重任。",
    ],
    "002_9683dd2b55d1bf3e.txt": [
        "CRM项目成功的重中点是商业需求分析。",
        "典型的项目的预算成本中软件成本占三分之一,咨询、实施和培训成本占三分之二。",
        "全方位的协作包括四个方面:一是自上而下的决策层的支持;二是系统用户自下而上的需求;三是项目团队团结协作;四是CRM方案预算的合理分配。",
        "开展客户关系管理的关键之处在于你所采用的CRM系统是否真正足以实现你所设想的CRM目标。",
        "成功的CRM实施应包括如下七个战略阶段:",
        "目前还没有一个大家公认的标准定义。",
    ],
    "003_80d4f176f4050b3e.txt": [
        "1. 业务范围反复定义,不断扩大。 这是整个项目中最大的风险之一,",
        "7. 是否设定了业务需求方面的决策者?",
        "在企业核心业务最繁忙的时候进行系统切换,肯定是不合适的!",
        "乙方撤离现场了?",
        "系统慢慢的没有人用了。",
        "项目中有问题是正常的,没有问题是不正常的!",
    ],
    "004_1bc54c01a6e7907a.txt": [
        "业务流程再造是开始实施的地方。",
        "不要节省训练。",
        "还有一个不变的规则:业务流程已更改-立即对CRM系统进行更改。",
        "RegionSoft CRM用于销售,市场营销,广告,技术支持,当然还有发展。",
        "据统计,有20%到60%的CRM项目失败或达不到预期。",
    ],
}


@pytest.mark.parametrize(("name", "sentence"), [(n, s) for n, ss in GUIDANCE.items() for s in ss])
def test_guidance_survives(name: str, sentence: str) -> None:
    assert sentence in ALL[name]


def test_every_original_line_of_guidance_survives_in_000() -> None:
    """000 has no residue: each body line of the original, normalised, is still in the cleaned text."""
    raw = (KB / "000_ea5525b80525cb07.txt").read_text(encoding="utf-8").splitlines()
    body = [line.strip() for line in raw if len(line.strip()) > 20 and "»" not in line]
    missing = [line for line in body if normalise(line).strip() not in ALL["000_ea5525b80525cb07.txt"]]
    assert len(body) > 20
    assert not missing


def test_offsets_map_back_to_the_original() -> None:
    """A cleaned span maps to the original span it came from, pinyin annotations included."""
    for path in ARTICLES:
        raw = path.read_text(encoding="utf-8")
        doc = clean(raw)
        for sentence in GUIDANCE[path.name]:
            start = doc.text.index(sentence)
            o_start, o_end = doc.original_span(start, start + len(sentence))
            assert normalise(raw[o_start:o_end]) == sentence, (path.name, raw[o_start:o_end])
    raw = (KB / "003_80d4f176f4050b3e.txt").read_text(encoding="utf-8")
    doc = clean(raw)
    start = doc.text.index("业务范围反复定义")
    o_start, o_end = doc.original_span(start, start + len("业务范围反复定义"))
    assert raw[o_start:o_end] == "業(yè)務(wù)范圍反復(fù)定義"


def test_cleaning_reports_what_it_removed() -> None:
    removed = clean((KB / "003_80d4f176f4050b3e.txt").read_text(encoding="utf-8")).removed
    assert removed["pinyin annotation"] > 100
    assert removed["mojibake fragment"] >= 2
    assert removed["navigation"] == 1
    residue = clean((KB / "004_1bc54c01a6e7907a.txt").read_text(encoding="utf-8")).removed
    assert residue["residue (characters)"] > 300


def test_question_normalisation_matches_documents() -> None:
    assert normalise("項目失敗後，第一步該做什麼？") == "项目失败后,第一步该做什么?"
    assert normalise("盡琯妳們槼則") == "尽管你们规则"
    assert normalise("投資回報率如何(ROI)") == "投资回报率如何(ROI)"


def test_taiwan_phrasing_never_replaces_a_word_the_articles_use() -> None:
    articles = "建立CRM项目团队。客户数据。软件和数据库。"

    def uses(word: str) -> bool:
        return word in articles

    # without the articles' words, OpenCC's Taiwan phrase map rewrites 建立 as 创建
    assert normalise_question("建立專案團隊") == "创建项目团队"
    assert normalise_question("建立專案團隊", uses) == "建立项目团队"
    # a Taiwan word is still mapped when the articles use its mainland form
    assert normalise_question("客戶資料放在哪個資料庫的軟體裡?", uses) == "客户数据放在哪个数据库的软件里?"
    assert normalise_question("建立CRM", uses) == "建立CRM"  # Simplified, or no Taiwan phrase: as it is


def test_markdown_markers_only_stripped_for_markdown() -> None:
    assert clean("## 标题\n正文**重点**。", markdown=True).text == "标题\n正文重点。"
    assert "**" in clean("正文**重点**。").text


def test_a_page_that_is_only_furniture_cleans_to_nothing(tmp_path: Path) -> None:
    page = "首页>>资讯>>CRM\n上一篇:别的文章\n下一篇:另一篇\ncopyright 2024 某网站\n0条评论\n"
    assert clean(page).text == ""
