"""Cut a cleaned document into section-aware chunks of whole sentences.

Headings are recognised from the text's shape (numbered ``一、`` / ``1、`` lines, or short lines without
sentence punctuation; in English, up to ten words opening with a capital, as Markdown headings and title
lines are) and carried as each chunk's heading chain. Chunks are runs of whole sentences within
one section, bounded in size, overlapping by a sentence or two; a list stays with its lead-in line when
the whole block fits. Every chunk's text is exactly ``cleaned[start:end]``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SECTION_SEPARATOR = " > "

_CN_NUMBERED = re.compile(r"^[一二三四五六七八九十]{1,3}[、.]")
_ARABIC_NUMBERED = re.compile(r"^\d{1,2}[、.](?!\d)")
_LIST_ITEM = re.compile(r"^(\d{1,2}[、.)]|[•·\-*])")
_SENTENCE_PUNCT = re.compile(r"[。;!?]")
_HEADING_MAX = 30
_HEADING_WITH_COMMA_MAX = 20  # a longer line with a comma is a caption or a sentence, not a heading
_NUMBERED_HEADING_MAX = 40
# English words carry less than a Chinese character each, so an English heading is measured in words.
_HEADING_WORDS = 10
_HEADING_WITH_COMMA_WORDS = 6
_CJK = re.compile(r"[\u3400-\u9fff]")
# Abbreviations that stand before a name or a number, so a capital or a digit after them starts no sentence.
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Jr", "Sr", "vs", "No", "Fig", "approx", "cf")
_NOT_ABBREVIATION = "".join(rf"(?<!\b{a})" for a in _ABBREVIATIONS)
# A sentence ends at 。!?; (plus closing quotes), or at a '.' that is not part of a number or list marker,
# an initial or a dotted abbreviation ("J.", "e.g."), or a title ("Mr."), and is followed by a break, the
# end, Chinese, or a word that does not run on in lower case ("e.g. the" is one sentence).
# CHINESE_SENTENCE_END, shared with the claims check (crmkb.bot.grounding): the marks with the closing quotes or
# brackets after them; a 等 closing a run of questions ("…?…?等。") belongs to the last of them.
CHINESE_SENTENCE_END = r"[。!?;]+[”’\"')」』]*(?![”’\"')」』])(?!等等?(?:[。,,;;、!?]|$))"
_SENTENCE_END = re.compile(
    rf"{CHINESE_SENTENCE_END}"
    rf"|(?<![\d.])(?<!\b[A-Za-z]){_NOT_ABBREVIATION}\.[”’\"')]*(?=\s*$|\s+[^a-z\s]|[\u3400-\u9fff])"
)
_CLAUSE_END = re.compile(r"[,、:]")


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage; ``text == cleaned[start:end]`` and ``orig_*`` locate it in the original."""

    id: str
    source: str
    title: str
    section: str
    kind: str
    start: int
    end: int
    orig_start: int
    orig_end: int
    text: str

    @property
    def embed_text(self) -> str:
        return embed_text(self.title, self.section, self.text)


def embed_text(title: str, section: str, text: str) -> str:
    """What is embedded: the heading chain gives a passage the context its sentences leave implicit."""
    context = SECTION_SEPARATOR.join(part for part in (title, section) if part)
    return f"{context}\n{text}"


@dataclass(frozen=True)
class Line:
    start: int
    end: int
    text: str
    heading_level: int  # 0: body; 1, 2: heading depth


def split_lines(text: str) -> list[Line]:
    """Lines with offsets and heading levels (see module docstring for the rules)."""
    raw: list[tuple[int, int, str]] = []
    pos = 0
    for part in text.split("\n"):
        if part.strip():
            raw.append((pos, pos + len(part), part))
        pos += len(part) + 1
    has_cn_numbering = any(_CN_NUMBERED.match(t) and len(t) <= _NUMBERED_HEADING_MAX for _, _, t in raw)
    lines: list[Line] = []
    for i, (start, end, t) in enumerate(raw):
        nxt = raw[i + 1][2] if i + 1 < len(raw) else ""
        lines.append(Line(start, end, t, _heading_level(t, nxt, has_cn_numbering, lines)))
    return lines


def _is_short(t: str) -> bool:
    if not _CJK.search(t):
        return len(t.split()) <= (_HEADING_WITH_COMMA_WORDS if "," in t else _HEADING_WORDS)
    limit = _HEADING_WITH_COMMA_MAX if "," in t else _HEADING_MAX
    return len(t) <= limit


def _heading_level(t: str, nxt: str, has_cn_numbering: bool, before: list[Line]) -> int:
    if _CN_NUMBERED.match(t):
        return 1 if len(t) <= _NUMBERED_HEADING_MAX else 0
    if not _is_short(t) or _SENTENCE_PUNCT.search(t[-1]) or t.endswith((":", ",", "、")):
        return 0
    # An English line that ends with a full stop is a sentence; one opening in lower case continues one.
    if not _CJK.search(t) and (t.endswith(".") or t[:1].islower()):
        return 0
    if _LIST_ITEM.match(t) or has_cn_numbering:
        return 0  # list items; documents numbered 一、二、 use unnumbered short lines for list items too
    prev = before[-1] if before else None
    if prev is not None and prev.heading_level:
        return min(prev.heading_level + 1, 2)  # a heading right under a heading is its sub-heading
    if prev is not None and prev.text.endswith(":") and _is_short(nxt):
        return 0  # the first of several short lines after a lead-in: a list, not a heading
    return 1


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans of one line, as absolute offsets (whitespace around sentences excluded)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        seg = text[s:e]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if e - trail > s + lead:
            out.append((offset + s + lead, offset + e - trail))
    return out


def _fit(spans: list[tuple[int, int]], text: str, limit: int) -> list[tuple[int, int]]:
    """Split any sentence longer than ``limit`` at clause marks, then hard, so no unit exceeds it."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while e - s > limit:
            window = text[s : s + limit]
            cut = max((m.end() for m in _CLAUSE_END.finditer(window)), default=limit)
            out.append((s, s + cut))
            s += cut
        out.append((s, e))
    return out


def _blocks(body: list[Line], text: str, limit: int) -> list[list[tuple[int, int]]]:
    """Sentence spans grouped into blocks: a lead-in line ending in ':' with its list, or one line."""
    blocks: list[list[tuple[int, int]]] = []
    i = 0
    while i < len(body):
        group = [body[i]]
        if body[i].text.endswith(":"):
            j = i + 1
            while j < len(body) and (_LIST_ITEM.match(body[j].text) or len(body[j].text) <= _HEADING_MAX):
                group.append(body[j])
                j += 1
        i += len(group)
        spans = [sp for line in group for sp in split_sentences(line.text, line.start)]
        spans = _fit(spans, text, limit)
        if group[-1].end - group[0].start <= limit:
            blocks.append(spans)
        else:
            blocks.extend([sp] for sp in spans)
    return blocks


def chunk_document(text: str, *, title: str, limit: int, overlap: int) -> list[tuple[int, int, str]]:
    """Chunk spans ``(start, end, section)`` of a cleaned document."""
    lines = split_lines(text)
    if lines and same_title(lines[0].text, title):
        lines = lines[1:]  # the first line restating the title is metadata, not a passage
    chunks: list[tuple[int, int, str]] = []
    chain: list[str] = []
    body: list[Line] = []

    def flush() -> None:
        section = SECTION_SEPARATOR.join(chain)
        chunks.extend((s, e, section) for s, e in _pack(_blocks(body, text, limit), limit, overlap))
        body.clear()

    for line in lines:
        if line.heading_level:
            flush()
            del chain[line.heading_level - 1 :]
            chain.append(line.text.strip())
        else:
            body.append(line)
    flush()
    return chunks


def _pack(blocks: list[list[tuple[int, int]]], limit: int, overlap: int) -> list[tuple[int, int]]:
    packed: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for block in blocks:
        if current and block[-1][1] - current[0][0] > limit:
            packed.append((current[0][0], current[-1][1]))
            # the room left counts the gap between the tail and the block, not only the block itself
            current = _tail(current, overlap, limit - (block[-1][1] - current[-1][1]))
        current.extend(block)
    if current:
        packed.append((current[0][0], current[-1][1]))
    return packed


def _tail(sentences: list[tuple[int, int]], overlap: int, room: int) -> list[tuple[int, int]]:
    """The last sentences of a chunk (at most ``overlap`` chars, never all of it) to repeat in the next."""
    tail: list[tuple[int, int]] = []
    for s, e in reversed(sentences[1:]):
        if sentences[-1][1] - s > min(overlap, room):
            break
        tail.insert(0, (s, e))
    return tail


def same_title(line: str, title: str) -> bool:
    def squash(s: str) -> str:
        return re.sub(r"[\W_]+", "", s)

    return bool(title) and squash(line) == squash(title)


def chunk_id(source: str, embed_text: str) -> str:
    """Stable id: the source plus a hash of exactly what gets embedded, so unchanged chunks keep theirs."""
    digest = hashlib.sha256(f"{source}\0{embed_text}".encode()).hexdigest()[:16]
    return f"{source}#{digest}"
