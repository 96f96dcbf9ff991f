"""Hostile and careless input: JSON values Python accepts but JSON does not, a mode the server cannot
answer in, and settings written the way people write them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.service import Bot
from crmkb.settings import ServerSettings, Settings, get_settings
from crmkb.web.app import create_app
from ingest.pipeline import run_ingest
from tests.fakes import HashEmbeddings
from tests.support.uvicorn_server import serving

QUESTION = "CRM项目团队应该包括哪些人?"


class RecordingEmbeddings(HashEmbeddings):
    """The fake embedder, noting how long each question text it is given is."""

    def __init__(self) -> None:
        super().__init__()
        self.query_lengths: list[int] = []

    def embed_query(self, text: str) -> list[float]:
        self.query_lengths.append(len(text))
        return super().embed_query(text)


@pytest.fixture(scope="module")
def embedder() -> RecordingEmbeddings:
    return RecordingEmbeddings()


@pytest.fixture(scope="module")
def fake_url(tmp_path_factory: pytest.TempPathFactory, embedder: RecordingEmbeddings) -> Iterator[str]:
    """The real KB indexed with the fake embedder, served by uvicorn on loopback."""
    root = tmp_path_factory.mktemp("hostile")
    settings = get_settings(data_dir=root / "data", kb_dir=Path(__file__).parent.parent / "kb")
    settings = settings.model_copy(update={"server": ServerSettings(rate_limit=0)})
    run_ingest(settings, embeddings=HashEmbeddings())
    with serving(create_app(settings, bot=Bot(settings, embeddings=embedder))) as url:
        yield url


def post(url: str, path: str, raw: bytes) -> httpx.Response:
    return httpx.post(f"{url}{path}", content=raw, headers={"Content-Type": "application/json"}, timeout=30)


@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream", "/api/feedback", "/api/faq"])
@pytest.mark.parametrize(
    ("raw", "expect"),
    [
        (b'{"question": "\\ud800"}', "surrogate"),
        (b'{"question": "ok \\udfff ok", "answer_id": "x", "rating": "up", "questions": ["a"]}', "surrogate"),
        (b'{"question": "ok", "history": [NaN]}', "NaN"),
        (b'{"answer_id": "a", "rating": "up", "comment": "c", "extra": Infinity}', "Infinity"),
        (b'{"questions": ["a"], "n": -Infinity}', "Infinity"),
        (b'{"question": "\xff\xfe"}', "UTF-8"),
    ],
)
def test_json_python_accepts_but_json_does_not_is_422(
    fake_url: str, path: str, raw: bytes, expect: str
) -> None:
    response = post(fake_url, path, raw)
    assert response.status_code == 422, response.text
    assert expect in response.text


def test_keys_are_checked_for_surrogates_too(fake_url: str) -> None:
    assert post(fake_url, "/api/ask", b'{"question": "ok", "\\ud83d": 1}').status_code == 422


def test_valid_json_with_escapes_still_answers(fake_url: str) -> None:
    # A properly paired surrogate escape is a real character (here 😀) and must keep working.
    response = post(fake_url, "/api/ask", b'{"question": "CRM\\u9879\\u76ee\\ud83d\\ude00"}')
    assert response.status_code == 200, response.text


def test_llm_mode_on_the_stream_without_an_llm_is_422_before_streaming(fake_url: str) -> None:
    response = httpx.post(
        f"{fake_url}/api/ask/stream", json={"question": QUESTION, "mode": "llm"}, timeout=30
    )
    assert response.status_code == 422
    assert "CRMKB_LLM_BASE_URL" in response.json()["detail"]
    assert not response.headers["content-type"].startswith("text/event-stream")


@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
def test_a_question_that_normalising_blows_up_is_refused(fake_url: str, path: str) -> None:
    response = httpx.post(f"{fake_url}{path}", json={"question": "\ufdfa" * 2000}, timeout=30)
    assert response.status_code == 422
    assert "normalised" in response.json()["detail"][0]["msg"]


def test_what_one_question_feeds_the_embedder_is_bounded(
    fake_url: str, embedder: RecordingEmbeddings
) -> None:
    embedder.query_lengths.clear()
    near_limit = "CRM" + "\ufdfa" * 110  # 1,983 characters once normalised: allowed, the longest question
    history = ["为什么?" + "项目" * 998] * 8  # earlier questions at the length limit, within the body cap
    for payload in ({"question": near_limit}, {"question": "为什么?", "history": history},
                    {"question": near_limit, "history": history}):  # fmt: skip
        body = json.dumps(payload, ensure_ascii=False).encode()
        assert post(fake_url, "/api/ask", body).status_code == 200
    assert embedder.query_lengths and max(embedder.query_lengths) <= 2000


def crmkb_ask_with(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "crmkb"), "ask", "hi"],
        env={**os.environ, "CRMKB_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "60", **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"),
    [("CRMKB_SERVER_CORS_ORIGINS", "[https://a.example"), ("CRMKB_SERVER", "{not json")],
)
def test_a_setting_that_is_not_json_is_one_line_naming_it(tmp_path: Path, name: str, value: str) -> None:
    done = crmkb_ask_with({name: value}, tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid setting " + name), done.stderr


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        ("https://a.example,https://b.example", ["https://a.example", "https://b.example"]),
        (" https://a.example , ", ["https://a.example"]),
        ('["https://a.example"]', ["https://a.example"]),
        ("*", ["*"]),
    ],
)
def test_origins_are_read_as_people_write_them(
    monkeypatch: pytest.MonkeyPatch, value: str, expect: list[str]
) -> None:
    monkeypatch.setenv("CRMKB_SERVER_CORS_ORIGINS", value)
    settings: Settings = get_settings()
    assert settings.server.cors_origins == expect
