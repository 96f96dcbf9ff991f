"""FAQ files: Markdown and standalone HTML for reading and printing; CSV and JSON for review.

Markdown and HTML are for readers: they leave out ``rejected`` entries and never show a flagged edit (see
``Entry.reader_answer``). CSV and JSON are the trainer's review files: every entry, edit, status and check,
so a review reads back exactly.

Every writer takes entries already in FAQ order and writes them as they come. Output depends only on the
entries (no dates, no ids of runs), so the same inputs give byte-identical files that review well in git.
Files are written to a temporary file beside the target and renamed, so a failure leaves nothing half-written.

Entry text (questions, KB quotes, trainers' edits) is data, never markup: HTML escapes it; Markdown escapes
what would make HTML, links, images or code of it, and the mark of an answer line that opens like a heading
or list item, and breaks script-like link targets; CSV neutralises
cells a spreadsheet would run as formulas (``reviewed.neutralise``) and starts with a UTF-8 byte-order mark.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, get_args

from crmkb.bot.prompts import CITATION
from crmkb.core.files import write_atomically
from crmkb.faq.entries import REJECTED, Entry
from crmkb.faq.reviewed import COLUMNS, neutralise
from crmkb.ingest.catalog import Kind, kind_label, place_label

FORMATS = ("md", "html", "csv", "json")
READER_FORMATS = ("md", "html")
EXTENSIONS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".csv": "csv", ".json": "json"}
KIND = {kind: f"{kind_label(kind, 'zh-Hans')} · {kind_label(kind, 'en').lower()}" for kind in get_args(Kind)}
NOT_COVERED_TITLE = "知识库未覆盖的问题 · Not covered by the knowledge base"
# In Markdown: HTML, links and images ([ ]), code (` ~) and the escapes themselves; shown as text.
MD_SPECIAL = {"\\": "\\\\", "[": "\\[", "]": "\\]", "`": "\\`", "~": "\\~",
              "<": "&lt;", ">": "&gt;", "&": "&amp;"}  # fmt: skip
MD_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in MD_SPECIAL))
# What opens a block when a line starts with it: a heading (#), a list item (-, +, *, "1." or "1)"), a rule
# (=, _); the mark is escaped.
MD_BLOCK_START = re.compile(r"^(\s*\d{0,9})([#+*=_.)-])")
# A script-running URL scheme, in case a renderer turns bare URLs into links.
MD_SCHEME = re.compile(r"(?i)(javascript|vbscript|data):(?=\S)")


def write(entries: Iterable[Entry], fmt: str, out: Path) -> None:
    writer = WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    write_atomically(out, lambda handle: writer(entries, handle))


def format_of(path: Path) -> str | None:
    """The format a file name asks for by its extension (any case), if it is one of ours."""
    return EXTENSIONS.get(path.suffix.lower())


def render(entries: Iterable[Entry], fmt: str) -> str:
    """The file ``write`` would write, as a string (for the web page's downloads)."""
    buffer = io.StringIO(newline="")
    WRITERS[fmt](entries, buffer)
    return buffer.getvalue()


def topics(entries: Iterable[Entry]) -> Iterator[tuple[str, list[Entry]]]:
    """Consecutive entries of one topic, with the topic's heading."""
    group: list[Entry] = []
    heading = ""
    for entry in entries:
        this = topic_heading(entry)
        if group and this != heading:
            yield heading, group
            group = []
        heading = this
        group.append(entry)
    if group:
        yield heading, group


def for_readers(entries: Iterable[Entry]) -> Iterator[Entry]:
    """The entries a reader-facing file shows: all but the rejected."""
    return (entry for entry in entries if entry.status != REJECTED)


def topic_heading(entry: Entry) -> str:
    """The topic an entry is filed under, as files and the trainer page show it."""
    return place_label(entry.title, entry.section) if entry.covered else NOT_COVERED_TITLE


def _markdown(entries: Iterable[Entry], out: IO[str]) -> None:
    out.write("# CRM 实施 FAQ\n")
    for heading, group in topics(for_readers(entries)):
        out.write(f"\n## {_md_line(heading)}\n")
        if group[0].covered:
            out.write(f"\n_{_md_line(KIND.get(group[0].kind, group[0].kind))}_\n")
        for entry in group:
            out.write(f"\n### {_md_line(entry.question)}\n\n")
            if entry.also_asked:
                out.write("Also asked: " + "; ".join(_md_line(q) for q in entry.also_asked) + "\n\n")
            if not entry.covered:
                continue
            # A paragraph per line, as in HTML: a renderer joins lines of one paragraph into one line.
            lines = [line.strip() for line in entry.reader_answer.splitlines() if line.strip()]
            out.write("\n\n".join(_md_answer_line(entry.id, line) for line in lines) + "\n\n")
            for c in entry.citations:
                where = _md_line(place_label(c["title"], c["section"]))
                out.write(f"[^{entry.id}-{int(c['n'])}]: {where} — “{_md_line(c['quote'])}”\n")


def _md_answer_line(entry_id: str, line: str) -> str:
    parts = CITATION.split(line)  # text, n, text, n, …
    shown = "".join(_md(p) if i % 2 == 0 else f"[^{entry_id}-{p}]" for i, p in enumerate(parts))
    # A line is a paragraph: one opening as a heading, list item or rule would be read as that block.
    return MD_BLOCK_START.sub(lambda m: m[1] + "\\" + m[2], shown, count=1)


def _md(text: str) -> str:
    """Text a Markdown renderer shows as it is: no HTML, link, image or code can come of it."""
    return MD_SCHEME.sub(r"\1&#58;", MD_SPECIAL_RE.sub(lambda m: MD_SPECIAL[m[0]], text))


def _md_line(text: str) -> str:
    """``_md`` on one line: a line break in a heading would start a block of its own."""
    return _md(" ".join(text.split()))


def _html(entries: Iterable[Entry], out: IO[str]) -> None:
    e = html.escape
    out.write(
        '<!doctype html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n<title>CRM 实施 FAQ</title>\n'
        '<style>\nbody{font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;'
        "max-width:820px;margin:2rem auto;padding:0 1rem;color:#1c2433;line-height:1.65}\n"
        "h1{font-size:1.8rem}h2{border-bottom:2px solid #2f5bd3;padding-bottom:.2rem;margin-top:2.2rem;font-size:1.3rem}"
        "h3{font-size:1.05rem;margin:1.4rem 0 .3rem}.kind{color:#5d6778;font-size:.85rem}"
        ".also{color:#5d6778;font-size:.9rem}.notes{font-size:.85rem;color:#39414f;border-left:3px solid #e3e7ee;"
        "padding-left:.8rem}.notes li{margin:.2rem 0}sup a{text-decoration:none;color:#2f5bd3}"
        "@media print{body{margin:0;max-width:none}h2{break-after:avoid}.entry{break-inside:avoid}a{color:inherit}}\n"
        "</style>\n</head>\n<body>\n<h1>CRM 实施 FAQ</h1>\n"
    )
    for heading, group in topics(for_readers(entries)):
        out.write(f"<section>\n<h2>{e(heading)}</h2>\n")
        if group[0].covered:
            out.write(f'<p class="kind">{e(KIND.get(group[0].kind, group[0].kind))}</p>\n')
        for entry in group:
            out.write(f'<div class="entry" id="q{e(entry.id)}">\n<h3>{e(entry.question)}</h3>\n')
            if entry.also_asked:
                out.write(f'<p class="also">Also asked: {e("; ".join(entry.also_asked))}</p>\n')
            if entry.covered:
                out.write(_html_answer(entry))
            out.write("</div>\n")
        out.write("</section>\n")
    out.write("</body>\n</html>\n")


def _html_answer(entry: Entry) -> str:
    e = html.escape
    lines = []
    for line in entry.reader_answer.splitlines():
        if not line.strip():
            continue
        parts = CITATION.split(line)  # text, n, text, n, …
        rendered = "".join(
            e(part) if i % 2 == 0 else f'<sup><a href="#n{e(entry.id)}-{part}">[{part}]</a></sup>'
            for i, part in enumerate(parts)
        )
        lines.append(f"<p>{rendered}</p>")
    notes = "".join(
        f'<li id="n{e(entry.id)}-{int(c["n"])}">[{int(c["n"])}] {e(place_label(c["title"], c["section"]))}'
        f" — “{e(' '.join(c['quote'].split()))}”</li>"
        for c in entry.citations
    )
    return "\n".join(lines) + f'\n<ol class="notes">{notes}</ol>\n'


def _csv(entries: Iterable[Entry], out: IO[str]) -> None:
    # A byte-order mark: without one, Excel reads a CSV in the machine's ANSI code page and garbles Chinese.
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow({name: neutralise(cell) for name, cell in entry.row().items()})


def _json(entries: Iterable[Entry], out: IO[str]) -> None:
    out.write("[")
    for i, entry in enumerate(entries):
        row: dict[str, object] = {k: v for k, v in entry.row().items() if k in COLUMNS}
        row.update(also_asked=entry.also_asked, citations=entry.citations, order=entry.order)
        out.write(("," if i else "") + "\n  " + json.dumps({k: row[k] for k in COLUMNS}, ensure_ascii=False))
    out.write("\n]\n")


WRITERS: dict[str, Callable[[Iterable[Entry], IO[str]], None]] = {
    "md": _markdown, "html": _html, "csv": _csv, "json": _json,
}  # fmt: skip
