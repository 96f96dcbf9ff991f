"""The trainer's files without the bot: what reader-facing exports show of a review, spreadsheets' encodings
and line endings read back, and the format a file name asks for."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from crmkb.cli.app import app
from crmkb.faq.entries import Entry
from crmkb.faq.formats import render, write
from crmkb.faq.reviewed import read_reviewed
from tests.conftest import KB

QUOTE = "典型的项目的预算成本中软件成本占三分之一。"


def _entry(
    number: int, question: str, status: str, answer: str, edited: str = "", check: str = "", *,
    quote: str = QUOTE, title: str = "预算",
) -> Entry:  # fmt: skip
    citation = {"n": 1, "source": "a.txt", "title": title, "section": "", "kind": "best-practice",
                "quote": quote, "start": 0, "end": len(quote), "score": 0.9}  # fmt: skip
    return Entry(id=f"{number:05d}", question=question, status=status, answer=answer, citations=[citation],
                 source="a.txt", title=title, kind="best-practice", edited_answer=edited, check=check)  # fmt: skip


def _review() -> list[Entry]:
    """A supported edit, a flagged edit, a rejected entry and an untouched draft."""
    return [
        _entry(
            1, "软件成本占多少?", "approved", "软件成本占三分之一。[1]", "典型项目中软件成本占三分之一。[1]"
        ),
        _entry(
            2, "硬件成本占多少?", "approved", "原来的回答。[1]", "硬件成本占一半。[1]", "not supported by [1]"
        ),
        _entry(3, "被拒绝的问题?", "rejected", "被拒绝的回答。[1]"),
        _entry(4, "草稿问题?", "draft", "草稿回答。[1]"),
    ]


def test_reader_formats_show_the_bots_answer_for_a_flagged_edit_and_leave_rejected_out() -> None:
    for fmt in ("md", "html"):
        text = render(_review(), fmt)
        assert "典型项目中软件成本占三分之一。" in text and "草稿回答。" in text, fmt
        assert "硬件成本占一半" not in text and "原来的回答。" in text, fmt
        assert "被拒绝" not in text, fmt
    for fmt in ("csv", "json"):  # review files keep everything, so the review reads back
        text = render(_review(), fmt)
        assert "硬件成本占一半" in text and "被拒绝的问题" in text, fmt


def test_markdown_keeps_each_answer_line_apart() -> None:
    """A renderer joins the lines of one paragraph into one line; each answer line is a paragraph."""
    entry = _entry(1, "哪些步骤?", "draft", "步骤如下:\n1、先核对数据。[1]\n2、再培训用户。[1]")
    shown = MarkdownIt("commonmark").render(render([entry], "md"))
    paragraphs = re.findall(r"<p>(.*?)</p>", shown, re.DOTALL)
    assert "步骤如下:" in paragraphs and any(p.startswith("2、再培训用户。") for p in paragraphs)


def test_a_csv_with_crlf_inside_cells_reads_answers_with_lf(tmp_path: Path) -> None:
    entry = _entry(1, "哪些步骤?", "approved", "步骤如下:\n1、先核对数据。[1]", "步骤:\n先核对数据。[1]")
    text = render([entry], "csv").replace("\n", "\r\n")  # every line break CRLF, in cells too (git autocrlf)
    path = tmp_path / "reviewed.csv"
    path.write_bytes(text.encode("utf-8"))
    assert read_reviewed(path) == [entry]


def _traditional() -> list[Entry]:
    """A review in Traditional Chinese, every character in Big5."""
    where = {"quote": "先確認需求,再簽核變更。", "title": "專案範圍"}
    return [
        _entry(
            1,
            "如何預防專案範圍擴散?",
            "approved",
            "先確認需求,再簽核變更。[1]\n變更要經過委員會。[1]",
            "需求確認後才簽核變更。[1]",
            **where,
        ),
        _entry(2, "專案團隊應該包括哪些人?", "draft", "管理高層、業務代表與技術人員。[1]", **where),
    ]


def _as_spreadsheet_saves(entries: list[Entry], encoding: str) -> bytes:
    """The export opened and saved again as Excel and WPS save CSV: every cell read as text, rows ended
    with CRLF, cells quoted only when they must be (line breaks inside a cell stay LF), in ``encoding``:
    "utf-8-sig" for "CSV UTF-8", the ANSI code page of Chinese Windows (gb18030, big5) for plain "CSV"."""
    rows = list(csv.reader(io.StringIO(render(entries, "csv").removeprefix("\ufeff"), newline="")))
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def test_csv_export_starts_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    write(_review(), "csv", path)
    assert path.read_bytes().startswith(codecs.BOM_UTF8)
    assert render(_review(), "csv").startswith("\ufeff")  # the /faq page's download too


@pytest.mark.parametrize(
    ("entries", "encoding"),
    [
        (_review, "utf-8-sig"),
        (_review, "utf-8"),
        (_review, "gb18030"),
        (_traditional, "big5"),
        (_traditional, "utf-8-sig"),
    ],
    ids=["excel-csv-utf8-bom", "plain-utf8", "wps-gb18030", "excel-big5", "traditional-utf8-bom"],
)
def test_reviews_saved_by_spreadsheets_read_back(
    tmp_path: Path, entries: Callable[[], list[Entry]], encoding: str
) -> None:
    path = tmp_path / "reviewed.csv"
    path.write_bytes(_as_spreadsheet_saves(entries(), encoding))
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(codecs.BOM_UTF8) and b"\r\n" in path.read_bytes()
    assert read_reviewed(path) == entries()


def _faq(tmp_path: Path, *args: str) -> tuple[int, str]:
    """``crmkb faq …`` in-process; the exit code and stderr (a traceback fails the test)."""
    env = {"CRMKB_DATA_DIR": str(tmp_path / "data"), "CRMKB_KB_DIR": str(KB), "COLUMNS": "1000"}
    result = CliRunner().invoke(app, ["faq", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


def _build_from_review(tmp_path: Path, name: str, fmt: str | None) -> tuple[int, str, Path]:
    """``faq build --from review.json --out NAME [--format FMT]``: the exit code, stderr and the out path."""
    review, out = tmp_path / "review.json", tmp_path / name
    write(_review(), "json", review)
    code, stderr = _faq(
        tmp_path, "build", "--from", str(review), "--out", str(out), *(["--format", fmt] if fmt else [])
    )
    return code, stderr, out


@pytest.mark.parametrize(
    ("name", "fmt", "start"),
    [
        ("faq.html", None, "<!doctype html>"),
        ("FAQ.HTM", None, "<!doctype html>"),
        ("faq.md", None, "# CRM 实施 FAQ"),
        ("faq.markdown", None, "# CRM 实施 FAQ"),
        ("faq.csv", None, "\ufeffid,status,"),
        ("faq.json", None, '[\n  {"id": '),
        ("faq.html", "html", "<!doctype html>"),  # agreeing is fine
        ("faq.txt", "md", "# CRM 实施 FAQ"),  # a name that says nothing takes --format
    ],
)
def test_the_out_files_extension_names_the_format(
    tmp_path: Path, name: str, fmt: str | None, start: str
) -> None:
    code, stderr, out = _build_from_review(tmp_path, name, fmt)
    assert code == 0, stderr
    assert out.read_text(encoding="utf-8").startswith(start)


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        (
            "faq.html",
            "md",
            "--format md contradicts --out {out}, whose extension says html; drop one of them",
        ),
        ("faq.csv", "json", "--format json contradicts --out {out}, whose extension says csv"),
        (
            "faq.txt",
            None,
            "{out}: cannot tell the format from its name; end it in .md, .markdown, .html, .htm, .csv, .json, or give --format",
        ),
        ("faq", None, "cannot tell the format from its name"),
        ("faq.pdf", "pdf", "unknown format 'pdf': use one of md, html, csv, json"),
    ],
)
def test_a_format_the_name_contradicts_or_does_not_say_is_refused(
    tmp_path: Path, name: str, fmt: str | None, message: str
) -> None:
    code, stderr, out = _build_from_review(tmp_path, name, fmt)
    assert code == 1 and stderr.count("\n") == 1 and message.format(out=out) in stderr, stderr
    assert [p.name for p in tmp_path.iterdir()] == ["review.json"]  # nothing written, nothing loaded


@pytest.mark.parametrize(
    "line", ["# 不要节省训练。", "- 向供应商索要材料。", "1. 先核对数据。", "2) 再培训用户。", "+ 配置专家。"]
)
def test_an_answer_line_that_opens_like_markdown_stays_a_paragraph(line: str) -> None:
    entry = _entry(1, "有哪些原则?", "draft", f"原则如下:\n{line}[1]")
    shown = MarkdownIt("commonmark").render(render([entry], "md"))
    assert not re.search(r"<(h[1-6]|ul|ol|li|hr)\b", shown.split("<h3>", 1)[1]), shown
    assert line in re.sub(r"<[^>]+>", "", shown)  # shown as written
