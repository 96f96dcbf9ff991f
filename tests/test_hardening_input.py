"""Hostile and careless input: JSON values Python accepts but JSON does not, a mode the server cannot
answer in, questions that cost more than they look, settings written the way people write them, and
files in kb/ that unpack to gigabytes or link out of it."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from playwright.sync_api import Route, expect, sync_playwright

from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings, Settings, get_settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from crmkb.web.app import create_app
from crmkb.web.loopback import serving
from tests.support.index import chunks_of

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
        (
            b'{"question": "ok", "answer_id": "a", "rating": "up", "questions": ["a"], "n": 1e999}',
            "out of range",
        ),
        (b"[" * 100_00 + b"]" * 100_00, "nested too deeply"),
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


def test_a_long_question_is_segmented_by_the_dictionary_alone() -> None:
    """jieba's HMM would spend seconds inventing words from 2,000 rare characters; the dictionary does not.
    Shown by what it yields: the HMM joins unknown characters into made-up words, the dictionary does not."""
    from crmkb.bot.evidence import analyse
    from crmkb.bot.glossary import Glossary

    glossary = Glossary.load(Path(__file__).parent.parent / "kb")
    rare = "".join(chr(0x4E00 + (i * 7919) % 20900) for i in range(1990))
    long_terms = analyse(rare, "zh-Hans", glossary).terms
    short_terms = analyse(rare[:200], "zh-Hans", glossary).terms  # a question's length: HMM on
    made_up = [t for t in short_terms if len(t) >= 2 and t in rare]
    assert made_up  # the HMM's inventions on a short text
    assert not [t for t in long_terms if t in made_up]
    normal = analyse("CRM项目失败后第一步应该做什么?", "zh-Hans", glossary).terms
    assert "失败" in normal


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


def docx_with_document(path: Path, write_body: Callable[[IO[bytes]], None]) -> Path:
    """A DOCX whose main part is written by ``write_body`` (streamed, so a huge part costs no memory)."""
    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                with out.open(item.filename, "w", force_zip64=True) as part:
                    write_body(part)
            else:
                out.writestr(item, source.read(item.filename))
    return path


def test_a_docx_bomb_is_skipped_with_a_reason_and_the_rest_ingests(settings: Settings) -> None:
    zeros = bytes(1 << 20)

    def one_gigabyte(part: IO[bytes]) -> None:
        part.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/')
        for _ in range(1024):
            part.write(zeros)

    bomb = docx_with_document(settings.kb_dir / "bomb.docx", one_gigabyte)
    assert bomb.stat().st_size < 2 * 2**20  # about 1 MB on disk
    report = run_ingest(settings, embeddings=HashEmbeddings())
    reasons = {s.file: s.reason for s in report.skipped}
    assert reasons["bomb.docx"].startswith("unpacks to") and "zip bomb" in reasons["bomb.docx"]
    assert report.documents == 5 and report.published


def test_unpacked_and_text_limits_come_from_settings(settings: Settings) -> None:
    def twenty_megabytes_of_text(part: IO[bytes]) -> None:
        part.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                   b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')  # fmt: skip
        part.write("项目".encode() * (20 * 2**20 // 6))
        part.write(b"</w:t></w:r></w:p></w:body></w:document>")

    docx_with_document(settings.kb_dir / "big.docx", twenty_megabytes_of_text)
    (settings.kb_dir / "long.txt").write_text("CRM项目。" * 400, encoding="utf-8")
    limits = settings.ingest.model_copy(update={"max_unpacked_mb": 5, "max_text_chars": 1000})
    report = run_ingest(settings.model_copy(update={"ingest": limits}), embeddings=HashEmbeddings())
    reasons = {s.file: s.reason for s in report.skipped}
    assert "unpacks to" in reasons["big.docx"]
    assert reasons["long.txt"].startswith("too much text")
    assert all(len(reason) < 160 and "\n" not in reason for reason in reasons.values())


def test_links_out_of_the_kb_folder_are_refused_unless_allowed(settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("内部备忘\n数据库密码是hunter2。客户名单在共享盘。\n", encoding="utf-8")
    (settings.kb_dir / "passwd.txt").symlink_to("/etc/passwd")
    (settings.kb_dir / "secret.txt").symlink_to(outside)
    (settings.kb_dir / "alias.txt").symlink_to(settings.kb_dir / "000_ea5525b80525cb07.txt")  # stays inside

    report = run_ingest(settings, embeddings=HashEmbeddings())
    reasons = {s.file: s.reason for s in report.skipped}
    assert reasons["passwd.txt"].startswith("links outside") and "/etc/passwd" in reasons["passwd.txt"]
    assert reasons["secret.txt"].startswith("links outside")
    assert "alias.txt" not in reasons and report.documents == 6
    named = run_ingest(settings, [settings.kb_dir / "secret.txt"], embeddings=HashEmbeddings())
    assert [s.file for s in named.skipped] == ["secret.txt"]
    sources = {c.source for c in chunks_of(settings)}
    assert not {"passwd.txt", "secret.txt"} & sources

    allowed = settings.ingest.model_copy(update={"follow_links_out": True})
    report = run_ingest(settings.model_copy(update={"ingest": allowed}), embeddings=HashEmbeddings())
    assert not report.skipped
    assert "secret.txt" in {c.source for c in chunks_of(settings)}


def test_api_docs_render_with_no_network_beyond_loopback(fake_url: str) -> None:
    """/docs loads Swagger UI from this server, and shows the operations, with every other host blocked."""

    html = httpx.get(f"{fake_url}/docs").text
    assets = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert httpx.get(f"{fake_url}{asset}").status_code == 200

    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if route.request.url.startswith(fake_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", only_loopback)
            page.goto(f"{fake_url}/docs")
            expect(page.locator(".opblock-summary-path", has_text="/api/ask/stream")).to_be_visible(
                timeout=20_000
            )
            expect(page.locator(".opblock-summary-path", has_text="/api/feedback")).to_be_visible()
        finally:
            browser.close()
    assert outside == []
