"""Lookups built once when an index is loaded, so that loading and answering read a document, not the KB.

Loading asks "which chunks hold this span?" once per sentence, answering once per quote, and answering asks
whether the knowledge base uses a word several times per question. Reading every chunk for each sentence
made loading quadratic in the size of the knowledge base (minutes at 10,000 chunks), and searching the
whole corpus for each word made every answer cost in proportion to it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate

import numpy as np

from crmkb.ingest.chunking import Chunk


class ChunkSpans:
    """Each document's chunks ordered by start. A chunk holds ``[start, end)`` when it starts at or before
    ``start`` and ends at or after ``end``: bisect finds the last chunk starting in time, and a running
    maximum of the ends says how far back a chunk could still reach ``end`` (chunks overlap, and a short one
    may follow a long one)."""

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        rows: dict[str, list[tuple[int, int, int, str, str]]] = {}
        for order, chunk in enumerate(chunks):
            rows.setdefault(chunk.source, []).append((chunk.start, order, chunk.end, chunk.id, chunk.section))
        self._starts: dict[str, list[int]] = {}
        self._ends: dict[str, list[int]] = {}
        self._reach: dict[str, list[int]] = {}
        # (order among all chunks, id, section): callers get chunks in the order the index lists them,
        # as a scan of every chunk would have found them
        self._chunks: dict[str, list[tuple[int, str, str]]] = {}
        for source, found in rows.items():
            found.sort()
            self._starts[source] = [start for start, *_ in found]
            self._ends[source] = [end for _, _, end, _, _ in found]
            self._reach[source] = list(accumulate(self._ends[source], max))
            self._chunks[source] = [(order, cid, section) for _, order, _, cid, section in found]

    def _around(self, source: str, start: int, end: int) -> Iterator[tuple[int, str, str]]:
        starts = self._starts.get(source)
        if not starts:
            return
        ends, reach, chunks = self._ends[source], self._reach[source], self._chunks[source]
        position = bisect_right(starts, start) - 1
        while position >= 0 and reach[position] >= end:
            if ends[position] >= end:
                yield chunks[position]
            position -= 1

    def containing(self, source: str, start: int, end: int) -> list[str]:
        """The ids of the chunks of ``source`` that hold all of ``[start, end)``, in the index's order."""
        return [cid for _, cid, _ in sorted(self._around(source, start, end))]

    def section_at(self, source: str, offset: int) -> str:
        """The section of the first chunk (in the index's order) holding the character at ``offset``; ""
        outside every chunk."""
        found = min(self._around(source, offset, offset + 1), default=None)
        return found[2] if found is not None else ""


def top(values: np.ndarray, k: int) -> np.ndarray:
    """The indexes of the ``k`` largest values, largest first: a partition then a sort of ``k``, where
    sorting all of them grows with the knowledge base on every question."""
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    if k >= len(values):
        return np.argsort(-values)
    part = np.argpartition(-values, k - 1)[:k]
    return part[np.argsort(-values[part])]


class Substrings:
    """Whether a string occurs in any of a set of texts, without reading them all on every question: each
    text's distinct character pairs are indexed at load, and only the texts holding every pair of the
    string are searched. A string with a line break falls back to one joined text (the texts were once
    joined by line breaks, so such a string could run from one into the next)."""

    def __init__(self, texts: list[str]) -> None:
        self._texts = texts
        self._chars: set[str] = set().union(*texts)
        codes: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        for n, text in enumerate(texts):
            pairs = _pairs(text)
            codes.append(pairs)
            owners.append(np.full(len(pairs), n, dtype=np.int32))
        code = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int64)
        owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int32)
        order = np.argsort(code, kind="stable")  # stable: each pair's texts stay in ascending order
        self._codes, self._owners = code[order], owner[order]

    def holding(self, needle: str) -> list[str]:
        """The texts that may hold ``needle``: all that hold every character pair of it, in order."""
        if len(needle) < 2:
            return self._texts if needle in self._chars else []
        found: np.ndarray | None = None
        postings = []
        for pair in _pairs(needle):
            low = int(np.searchsorted(self._codes, pair, side="left"))
            high = int(np.searchsorted(self._codes, pair, side="right"))
            if low == high:
                return []
            postings.append(self._owners[low:high])
        for posting in sorted(postings, key=len):
            found = posting if found is None else np.intersect1d(found, posting, assume_unique=True)
            if not len(found):
                return []
        assert found is not None
        return [self._texts[int(n)] for n in found]

    def contains(self, needle: str) -> bool:
        """Whether ``needle`` occurs in one of the texts (or across the line break joining two)."""
        if not needle or "\n" in needle:
            return needle in "\n".join(self._texts)
        return any(needle in text for text in self.holding(needle))

    def search(self, needle: str, pattern: re.Pattern[str]) -> bool:
        """Whether ``pattern``, which matches only where ``needle`` occurs, matches one of the texts."""
        if not needle or "\n" in needle:
            return pattern.search("\n".join(self._texts)) is not None
        return any(pattern.search(text) for text in self.holding(needle))


def _pairs(text: str) -> np.ndarray:
    """The distinct character pairs of ``text``, each as one integer (code points fit in 21 bits)."""
    if len(text) < 2:
        return np.zeros(0, dtype=np.int64)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    return np.unique((points[:-1] << 21) | points[1:])
