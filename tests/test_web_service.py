"""The widget's service: streaming, feedback, source passages and the body cap over real HTTP (uvicorn on
loopback: SSE, hang-ups and a body without Content-Length need a real server), and the other guards in front
of /api/* (API key, rate limit, CORS) in-process with TestClient."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings, Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.normalise import to_traditional
from crmkb.web.app import FEEDBACK_DB, create_app
from crmkb.web.loopback import serving
from tests.support.serve_process import crmkb_serve

pytestmark = pytest.mark.slow

QUESTION = "CRM项目团队应该包括哪些人?"


def with_server(settings: Settings, **server: object) -> Settings:
    return settings.model_copy(update={"server": ServerSettings.model_validate({"rate_limit": 0, **server})})


@pytest.fixture(scope="module")
def base_url(real_bot: Bot) -> Iterator[str]:
    with serving(create_app(with_server(real_bot.settings), bot=real_bot)) as url:
        yield url


def read_events(response: httpx.Response) -> list[tuple[str, dict[str, object]]]:
    events, name = [], ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def stream(base_url: str, payload: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
    with httpx.stream("POST", f"{base_url}/api/ask/stream", json=payload, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_events(response)


def test_stream_is_meta_deltas_citations_done(base_url: str) -> None:
    events = stream(base_url, {"question": QUESTION})
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "done" and "error" not in names
    meta, done = events[0][1], events[-1][1]
    assert meta["answer_id"] == done["id"] and len(str(done["id"])) == 32
    assert meta["language"] == "zh-Hans" == done["language"]
    assert "".join(str(d["text"]) for n, d in events if n == "delta") == done["answer"]
    streamed = [d for n, d in events if n == "citation"]
    assert streamed == done["citations"] and streamed
    # each citation arrives right after the first line that cites it
    first_citation = names.index("citation")
    assert names[first_citation - 1] == "delta"
    assert f"[{streamed[0]['n']}]" in str(events[first_citation - 1][1]["text"])


def test_stream_refusal_and_follow_up(base_url: str) -> None:
    refusal = stream(base_url, {"question": "Salesforce的许可证多少钱?"})[-1][1]
    assert refusal["answerable"] is False and refusal["topics"]
    assert refusal["refusal"] == {
        "kind": "not_covered",
        "message": "知识库中没有能回答这个问题的内容。",
        "topics": refusal["topics"],
    }
    follow = stream(base_url, {"question": "为什么?", "history": ["CRM项目失败的最主要原因是什么?"]})[-1][1]
    assert follow["answerable"] is True and follow["refusal"] is None


def test_stream_refuses_a_bad_question_before_streaming(base_url: str) -> None:
    response = httpx.post(f"{base_url}/api/ask/stream", json={"question": "   "}, timeout=30)
    assert response.status_code == 422 and "question" in response.text.lower()


def test_feedback_is_stored_with_question_answer_and_citations(base_url: str, real_bot: Bot) -> None:
    answer = httpx.post(f"{base_url}/api/ask", json={"question": QUESTION}, timeout=30).json()
    response = httpx.post(
        f"{base_url}/api/feedback", json={"answer_id": answer["id"], "rating": "down", "comment": " 太长 "}
    )
    assert response.status_code == 201 and response.json()["rating"] == "down"
    rows = [
        r
        for r in FeedbackStore(real_bot.settings.data_dir / FEEDBACK_DB).feedback()
        if r.answer_id == answer["id"]
    ]
    assert len(rows) == 1
    row = rows[0]
    assert (row.rating, row.comment, row.question) == ("down", "太长", QUESTION)
    # The store keeps the domain's citations; the API adds only how to show them (label, kind_label, quote_shown).
    shown = [
        {k: v for k, v in c.items() if k not in ("label", "kind_label", "quote_shown")}
        for c in answer["citations"]
    ]
    assert row.answer == answer["answer"] and row.citations == shown


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"answer_id": "0" * 32, "rating": "up"}, 404),
        ({"answer_id": "x", "rating": "meh"}, 422),
        ({"rating": "up"}, 422),
        ({"answer_id": "x", "rating": "up", "comment": "长" * 2001}, 422),
    ],
)
def test_bad_feedback(base_url: str, payload: dict[str, object], status: int) -> None:
    response = httpx.post(f"{base_url}/api/feedback", json=payload)
    assert response.status_code == status and response.json()["detail"]


def test_source_passage_holds_the_quote(base_url: str) -> None:
    citation = httpx.post(f"{base_url}/api/ask", json={"question": QUESTION}, timeout=30).json()["citations"][
        0
    ]
    params = {"start": citation["start"], "end": citation["end"]}
    passage = httpx.get(f"{base_url}/api/sources/{citation['source']}", params=params).json()
    assert passage["paragraph"][passage["quote_start"] : passage["quote_end"]] == citation["quote"]
    assert passage["title"] == citation["title"] and passage["kind"] == citation["kind"]
    assert len(passage["paragraph"]) >= len(citation["quote"])
    # in Traditional characters for a Traditional asker: the quote's offsets are those of the converted text
    hant = httpx.get(
        f"{base_url}/api/sources/{citation['source']}", params={**params, "script": "zh-Hant"}
    ).json()
    assert hant["paragraph"][hant["quote_start"] : hant["quote_end"]] == to_traditional(citation["quote"])
    assert hant["title"] == to_traditional(citation["title"]) and hant["paragraph"] != passage["paragraph"]
    assert httpx.get(f"{base_url}/api/sources/nope.txt", params=params).status_code == 404
    bad = httpx.get(f"{base_url}/api/sources/{citation['source']}", params={"start": 10, "end": 5})
    assert bad.status_code == 422


def test_widget_and_demo_page_are_served(base_url: str) -> None:
    page = httpx.get(f"{base_url}/")
    assert page.status_code == 200 and '<script src="/widget.js"' in page.text
    script = httpx.get(f"{base_url}/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_disconnecting_mid_stream_leaks_nothing(base_url: str) -> None:
    before = threading.active_count()
    for _ in range(25):
        with httpx.stream("POST", f"{base_url}/api/ask/stream", json={"question": QUESTION}, timeout=30) as r:
            next(r.iter_lines())  # the first line of `meta`, then hang up
    time.sleep(0.5)
    assert threading.active_count() <= before + 4  # worker threads are pooled, not one left per stream
    assert stream(base_url, {"question": QUESTION})[-1][0] == "done"


def test_api_key(real_bot: Bot) -> None:
    with TestClient(create_app(with_server(real_bot.settings, api_key="s3cret"), bot=real_bot)) as client:
        ask = {"question": QUESTION}
        assert client.post("/api/ask", json=ask).status_code == 401
        wrong = client.post("/api/ask", json=ask, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401 and "API key" in wrong.json()["detail"]
        right = client.post("/api/ask", json=ask, headers={"X-API-Key": "s3cret"})
        assert right.status_code == 200 and right.json()["answerable"] is True
        assert client.get("/healthz").status_code == 200  # only /api/* is guarded


def test_rate_limit_is_a_clear_429(real_bot: Bot, tmp_path: Path) -> None:
    settings = with_server(real_bot.settings, rate_limit=3).model_copy(
        update={"data_dir": tmp_path}
    )  # own counts
    with TestClient(create_app(settings, bot=real_bot)) as client:
        codes = [
            client.get("/api/sources/x.txt", params={"start": 0, "end": 1}).status_code for _ in range(4)
        ]
        assert codes == [404, 404, 404, 429]
        limited = client.get("/api/sources/x.txt", params={"start": 0, "end": 1})
        assert "3 a minute" in limited.json()["detail"] and int(limited.headers["Retry-After"]) >= 1


def test_oversized_body_is_413(base_url: str) -> None:
    big = {"question": "长" * 30_000}  # 90 KB of UTF-8, over the 64 KiB default
    assert httpx.post(f"{base_url}/api/ask", json=big, timeout=30).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"question": "'
        for _ in range(100):  # 100 KiB, over the 64 KiB default
            yield b"x" * 1024
        yield b'"}'

    response = httpx.post(
        f"{base_url}/api/ask", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413 and "too large" in response.json()["detail"]


def test_cors_allows_only_the_configured_origins(real_bot: Bot) -> None:
    settings = with_server(real_bot.settings, cors_origins=["https://intranet.example"])
    with TestClient(create_app(settings, bot=real_bot)) as client:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        ok = client.options("/api/ask", headers={"Origin": "https://intranet.example", **preflight})
        assert ok.status_code == 200
        assert ok.headers.get("access-control-allow-origin") == "https://intranet.example"
        other = client.options("/api/ask", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers


def test_feedback_survives_a_killed_server(real_bot: Bot, tmp_path: Path) -> None:
    """`crmkb serve` in its own process, rated, then SIGKILLed: the rating is in the database."""
    data = tmp_path / "data"
    shutil.copytree(real_bot.settings.data_dir, data, ignore=shutil.ignore_patterns(FEEDBACK_DB + "*"))
    env = {"CRMKB_DATA_DIR": str(data), "CRMKB_KB_DIR": str(real_bot.settings.kb_dir)}
    with crmkb_serve(env, tmp_path / "serve.log") as served:
        answer = httpx.post(f"{served.url}/api/ask", json={"question": QUESTION}, timeout=30).json()
        rated = httpx.post(f"{served.url}/api/feedback", json={"answer_id": answer["id"], "rating": "up"})
        assert rated.status_code == 201
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(timeout=10)
    rows = FeedbackStore(data / FEEDBACK_DB).feedback()
    assert [(r.answer_id, r.rating) for r in rows] == [(answer["id"], "up")]
