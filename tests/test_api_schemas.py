"""The public response schema: built from the domain Answer in one place, a refusal's message and topics
as fields that no client has to cut out of the prose."""

from __future__ import annotations

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
        assert response["refusal"]["message"] == message
        assert response["refusal"]["topics"] == response["topics"] == answer.topics
        assert len(answer.topics) == 2 and "›" in answer.topics[0]
        assert response["answer"].startswith(message) and response["answer"] != message  # prose kept too
        assert response["answerable"] is False and response["citations"] == []


def test_an_answers_fields_match_the_domain_answer() -> None:
    citation = Citation(n=1, source="a.txt", title="T", section="S", kind="failure-case", quote="q", start=0,
                        end=1, score=0.5, title_en="T en", section_en="")  # fmt: skip
    answer = render.answer("项目失败后先做什么?", "zh-Hans", [citation])
    answer.id, answer.latency_ms = "abc", 12.5
    response = AskResponse.from_answer(answer)
    assert response.refusal is None
    expected = answer.model_dump(exclude={"refusal_message"})
    assert response.model_dump(exclude={"refusal"}) == expected
    assert "refusal_message" not in response.model_dump()  # the domain's field is not the API's


def test_slack_shows_the_message_and_lists_the_topics() -> None:
    answer = render.refusal("q", "zh-Hans", HITS)
    text, blocks = answer_message(answer)
    assert text.split("\n")[0] == "知识库中没有能回答这个问题的内容。"
    assert "• CRM v2.0 选型。 › 一、准备" in text and "• Go-live. Then" in text
    assert blocks[0]["text"]["text"] == text


class _RefusingBot:
    """Just what the /api/ask route calls."""

    def ask(self, question: str, history: list[str], mode: str | None) -> Answer:
        return render.refusal(question, "en", HITS)


class _Store:
    def try_record(self, answer: Answer, channel: str) -> None:
        answer.id = "id-1"


def test_api_ask_returns_the_public_schema_and_docs_render(settings: Settings) -> None:
    app = create_app(settings)  # no lifespan: the bot and store are set here instead
    app.state.bot, app.state.store = _RefusingBot(), _Store()
    client = TestClient(app)
    body = client.post("/api/ask", json={"question": "How do I bake bread?"}).json()
    assert body["refusal"] == {
        "message": "The knowledge base does not cover this question.",
        "topics": ["CRM v2.0 选型。 › 一、准备", "Go-live. Then"],
    }
    assert body["id"] == "id-1" and "refusal_message" not in body
    schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/api/ask"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/AskResponse"}
    assert {"AskResponse", "Refusal", "Citation"} <= set(schema["components"]["schemas"])
    assert client.get("/docs").status_code == 200
