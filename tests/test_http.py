"""The /api/ask contract, including every bad input, in-process with FastAPI's TestClient (the lifespan
runs as under uvicorn; the streaming and process tests keep a real server, in test_web_service.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crmkb.bot.service import Bot
from crmkb.core.settings import Settings, get_settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from crmkb.web.app import create_app
from tests.conftest import loaded_bot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(real_bot: Bot) -> Iterator[TestClient]:
    with TestClient(create_app(real_bot.settings, bot=real_bot)) as client:
        yield client


def test_ask_contract(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "CRM项目团队应该包括哪些人?"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"question", "answer", "answerable", "language", "mode", "citations", "latency_ms"}
    assert body["answerable"] is True and body["language"] == "zh-Hans" and body["mode"] == "extractive"
    citation = body["citations"][0]
    assert set(citation) == {"n", "source", "title", "section", "kind", "quote", "quote_shown", "start", "end",
                             "score", "title_en", "section_en", "label", "kind_label"}  # fmt: skip
    assert citation["quote_shown"] == citation["quote"]  # a Simplified asker reads the document's text
    assert citation["label"] == f"{citation['title']} › {citation['section']}" and citation["kind_label"]
    assert f"[{citation['n']}]" in body["answer"]


def test_refusal_contract(client: TestClient) -> None:
    body = client.post("/api/ask", json={"question": "Salesforce的许可证多少钱?"}).json()
    assert body["answerable"] is False and body["citations"] == [] and body["topics"]
    # the message and the topics as fields, not prose to cut apart
    assert body["refusal"] == {
        "kind": "not_covered",
        "message": "知识库中没有能回答这个问题的内容。",
        "topics": body["topics"],
    }


def test_healthz_and_openapi(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["served"] == ready.json()["active"] is not None
    assert "/api/ask" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200
    assert ready.json()["warnings"] == []


def test_a_server_away_from_its_kb_answers_with_the_glossary_of_its_version(
    real_index: Settings, tmp_path: Path
) -> None:
    # started where there is no kb/: the version it serves was published with its glossary
    bot = loaded_bot(real_index.model_copy(update={"kb_dir": tmp_path}))
    with TestClient(create_app(bot.settings, bot=bot)) as away:
        ready = away.get("/readyz")
        assert ready.status_code == 200 and ready.json()["warnings"] == [], ready.json()
        # "scope creep" is 范围扩散 only through the glossary
        answer = away.post("/api/ask", json={"question": "How do we stop scope creep?"}).json()
    assert answer["answerable"] and "预防范围扩散" in {
        c["section"].split(" > ")[0] for c in answer["citations"]
    }


def test_a_server_without_any_glossary_says_so(settings: Settings, tmp_path: Path) -> None:
    # a version published without one, served away from any kb/: it answers, but English loses its terms
    (settings.kb_dir / "glossary.toml").unlink()
    embeddings = HashEmbeddings()
    run_ingest(settings, embeddings=embeddings)
    away = settings.model_copy(update={"kb_dir": tmp_path})
    bot = Bot(away, embeddings=embeddings)
    bot.load()
    with TestClient(create_app(away, bot=bot)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json()  # still ready: it answers
        (warning,) = ready.json()["warnings"]
        assert str(tmp_path / "glossary.toml") in warning and "CRMKB_KB_DIR" in warning


@pytest.mark.parametrize(
    ("payload", "expect"),
    [
        ({"question": ""}, "empty"),
        ({"question": "   \t"}, "empty"),
        ({"question": "问" * 2001}, "2000"),
        ({"question": 42}, "string"),
        ({"question": "ok", "mode": "magic"}, "extractive"),
        ({}, "question"),
    ],
)
def test_bad_requests_get_422_with_a_message(
    client: TestClient, payload: dict[str, object], expect: str
) -> None:
    response = client.post("/api/ask", json=payload)
    assert response.status_code == 422
    assert expect in response.text


def test_non_json_body_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/ask", content=b"question=hello", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_llm_mode_without_configuration_is_a_clear_422(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "CRM实施包括哪些阶段?", "mode": "llm"})
    assert response.status_code == 422 and "LLM mode is not configured" in response.json()["detail"]


def test_unreachable_store_is_503_not_a_traceback(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path, chroma_url="http://127.0.0.1:9")
    from crmkb.ingest.embeddings import HashEmbeddings

    with TestClient(create_app(settings, bot=Bot(settings, embeddings=HashEmbeddings()))) as client:
        response = client.post("/api/ask", json={"question": "CRM实施包括哪些阶段?"})
    assert response.status_code == 503
    assert "cannot open the Chroma store" in response.json()["detail"]
    assert "Traceback" not in response.text
