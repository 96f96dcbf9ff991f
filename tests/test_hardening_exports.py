"""Hardened exports and reviewed files: durable, readable writes; spreadsheet formulas, HTML and links
neutralised in every format; malformed reviewed files refused in one line; the trainer page with an API key."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from markdown_it import MarkdownIt
from playwright.sync_api import expect, sync_playwright
from pydantic import SecretStr
from typer.testing import CliRunner

from crmkb.bot.service import Bot
from crmkb.cli.app import app
from crmkb.core.files import write_atomically
from crmkb.core.settings import ServerSettings
from crmkb.faq.entries import Entry
from crmkb.faq.formats import render, write
from crmkb.faq.reviewed import COLUMNS, read_reviewed
from crmkb.web.app import create_app
from crmkb.web.loopback import serving
from tests.conftest import KB

runner = CliRunner()


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_written_files_are_0644_and_private_ones_0600(tmp_path: Path, umask_022: None) -> None:
    public, private = tmp_path / "faq.csv", tmp_path / "secret.json"
    write_atomically(public, lambda handle: handle.write("x"))
    write_atomically(private, lambda handle: handle.write("x"), private=True)
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    write_atomically(public, lambda handle: handle.write("y"))
    assert stat.S_IMODE(public.stat().st_mode) == 0o644 and public.read_text() == "y"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faq.csv", "secret.json"]


def test_file_and_folder_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording stand-in for os.fsync: the new file's bytes before the rename, the folder after it."""
    target = tmp_path / "faq.md"
    target.write_text("old", encoding="utf-8")
    synced: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            assert info.st_ino == tmp_path.stat().st_ino
            synced.append(("folder", target.read_text(encoding="utf-8")))
        else:
            assert info.st_size == len("new")  # everything written and flushed first
            synced.append(("file", target.read_text(encoding="utf-8")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_atomically(target, lambda handle: handle.write("new"))
    assert synced == [("file", "old"), ("folder", "new")]


def _hostile() -> list[Entry]:
    """Entries whose every field is an attack: formulas for spreadsheets, markup and script links."""
    quote = (
        '-quote [x](javascript:alert(2)) ![i](data:text/html;base64,PHNjcmlwdD4=) <a href="vbscript:msgbox(1)">v</a>'
        " `<b>code</b>` ~~~"
    )
    citation = {"n": 1, "source": "a.txt", "title": "=cmd|' /C calc'!A0", "section": "\r=1+1", "kind": "best-practice",
                "quote": quote, "start": 0, "end": len(quote), "score": 0.9}  # fmt: skip
    covered = Entry(
        id="00001", question=QUESTION, status="draft",
        answer="@SUM(A1:A9) <script>alert(1)</script> [click](javascript:alert(1)) 见[1]。\n<img src=x onerror=alert(3)>",
        citations=[citation], source="a.txt", title="\tTAB <b>title</b>", section="+section", kind="best-practice",
        also_asked=["+1 <img src=x onerror=alert(4)>", "'-already quoted", "[a]: javascript:alert(5)"], order=7,
    )  # fmt: skip
    gap = Entry(
        id="00002",
        question="-1 <script>alert(6)</script>",
        status="not-covered",
        answer="'=抱歉",
        citations=[],
    )
    return [covered, gap]


QUESTION = '=HYPERLINK("http://evil.example","点我") <script>alert(1)</script>'


def test_csv_cells_a_spreadsheet_would_run_are_quoted_and_read_back_exactly(tmp_path: Path) -> None:
    entries = _hostile()
    path = tmp_path / "faq.csv"
    write(entries, "csv", path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert len(rows) == 3
    for cell in (cell for row in rows for cell in row):
        assert not cell or cell[0] not in "=+-@\t\r", cell
    assert rows[1][COLUMNS.index("question")] == "'" + QUESTION
    assert rows[1][COLUMNS.index("also_asked")].startswith("[")  # JSON lists are never touched
    assert render(entries, "csv") == path.read_text(encoding="utf-8")  # POST /api/faq renders the same
    assert read_reviewed(path) == entries  # the quote is taken off again, and only that
    again = tmp_path / "again.csv"
    write(read_reviewed(path), "csv", again)
    assert again.read_bytes() == path.read_bytes()
    write(entries, "json", path.with_suffix(".json"))  # JSON needs no quoting, and reads back exactly too
    assert read_reviewed(path.with_suffix(".json")) == entries


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _outline(markup: str) -> _Outline:
    outline = _Outline()
    outline.feed(markup)
    return outline


def test_markdown_shows_kb_text_and_questions_as_text(tmp_path: Path) -> None:
    text = render(_hostile(), "md")
    assert not re.search(r"(?i)(javascript|vbscript|data):\S", text)
    shown = _outline(MarkdownIt("commonmark").render(text))
    assert {tag for tag, _ in shown.tags} <= {"h1", "h2", "h3", "p", "em"}, (
        shown.tags
    )  # no a, img, script, code
    visible = "".join(shown.text)
    for plain in (QUESTION, "<script>alert(1)</script>", "<img src=x onerror=alert(3)>", "[click](javascript:alert(1))",
                  "<a href=\"vbscript:msgbox(1)\">v</a>", "`<b>code</b>`", "[a]: javascript:alert(5)"):  # fmt: skip
        assert plain in visible, plain
    assert "[^00001-1]" in text and "\n[^00001-1]: " in text  # the answer's own footnotes still work


def test_html_export_carries_no_markup_from_a_reviewed_file(tmp_path: Path) -> None:
    rows = json.loads(render(_hostile(), "json"))
    rows[0]["citations"][0]["n"] = '1"><script>alert(7)</script>'
    reviewed, out = tmp_path / "reviewed.json", tmp_path / "faq.html"
    reviewed.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    code, stderr = crmkb(
        tmp_path, "faq", "build", "--from", str(reviewed), "--format", "html", "--out", str(out)
    )
    assert code == 1 and "entry 1, field 'citations', citation 1, 'n': expected a whole number" in stderr
    assert not out.exists()
    rows[0]["citations"][0]["n"] = 1
    reviewed.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    code, stderr = crmkb(
        tmp_path, "faq", "build", "--from", str(reviewed), "--format", "html", "--out", str(out)
    )
    assert code == 0, stderr
    shown = _outline(out.read_text(encoding="utf-8"))
    tags = {tag for tag, _ in shown.tags}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "section", "h2", "p", "div", "h3", "sup",
                    "a", "ol", "li"}, tags  # fmt: skip
    assert all(not name.startswith("on") for _, attrs in shown.tags for name in attrs)
    assert all(attrs["href"].startswith("#") for tag, attrs in shown.tags if tag == "a")
    assert QUESTION in "".join(shown.text) and "<script>alert(1)</script>" in "".join(shown.text)


def crmkb(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run the CLI in-process; returns the exit code and stderr (a traceback counts as a failure here)."""
    env = {"CRMKB_DATA_DIR": str(tmp_path / "data"), "CRMKB_KB_DIR": str(KB), "COLUMNS": "1000"}
    result = runner.invoke(app, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


def _csv_text(edit: Callable[[list[dict[str, str]]], object] = lambda rows: None) -> str:
    rows = list(csv.DictReader(io.StringIO(render(_hostile(), "csv"), newline="")))
    edit(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _json_text(edit: Callable[[list[dict[str, Any]]], object]) -> str:
    rows = json.loads(render(_hostile(), "json"))
    edit(rows)
    return json.dumps(rows, ensure_ascii=False)


def _set(path: str, value: object) -> Callable[[list[Any]], None]:
    """An edit that sets rows[0][a][b]… (a path like "citations.0.n") to ``value``."""

    def edit(rows: list[Any]) -> None:
        *parents, last = path.split(".")
        target: Any = rows[0]
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return edit


def _drop(column: str) -> Callable[[list[dict[str, str]]], object]:
    return lambda rows: [row.pop(column) for row in rows]


MALFORMED: list[tuple[str, str | bytes, str]] = [
    ("missing-column.csv", _csv_text(_drop("status")), "row 1 (the header): no column 'status'"),
    (
        "missing-field.json",
        _json_text(lambda rows: rows[1].pop("citations")),
        "entry 2, field 'citations' is missing",
    ),
    (
        "wrong-type.json",
        _json_text(_set("question", 5)),
        "entry 1, field 'question': expected text, found a number",
    ),
    (
        "list-as-text.json",
        _json_text(_set("also_asked", "[]")),
        "field 'also_asked': expected a list, found text",
    ),
    ("not-a-list.json", '{"entries": []}', "expected a JSON list of entries, found an object"),
    ("not-an-object.json", "[1]", "entry 1: expected an object, found a number"),
    (
        "bad-status.csv",
        _csv_text(_set("status", "aproved")),
        "row 2, field 'status': 'aproved' is not one of",
    ),
    ("bad-status.json", _json_text(_set("status", None)), "field 'status': expected text, found null"),
    (
        "text-n.json",
        _json_text(_set("citations.0.n", "1")),
        "citation 1, 'n': expected a whole number, found text '1'",
    ),
    ("decimal-n.csv", _csv_text(_set("citations", '[{"n": 1.5}]')), "citation 1: 'source' is missing"),
    ("zero-n.json", _json_text(_set("citations.0.n", 0)), "citation 1, 'n': 0 is out of range"),
    (
        "bool-n.json",
        _json_text(_set("citations.0.n", True)),
        "'n': expected a whole number, found true/false",
    ),
    ("nan-score.json", _json_text(_set("citations.0.score", float("nan"))), "'score': expected a number"),
    ("bad-citations.csv", _csv_text(_set("citations", "[{")), "row 2, field 'citations': not a JSON list"),
    ("bad-order.csv", _csv_text(_set("order", "seven")), "row 2, field 'order': expected a whole number"),
    ("bad-id.json", _json_text(_set("id", '"><b>')), "field 'id': '\"><b>' is not an id"),
    ("repeated-id.json", _json_text(_set("id", "00002")), "entry 2, field 'id': '00002' is repeated"),
    ("long-question.json", _json_text(_set("question", "问" * 5000)), "5000 characters long; at most 2000"),
    ("empty-question.csv", _csv_text(_set("question", " ")), "row 2, field 'question' is empty"),
    (
        "short-row.csv",
        "id,status\n" + _csv_text().split("\n", 1)[1],
        "row 1 (the header): no column 'question'",
    ),
    (
        "extra-cells.csv",
        _csv_text().replace(",7\n", ",7,x\n"),
        "row 2: more cells than the header has columns",
    ),
    ("truncated.json", _json_text(lambda rows: None)[:300], "not valid JSON (line 1, column"),
    ("nested.json", "[" * 100_000, "nested too deeply"),
    ("empty.json", "", "not valid JSON"),
    ("empty.csv", "", "no entries"),
    ("header-only.csv", ",".join(COLUMNS) + "\n", "no entries"),
    ("empty-list.json", "[]", "no entries"),
    (
        "binary.csv",
        bytes(range(256)) * 4,
        "not text in any encoding tried (UTF-8 with or without BOM, GB18030, Big5)",
    ),
    ("utf16.csv", _csv_text().encode("utf-16"), 'UTF-16 text ("Unicode Text"); save it as "CSV UTF-8"'),
    (
        "huge-cell.csv",
        _csv_text(_set("answer", "答" * 200_000)),
        "row 2: not CSV (field larger than field limit",
    ),
    ("nul.csv", _csv_text().replace("draft", "dr\0aft"), "row 2, field 'status': holds a NUL"),
    ("notes.txt", "id,status\n", "a reviewed file is .csv or .json"),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
@pytest.mark.parametrize("command", ["build", "publish", "unpublish"])
def test_malformed_reviewed_file_is_one_line_naming_file_row_and_field(
    tmp_path: Path, command: str, name: str, content: str | bytes, message: str
) -> None:
    reviewed = tmp_path / name
    if isinstance(content, bytes):
        reviewed.write_bytes(content)
    else:
        reviewed.write_text(content, encoding="utf-8", newline="")
    out = tmp_path / "faq.html"
    args = (
        ["build", "--from", str(reviewed), "--format", "html", "--out", str(out)]
        if command == "build"
        else [command, str(reviewed)]
    )
    code, stderr = crmkb(tmp_path, "faq", *args)
    assert code == 1
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {reviewed}: ") and message in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no output, no published set, no data folder


def test_missing_reviewed_file_is_one_line(tmp_path: Path) -> None:
    code, stderr = crmkb(tmp_path, "faq", "publish", str(tmp_path / "gone.csv"))
    assert code == 1 and stderr == f"error: {tmp_path / 'gone.csv'}: No such file or directory\n"


SECRET = "trainer-key-3f9a0c"
ARTIFACTS = Path(__file__).resolve().parent.parent / ".data" / "test-artifacts" / "widget"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def keyed_url(real_bot: Bot) -> Iterator[str]:
    """A real uvicorn serving the real bot with CRMKB_SERVER_API_KEY set."""
    server = ServerSettings(rate_limit=0, api_key=SecretStr(SECRET))
    with serving(create_app(real_bot.settings.model_copy(update={"server": server}), bot=real_bot)) as url:
        yield url


@pytest.mark.slow
def test_api_faq_csv_is_neutralised(keyed_url: str) -> None:
    body = {"questions": ["=1+1 项目预算中软件成本占多少?"], "format": "csv"}
    assert httpx.post(f"{keyed_url}/api/faq", json=body, timeout=60).status_code == 401
    response = httpx.post(f"{keyed_url}/api/faq", json=body, headers={"X-API-Key": SECRET}, timeout=60)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.json()["content"], newline="")))
    assert rows[0]["question"] == "'=1+1 项目预算中软件成本占多少?"


@pytest.mark.slow
def test_faq_page_asks_for_the_api_key_and_keeps_it_for_the_tab(keyed_url: str) -> None:
    assert SECRET not in httpx.get(f"{keyed_url}/faq").text  # the page never carries the secret
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (make test installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        sent: list[str | None] = []
        context.on(
            "request",
            lambda r: sent.append(r.headers.get("x-api-key")) if r.url.endswith("/api/faq") else None,
        )
        page = context.new_page()
        hint, status, key = (
            page.get_by_test_id("faq-key-hint"),
            page.locator("#status"),
            page.get_by_test_id("faq-key"),
        )

        def build() -> None:
            page.get_by_test_id("faq-questions").fill("项目预算中软件成本占多少?")
            page.get_by_test_id("faq-build").click()

        page.goto(f"{keyed_url}/faq")
        expect(page.get_by_test_id("faq-keyform")).to_be_hidden()
        build()
        expect(key).to_be_visible()
        expect(key).to_be_focused()
        expect(hint).to_contain_text("needs an API key")
        key.fill("not-the-key")
        page.get_by_test_id("faq-key-use").click()
        expect(hint).to_contain_text("wrong")
        expect(status).to_contain_text("Wrong API key")
        page.screenshot(path=str(ARTIFACTS / "faq-wrong-key.png"), full_page=True)
        key.fill(SECRET)
        key.press("Enter")
        results = page.get_by_test_id("faq-results")
        expect(results).to_contain_text("三分之一", timeout=30_000)
        expect(page.get_by_test_id("faq-keyform")).to_be_hidden()
        assert page.evaluate("sessionStorage.getItem('crmkb-api-key')") == SECRET
        page.reload()  # the same tab keeps the key
        build()
        expect(results).to_contain_text("三分之一", timeout=30_000)
        expect(page.get_by_test_id("faq-keyform")).to_be_hidden()
        other = context.new_page()  # another tab asks again
        other.goto(f"{keyed_url}/faq")
        other.get_by_test_id("faq-questions").fill("项目预算中软件成本占多少?")
        other.get_by_test_id("faq-build").click()
        expect(other.get_by_test_id("faq-key")).to_be_visible()
        assert sent == [None, "not-the-key", SECRET, SECRET, None]
        browser.close()
