"""Lookups from a place in a document to the chunks around it, built once when an index is loaded.

Answering and loading ask "which chunks hold this span?" once per sentence and per quote. Reading every
chunk for each question made loading quadratic in the size of the knowledge base (minutes at 10,000 chunks);
these lookups read only the chunks of one document near the span.
"""

from __future__ import annotations

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
