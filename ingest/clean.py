"""Clean one document: normalise it, drop furniture, residue and mojibake, tidy lines, and keep the map
from every cleaned character back to the loaded original.

The result is what the index, the chunks and every citation's offsets refer to.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ingest import boilerplate
from ingest.normalise import PINYIN_ANNOTATION, normalise_tracked
from ingest.residue import has_language, mojibake_spans, residue_spans
from ingest.tracked import Tracked

_MARKDOWN_MARKS = re.compile(r"(?m)^#{1,6}[ \t]+|\*\*|__")
_LOST_CHARS = re.compile(r"\*{3,}")  # a site's filter replaced characters with asterisks
_SPACES = re.compile(r"[ \u3000]{2,}")


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


def clean(raw: str, *, markdown: bool = False) -> CleanedDocument:
    """Clean a loaded document's text; ``markdown`` also strips heading and emphasis markers."""
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
    return CleanedDocument(doc, Counter({k: v for k, v in removed.items() if v}))


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
