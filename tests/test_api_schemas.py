"""The public response schema: built from the domain Answer in one place, a refusal's message and topics
as fields that no client has to cut out of the prose, and each citation labelled (where from, what kind)
in the asker's language, so no client words them itself."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from crmkb.bot import render
from crmkb.bot.retrieval import Hit
from crmkb.bot.schemas import Answer, Citation
from crmkb.core.settings import Settings
from crmkb.ingest.chunking import Chunk
from crmkb.slack.blocks import answer_message
from crmkb.web.app import create_app
from crmkb.web.schemas import AskResponse


def _hit(title: str, section: str) -> Hit:
    chunk = Chunk(id=title + section, source="a.txt", title=title, section=section, kind="best-practice",
                  start=0, end=1, orig_start=0, orig_end=1, text="x")  # fmt: skip
    return Hit(chunk=chunk, dense=0.5, sparse=1.0, fused=0.1)


# Topics whose own text holds sentence ends, so that cutting the prose at the first "。" or "." (what the
# widget and Slack did) would give something else than the message.
HITS = [_hit("CRM v2.0 选型。", "一、准备"), _hit("Go-live. Then", "")]


def test_a_refusal_carries_its_message_and_topics_as_fields() -> None:
    for language, message in [
        ("zh-Hans", "知识库中没有能回答这个问题的内容。"),
        ("zh-Hant", "知識庫中沒有能回答這個問題的內容。"),
        ("en", "The knowledge base does not cover this question."),
        ("other", "The knowledge base does not cover this question. Please ask in Chinese or English."),
    ]:
        answer = render.refusal("q", language, HITS)  # type: ignore[arg-type]
        response = AskResponse.from_answer(answer).model_dump()
        assert response["refusal"]["message"] == message and response["refusal"]["kind"] == "not_covered"
        assert response["refusal"]["topics"] == response["topics"] == answer.topics
        assert len(answer.topics) == 2 and "›" in answer.topics[0]
        assert response["answer"].startswith(message) and response["answer"] != message  # prose kept too
        assert response["answerable"] is False and response["citations"] == []


def test_a_refusals_topics_drop_a_headings_own_full_stop() -> None:
    hits = [_hit("收尾工作", "三、是否有人能够担任重任。"), _hit("风险", "管理层面的风险")]
    for language in ("zh-Hans", "zh-Hant"):
        answer = render.refusal("q", language, hits)
        assert "。;" not in answer.answer and "。。" not in answer.answer, answer.answer
        assert answer.answer.endswith("風險。" if language == "zh-Hant" else "风险。")
        # a name, which a client may join into a list
        assert answer.topics[0].endswith(("担任重任", "擔任重任"))


def test_an_answers_fields_match_the_domain_answer() -> None:
    citation = Citation(n=1, source="a.txt", title="T", section="S", kind="failure-case", quote="q", start=0,
                        end=1, score=0.5, title_en="T en", section_en="")  # fmt: skip
    answer = render.answer("项目失败后先做什么?", "zh-Hans", [citation])
    answer.id, answer.latency_ms = "abc", 12.5
    response = AskResponse.from_answer(answer)
    assert response.refusal is None
    expected = answer.model_dump(exclude={"refusal_message", "declined"})
    labels = {"label": "T › S", "kind_label": "失败案例", "quote_shown": "q"}
    expected["citations"] = [{**c, **labels} for c in expected["citations"]]  # added; nothing changed
    assert response.model_dump(exclude={"refusal"}) == expected
    assert {"refusal_message", "declined"}.isdisjoint(response.model_dump())  # the domain's, not the API's


def test_a_traditional_asker_reads_labels_and_quotes_in_traditional() -> None:
    """The answer text quotes in the asker's script; its citations say so too, keeping the verbatim quote."""
    citation = Citation(n=1, source="a.txt", title="如何挽救一个失败的CRM系统", section="重新设置期望",
                        kind="failure-case", quote="项目在开始时就注定要失败。", start=0, end=13, score=0.5)  # fmt: skip
    answer = render.answer("為什麼會失敗?", "zh-Hant", [citation])
    shown = AskResponse.from_answer(answer).citations[0]
    assert shown.quote == "项目在开始时就注定要失败。" and shown.quote_shown == "項目在開始時就註定要失敗。"
    assert shown.label == "如何挽救一個失敗的CRM系統 › 重新設置期望" and shown.quote_shown in answer.answer
    slack = answer_message(answer)[1]
    assert any("項目在開始時就註定要失敗" in str(block) for block in slack)


def test_slack_shows_the_message_and_lists_the_topics() -> None:
    answer = render.refusal("q", "zh-Hans", HITS)
    text, blocks = answer_message(answer)
    assert text.split("\n")[0] == "知识库中没有能回答这个问题的内容。"
    assert "• CRM v2.0 选型。 › 一、准备" in text and "• Go-live. Then" in text
    assert blocks[0]["text"]["text"] == text


def test_a_greeting_or_thanks_is_a_reply_not_a_refusal() -> None:
    """Both answer nothing from the articles, but neither is a gap in them: clients say so by the kind
    (the widget drops its "not in the knowledge base" badge; Slack its rating buttons)."""
    greeted = render.nothing_asked("你好", "zh-Hans", ["如何挽救一个失败的CRM系统", "CRM项目收尾"])
    response = AskResponse.from_answer(greeted).model_dump()
    assert response["refusal"]["kind"] == "nothing_asked"
    assert response["refusal"]["topics"] == ["如何挽救一个失败的CRM系统", "CRM项目收尾"]
    text, blocks = answer_message(greeted)
    assert "*知识库里的文章*" in text and "相关主题" not in text
    assert all(b["type"] != "actions" for b in blocks)
    thanked = render.acknowledged("谢谢", "en")
    assert AskResponse.from_answer(thanked).model_dump()["refusal"]["kind"] == "acknowledged"
    assert all(b["type"] != "actions" for b in answer_message(thanked)[1])
    refused = answer_message(render.refusal("q", "zh-Hans", HITS))[1]
    assert refused[-1]["type"] == "actions"  # a refusal can be rated


class _RefusingBot:
    """Just what the /api/ask route calls."""

    def ask(self, question: str, history: list[str], mode: str | None) -> Answer:
        return render.refusal(question, "en", HITS)


class _Writer:
    """Just what the answering routes call to have an answer recorded."""

    def record(self, answer: Answer, channel: str, *, user_id: str | None = None) -> str:
        answer.id = "id-1"
        return answer.id


def test_api_ask_returns_the_public_schema_and_docs_render(settings: Settings) -> None:
    app = create_app(settings)  # no lifespan: the bot and writer are set here instead
    app.state.bot, app.state.writer = _RefusingBot(), _Writer()
    client = TestClient(app)
    body = client.post("/api/ask", json={"question": "How do I bake bread?"}).json()
    assert body["refusal"] == {
        "kind": "not_covered",
        "message": "The knowledge base does not cover this question.",
        "topics": ["CRM v2.0 选型。 › 一、准备", "Go-live. Then"],
    }
    assert body["id"] == "id-1" and "refusal_message" not in body
    schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/api/ask"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/AskResponse"}
    assert {"AskResponse", "Refusal", "Citation"} <= set(schema["components"]["schemas"])
    assert client.get("/docs").status_code == 200


RESCUE, BLAME = "如何挽救一个失败的CRM系统", "分析而不是责备"
RESCUE_EN, BLAME_EN = "How to rescue a failed CRM system", "Analyse, don't blame"


def _cited(kind: str = "failure-case", section: str = BLAME, title_en: str = RESCUE_EN,
           section_en: str = BLAME_EN) -> Citation:  # fmt: skip
    return Citation(n=1, source="a.txt", title=RESCUE, section=section, kind=kind, quote="找出错误。", start=0,
                    end=5, score=0.5, title_en=title_en, section_en=section_en)  # fmt: skip


@pytest.mark.parametrize(
    ("language", "citation", "label", "kind_label"),
    [
        ("zh-Hans", _cited(), f"{RESCUE} › {BLAME}", "失败案例"),
        ("zh-Hans", _cited("best-practice"), f"{RESCUE} › {BLAME}", "最佳实践"),
        # In the asker's script, as the answer text quotes them; the kind is the asker's word.
        ("zh-Hant", _cited(), "如何挽救一個失敗的CRM系統 › 分析而不是責備", "失敗案例"),
        ("zh-Hant", _cited("best-practice"), "如何挽救一個失敗的CRM系統 › 分析而不是責備", "最佳實踐"),
        ("en", _cited(), f"{RESCUE_EN} › {BLAME_EN}", "Failure case"),
        ("en", _cited("best-practice"), f"{RESCUE_EN} › {BLAME_EN}", "Best practice"),
        ("en", _cited(section_en=""), f"{RESCUE_EN} › {BLAME}", "Failure case"),  # the Chinese stands in
        ("en", _cited(title_en="", section_en=""), f"{RESCUE} › {BLAME}", "Failure case"),
        ("en", _cited(section="", section_en=""), RESCUE_EN, "Failure case"),  # before the first heading
        ("zh-Hans", _cited(section="", section_en=""), RESCUE, "失败案例"),
        ("other", _cited(), f"{RESCUE} › {BLAME}", "Failure case"),
    ],
)
def test_a_citation_is_labelled_for_its_asker(
    language: str, citation: Citation, label: str, kind_label: str
) -> None:
    answer = render.answer("q", language, [citation])  # type: ignore[arg-type]
    (public,) = AskResponse.from_answer(answer).model_dump()["citations"]
    assert (public["label"], public["kind_label"]) == (label, kind_label)


class _AnsweringBot:
    """An English answer with English titles, through the routes' own calls."""

    def ask(self, question: str, history: list[str], mode: str | None) -> Answer:
        return render.answer(question, "en", [_cited()])

    def check_mode(self, mode: str | None) -> None:
        return None


def test_every_route_giving_citations_gives_their_labels(settings: Settings) -> None:
    app = create_app(settings)
    app.state.bot, app.state.writer = _AnsweringBot(), _Writer()
    client = TestClient(app)
    want = {"label": f"{RESCUE_EN} › {BLAME_EN}", "kind_label": "Failure case"}
    (cited,) = client.post("/api/ask", json={"question": "How do I rescue it?"}).json()["citations"]
    assert {k: cited[k] for k in want} == want
    events = client.post("/api/ask/stream", json={"question": "How do I rescue it?"}).text.split("\r\n\r\n")
    payloads = {e.split("\r\n")[0]: json.loads(e.split("data: ", 1)[1]) for e in events if e.strip()}
    assert {k: payloads["event: citation"][k] for k in want} == want  # what the widget shows as it streams
    assert {k: payloads["event: done"]["citations"][0][k] for k in want} == want
    fields = client.get("/openapi.json").json()["components"]["schemas"]["Citation"]
    assert {"label", "kind_label"} <= set(fields["required"])  # a response cannot leave them out
    assert all(fields["properties"][k]["description"] for k in want)


def test_a_rejected_request_says_where_and_why_without_repeating_what_was_sent(settings: Settings) -> None:
    app = create_app(settings)
    app.state.bot, app.state.writer = _AnsweringBot(), _Writer()
    client = TestClient(app)
    long = client.post("/api/ask", json={"question": "项" * 3000})
    assert long.status_code == 422
    (error,) = long.json()["detail"]
    assert error["loc"] == ["body", "question"] and "3000 characters" in error["msg"]
    assert "项项项" not in long.text and len(long.text) < 300
    wrong = client.post("/api/ask", json={"question": 123})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["type"] == "string_type"
    assert "123" not in wrong.text
