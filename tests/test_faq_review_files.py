"""The trainer's files without the bot: what reader-facing exports show of a review, spreadsheets' encodings
and line endings read back, and the format a file name asks for."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

from crmkb.faq.entries import Entry
from crmkb.faq.formats import render
from crmkb.faq.reviewed import read_reviewed

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
