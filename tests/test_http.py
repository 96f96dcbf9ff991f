"""The /api/ask contract over real HTTP (uvicorn on loopback), including every bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crmkb.bot.service import Bot
from crmkb.core.settings import get_settings
from crmkb.web.app import create_app
from crmkb.web.loopback import serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_url(real_bot: Bot) -> Iterator[str]:
    with serving(create_app(real_bot.settings, bot=real_bot)) as url:
        yield url


def test_ask_contract(base_url: str) -> None:
    response = httpx.post(f"{base_url}/api/ask", json={"question": "CRM项目团队应该包括哪些人?"}, timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"question", "answer", "answerable", "language", "mode", "citations", "latency_ms"}
    assert body["answerable"] is True and body["language"] == "zh-Hans" and body["mode"] == "extractive"
    citation = body["citations"][0]
    assert set(citation) == {"n", "source", "title", "section", "kind", "quote", "start", "end", "score",
                             "title_en", "section_en"}  # fmt: skip
    assert f"[{citation['n']}]" in body["answer"]


def test_refusal_over_http(base_url: str) -> None:
    body = httpx.post(
        f"{base_url}/api/ask", json={"question": "Salesforce的许可证多少钱?"}, timeout=30
    ).json()
    assert body["answerable"] is False and body["citations"] == [] and body["topics"]
    # the message and the topics as fields, not prose to cut apart
    assert body["refusal"] == {"message": "知识库中没有能回答这个问题的内容。", "topics": body["topics"]}


def test_healthz_and_openapi(base_url: str) -> None:
    health = httpx.get(f"{base_url}/healthz").json()
    assert health["status"] == "ok"
    ready = httpx.get(f"{base_url}/readyz")
    assert ready.status_code == 200 and ready.json()["served"] == ready.json()["active"] is not None
    assert "/api/ask" in httpx.get(f"{base_url}/openapi.json").json()["paths"]
    assert httpx.get(f"{base_url}/docs").status_code == 200


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
def test_bad_requests_get_422_with_a_message(base_url: str, payload: dict[str, object], expect: str) -> None:
    response = httpx.post(f"{base_url}/api/ask", json=payload)
    assert response.status_code == 422
    assert expect in response.text


def test_non_json_body_is_422(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/api/ask", content=b"question=hello", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_llm_mode_without_configuration_is_a_clear_422(base_url: str) -> None:
    response = httpx.post(f"{base_url}/api/ask", json={"question": "CRM实施包括哪些阶段?", "mode": "llm"})
    assert response.status_code == 422 and "LLM mode is not configured" in response.json()["detail"]


def test_unreachable_store_is_503_not_a_traceback(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path, chroma_url="http://127.0.0.1:9")
    from crmkb.ingest.embeddings import HashEmbeddings

    with serving(create_app(settings, bot=Bot(settings, embeddings=HashEmbeddings()))) as url:
        response = httpx.post(f"{url}/api/ask", json={"question": "CRM实施包括哪些阶段?"})
    assert response.status_code == 503
    assert "cannot open the Chroma store" in response.json()["detail"]
    assert "Traceback" not in response.text
