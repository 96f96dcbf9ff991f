"""``faq suggest`` without the model: which headings and lines become questions, how they are worded, and
that an entry is kept only under the section its answer cites (a scripted answerer, the fake embedder)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crmkb.bot.schemas import Answer, Citation
from crmkb.faq.phrasing import answered_question, heading_question, reads_as_question
from crmkb.faq.suggest import Suggestion, candidates, select
from crmkb.ingest.chunking import Chunk, chunk_document
from crmkb.ingest.embeddings import HashEmbeddings

TITLE = "如何做好客户数据迁移"
# A made-up article with one of each kind: headings that are questions' topics, a truncated heading, a
# slogan, a label, a survey, an answered question, a statement with a question mark, a problem with a remedy.
ARTICLE = "\n".join(
    [
        TITLE,
        "数据迁移是上线前最容易被低估的一步。很多项目因此推迟了上线时间,这里总结几点经验。",
        "建立用户对照表",
        "迁移之前先删除重复的客户记录,合并同一客户的多个联系人,并统一地址和电话的格式。",
        "整理你手上的",
        "旧系统导出的附件、备注和邮件往往散落各处,应当在迁移前集中保存到一个位置。",
        "先试点而不是全量",
        "先用一个部门的数据做试迁移,核对无误后再全量迁移,这样出错时影响范围较小。",
        "底线",
        "迁移完成后保留旧系统只读访问至少三个月,以便核对和追溯历史记录中的问题。",
        "迁移调查",
        "在动手之前,项目组需要回答下面这些问题:",
        "你们有多少条客户记录?",
        "你们使用哪些字段?",
        "你们的数据存放在哪里?",
        "这些问题的答案决定了迁移的顺序和工具,也决定了需要多少人手来核对迁移的结果。",
        "迁移需要多长时间?",
        "一般来说,十万条以内的客户记录在一个周末即可完成迁移,包括核对和修正的时间在内。",
        "迁移后的数据。真的,没有问题吗?",
        "迁移后用户找不到数据",
        "很多用户上线第一天就抱怨找不到自己的客户,因为数据的归属人在迁移时没有对应上。",
        "怎么办 迁移前建立旧系统用户和新系统用户的对照表,并在迁移后抽查每个销售的客户数量。",
    ]
)


def _knowledge(text: str = ARTICLE, source: str = "000_test.txt") -> SimpleNamespace:
    spans = chunk_document(text, title=TITLE, limit=320, overlap=80)
    chunks = {
        f"{source}#{i}": Chunk(
            f"{source}#{i}", source, TITLE, section, "best-practice", s, e, s, e, text[s:e]
        )
        for i, (s, e, section) in enumerate(spans)
    }
    document = SimpleNamespace(title=TITLE, text=text)
    return SimpleNamespace(documents={source: document}, chunks=chunks)


def _questions() -> dict[str, str]:
    return {s.question: s.section for s in candidates(_knowledge())}  # type: ignore[arg-type]


def test_headings_that_are_complete_phrases_become_questions_about_their_section() -> None:
    found = _questions()
    assert found["如何做好客户数据迁移?"] == ""  # the title: the whole article
    assert found["如何建立用户对照表?"] == "建立用户对照表"
    assert found["迁移后用户找不到数据怎么办?"] == "迁移后用户找不到数据"  # its section says what to do


def test_truncated_headings_labels_and_slogans_are_not_questions() -> None:
    joined = "\n".join(_questions())
    for heading in ("整理你手上的", "先试点而不是全量", "底线"):
        assert heading not in joined
    assert "如何迁移调查?" not in joined  # a noun compound ("迁移/v 调查/vn"), not a verb and its object
    assert heading_question("集中你所有的", "一个失败的项目产生了很多数据。") is None  # ends in 的
    assert heading_question("准备好所需的", "……") is None
    assert heading_question("技术", "技术因素也很重要。") is None  # one word
    assert heading_question("分析而不是责备", "应该找出哪里出了问题。") is None
    assert heading_question("没有业务流程,就有业务混乱", "这是失败的主要原因。") is None
    assert heading_question("这次请遵守下列规则", "请练习高明的项目管理技巧。") is None


def test_survey_items_are_not_questions_but_an_answered_question_is() -> None:
    found = _questions()
    assert not [q for q in found if q.startswith("你们")]  # the survey the article asks its reader
    assert found["迁移需要多长时间?"] == "迁移调查"  # answered on the next line
    lines = ["CRM调查:", "现有系统可以实现那些功能?", "你采取何种数据类型?", "你们需要哪些报表?", "CRM调查将确定企业需要的功能,为技术实现提供决策依据。"]  # fmt: skip
    assert [answered_question(*lines[i - 1 : i + 2]) for i in range(1, 4)] == [None, None, None]
    checklist = ["2. 是否设立了合适的项目经理? 项目经理很重要。", "3. 项目团队成员是否有主要业务部门成员?", "4. 项目团队是否能得到相关部门的大力支持?"]  # fmt: skip
    assert answered_question(*checklist) is None


def test_statements_with_a_question_mark_are_not_questions() -> None:
    assert "迁移后的数据。真的,没有问题吗?" not in _questions()
    assert not reads_as_question("公司中具有未解决的业务流程的CRM。 真的,没有异常吗?")
    assert not reads_as_question("CRM系统根本无法使用?")  # no interrogative word
    assert not reads_as_question("如何无法实施CRM系统?")  # "how to fail"
    assert not reads_as_question("你采取何种数据类型?")  # asked of the reader
    assert reads_as_question("如何决定CRM解决方案是否切实可行?")


class ScriptedBot:
    """Answers each question with citations from the sections the test names."""

    def __init__(self, knowledge: SimpleNamespace, cites: dict[str, list[str]]) -> None:
        self.knowledge = knowledge
        self.cites = cites
        self.embeddings = HashEmbeddings()

    def load(self) -> SimpleNamespace:
        return SimpleNamespace(knowledge=self.knowledge)

    def ask(self, question: str) -> Answer:
        chunks = [c for c in self.knowledge.chunks.values() if c.section in self.cites.get(question, [])]
        citations = [
            Citation(
                n=n,
                source=c.source,
                title=c.title,
                section=c.section,
                kind=c.kind,
                quote=c.text,
                start=c.start,
                end=c.end,
                score=1.0,
            )
            for n, c in enumerate(chunks, 1)
        ]
        return Answer(question=question, answer="…", answerable=bool(citations), language="zh-Hans",
                      mode="extractive", citations=citations)  # fmt: skip


@pytest.mark.parametrize(
    ("cited", "kept"),
    [
        (["建立用户对照表"], True),
        (["底线"], False),  # answered from another section: would be filed under the wrong one
        (["建立用户对照表", "底线"], False),  # part of the answer comes from elsewhere
        ([], False),  # not answered
    ],
)
def test_a_suggestion_is_kept_only_under_the_section_its_answer_cites(cited: list[str], kept: bool) -> None:
    knowledge = _knowledge()
    bot = ScriptedBot(knowledge, {"如何建立用户对照表?": cited})
    suggestion = Suggestion("000_test.txt", TITLE, "建立用户对照表", "如何建立用户对照表?")
    assert (select(bot, [suggestion]) == [suggestion]) is kept


def test_a_title_question_may_cite_any_section_of_its_own_article_only() -> None:
    knowledge = _knowledge()
    title = Suggestion("000_test.txt", TITLE, "", "如何做好客户数据迁移?")
    assert select(ScriptedBot(knowledge, {title.question: ["建立用户对照表", "底线"]}), [title]) == [title]
    other = Suggestion("001_other.txt", "别的文章", "", "如何做好客户数据迁移?")
    assert select(ScriptedBot(knowledge, {title.question: ["建立用户对照表"]}), [other]) == []
