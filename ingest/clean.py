"""Clean one document: normalise it, drop furniture, residue and mojibake, tidy lines, and keep the map
from every cleaned character back to the loaded original.

The result is what the index, the chunks and every citation's offsets refer to.

Text extracted from a PDF carries the page layout's line breaks: a sentence wraps wherever the column
ends. Those breaks are joined (``wrapped=True``), so a quote is the whole sentence; a break in a .txt or
.md file is the author's and is kept.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from crmkb.ingest import boilerplate
from crmkb.ingest.normalise import PINYIN_ANNOTATION, normalise_tracked
from crmkb.ingest.residue import has_language, mojibake_spans, residue_spans
from crmkb.ingest.tracked import Tracked

_MARKDOWN_MARKS = re.compile(r"(?m)^#{1,6}[ \t]+|\*\*|__")
_LOST_CHARS = re.compile(r"\*{3,}")  # a site's filter replaced characters with asterisks
_SPACES = re.compile(r"[ \u3000]{2,}")
# A line that ends a sentence, a clause leading into a list, or a title; and a line that starts on its own
# (a list item, a numbered heading) whatever ends the line before it.
_ENDS_SENTENCE = re.compile(r"[。!?;:.…][”’\"')」』]*$")
_STARTS_ITEM = re.compile(r"^(\d{1,2}[、.)]|[一二三四五六七八九十]{1,3}[、.]|[((]\d{1,2}[))]|[•·\-*])")
_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
# A wrapped line fills the column: as wide as most of the document's longest lines (a heading, a list item
# or a paragraph's last line stops short of it).
FULL_LINE = 0.85
_COLUMN_PERCENTILE = 0.9


@dataclass(frozen=True)
class CleanedDocument:
    """Cleaned text, its map back to the original, and what cleaning removed (kind → count)."""

    tracked: Tracked
    removed: Counter[str] = field(default_factory=Counter)

    @property
    def text(self) -> str:
        return self.tracked.text

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.tracked.span_to_original(start, end)


def clean(raw: str, *, markdown: bool = False, wrapped: bool = False) -> CleanedDocument:
    """Clean a loaded document's text; ``markdown`` also strips heading and emphasis markers, ``wrapped``
    (text extracted from a PDF) joins the line breaks that fall inside a sentence."""
    removed: Counter[str] = Counter()
    removed["pinyin annotation"] = len(PINYIN_ANNOTATION.findall(raw))
    doc = normalise_tracked(Tracked.of(raw))
    doc = doc.sub(_LOST_CHARS, "")
    if markdown:
        doc = doc.sub(_MARKDOWN_MARKS, "")

    spans = list(mojibake_spans(doc.text))
    removed["mojibake fragment"] += len(spans)
    residue = list(residue_spans(doc.text))
    removed["residue (characters)"] += sum(end - start for start, end in residue)
    doc = doc.delete_spans(spans + residue)
    doc = doc.sub(_SPACES, " ")

    doc = _keep_content_lines(doc, removed)
    if wrapped:
        doc = _join_wrapped(doc, removed)
    return CleanedDocument(doc, Counter({k: v for k, v in removed.items() if v}))


def _width(line: str) -> int:
    return len(line) + len(_WIDE.findall(line))  # a Chinese character is two Latin letters wide


def _join_wrapped(doc: Tracked, removed: Counter[str]) -> Tracked:
    """Join each line break inside a sentence: the line does not end a sentence, the next line is no list
    item, and the line either fills the column or is English running on in lower case ("…the\nsandbox").
    Between Chinese characters the break goes; between English words it becomes a space."""
    lines = doc.text.split("\n")
    widths = sorted(_width(line) for line in lines)
    column = widths[int(_COLUMN_PERCENTILE * (len(widths) - 1))] if widths else 0
    joins: dict[int, str] = {}
    pos = 0
    for line, nxt in itertools.pairwise(lines):
        pos += len(line)
        if line and nxt and not _ENDS_SENTENCE.search(line) and not _STARTS_ITEM.match(nxt):
            runs_on = (line[-1].isascii() and line[-1].isalnum()) or line[-1] == ","
            if _width(line) >= FULL_LINE * column or (runs_on and nxt[0].islower()):
                latin = line[-1].isascii() and nxt[0].isascii() and not line.endswith("-")
                joins[pos] = " " if latin else ""
        pos += 1
    removed["line break inside a sentence (PDF)"] += len(joins)
    return doc.sub(re.compile("\n"), lambda m: joins.get(m.start(), "\n"))


def _keep_content_lines(doc: Tracked, removed: Counter[str]) -> Tracked:
    """Drop furniture lines and lines with no language left; strip each line; one newline between lines."""
    lines = doc.text.split("\n")
    cut = boilerplate.tail_start(lines)
    if cut is not None:
        while cut > 0 and (not lines[cut - 1].strip() or _is_furniture(lines[cut - 1])):
            cut -= 1
        removed["trailing related/source block (lines)"] += sum(1 for line in lines[cut:] if line.strip())

    kept: list[tuple[int, int, int]] = []  # content start, content end, position of the line's newline
    pos = 0
    for i, line in enumerate(lines):
        start, end = pos, pos + len(line)
        pos = end + 1
        stripped = line.strip()
        if not stripped or (cut is not None and i >= cut):
            continue
        kind = boilerplate.classify_line(stripped)
        if kind is not None:
            removed[kind] += 1
            continue
        if not has_language(stripped):
            removed["residue (lines)"] += 1
            continue
        lead = len(line) - len(line.lstrip())
        kept.append((start + lead, start + lead + len(stripped), end))

    # Keep exactly one newline between consecutive lines: the previous line's own, so offsets stay honest.
    deletions: list[tuple[int, int]] = []
    prev_end, prev_newline = 0, -1
    for start, end, newline in kept:
        if prev_newline >= 0:
            deletions.append((prev_end, prev_newline))
        deletions.append((prev_newline + 1, start))
        prev_end, prev_newline = end, newline
    deletions.append((prev_end, len(doc.text)))
    return doc.delete_spans(deletions)


def _is_furniture(line: str) -> bool:
    stripped = line.strip()
    return boilerplate.classify_line(stripped) is not None or boilerplate.is_site_label(stripped)


def fallback_title(cleaned: str) -> str:
    """A title for a document the catalog does not know: its first cleaned line, trimmed."""
    first = next((line for line in cleaned.split("\n") if line.strip()), "")
    return first[:60]
