"""The trainer's files without the bot: what reader-facing exports show of a review, spreadsheets' encodings
and line endings read back, and the format a file name asks for."""

from __future__ import annotations

from crmkb.faq.entries import Entry
from crmkb.faq.formats import render

QUOTE = "典型的项目的预算成本中软件成本占三分之一。"


def _entry(number: int, question: str, status: str, answer: str, edited: str = "", check: str = "") -> Entry:
    citation = {"n": 1, "source": "a.txt", "title": "预算", "section": "成本", "kind": "best-practice",
                "quote": QUOTE, "start": 0, "end": len(QUOTE), "score": 0.9}  # fmt: skip
    return Entry(id=f"{number:05d}", question=question, status=status, answer=answer, citations=[citation],
                 source="a.txt", title="预算", section="成本", kind="best-practice", edited_answer=edited,
                 check=check)  # fmt: skip


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
