"""Sentence units of the indexed chunks, with their embeddings.

Answers quote sentences, not chunks, and score them against the question by embedding as well as by
terms. Embedding sentences at question time would cost a model call per sentence, so they are embedded
once, at ingest, and stored beside the index; an unchanged sentence reuses its vector.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from crmkb.ingest.chunking import split_sentences

MIN_SENTENCE_CHARS = 4  # shorter pieces ("是吗?") carry no guidance on their own


@dataclass(frozen=True)
class SentenceUnit:
    source: str
    start: int
    end: int
    chunk_id: str
    text: str

    @property
    def key(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:20]


def sentence_units(chunks: list[tuple[str, str, int, str]]) -> list[SentenceUnit]:
    """Sentences of ``(chunk_id, source, start, text)`` chunks, each once (chunks overlap), in order."""
    seen: set[tuple[str, int, int]] = set()
    units: list[SentenceUnit] = []
    for chunk_id, source, start, text in chunks:
        pos = 0
        for line in text.split("\n"):
            for s, e in split_sentences(line, start + pos):
                key = (source, s, e)
                sentence = text[s - start : e - start]
                if key in seen or len(sentence) < MIN_SENTENCE_CHARS:
                    continue
                seen.add(key)
                units.append(SentenceUnit(source, s, e, chunk_id, sentence))
            pos += len(line) + 1
    return sorted(units, key=lambda u: (u.source, u.start))


class SentenceUnits(Sequence[SentenceUnit]):
    """The sentences of a version as columns: each unit's (source, start, end, chunk) as four integers and
    its text as a stretch of one UTF-8 blob. A unit is built when it is read. At 650,000 sentences a list
    of ``SentenceUnit`` cost each server process about 400 MB of Python objects; these columns are files
    that every process maps read-only, so the workers of one host share their pages."""

    def __init__(self, sources: list[str], chunk_ids: list[str], rows: np.ndarray, text: np.ndarray,
                 offsets: np.ndarray) -> None:  # fmt: skip
        self.sources = sources  # the distinct sources, by number
        self.chunk_ids = chunk_ids  # the distinct chunk ids, by number
        self.rows = rows  # (n, 4) int64: source number, start, end, chunk number
        self._text = text  # uint8, every unit's text in UTF-8, one after another
        self._offsets = offsets  # (n + 1,) int64: where each unit's text starts in ``_text``

    @classmethod
    def of(cls, units: Iterable[SentenceUnit]) -> SentenceUnits:
        units = list(units)
        sources = sorted({u.source for u in units})
        chunk_ids = sorted({u.chunk_id for u in units})
        source_no = {s: i for i, s in enumerate(sources)}
        chunk_no = {c: i for i, c in enumerate(chunk_ids)}
        rows = np.array(
            [(source_no[u.source], u.start, u.end, chunk_no[u.chunk_id]) for u in units], dtype=np.int64
        ).reshape(-1, 4)
        encoded = [u.text.encode() for u in units]
        offsets = np.zeros(len(units) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(sources, chunk_ids, rows, np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> SentenceUnit: ...
    @overload
    def __getitem__(self, index: slice) -> list[SentenceUnit]: ...
    def __getitem__(self, index: int | slice) -> SentenceUnit | list[SentenceUnit]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        source, start, end, chunk = self.rows[index].tolist()
        return SentenceUnit(self.sources[source], start, end, self.chunk_ids[chunk], self.text(index))

    def text(self, index: int) -> str:
        if index < 0:
            index += len(self)
        low, high = self._offsets[index : index + 2].tolist()
        return self._text[low:high].tobytes().decode()

    def located(self, index: int) -> tuple[str, str]:
        """Unit ``index``'s source and chunk id, without its text."""
        source, _, _, chunk = self.rows[index].tolist()
        return self.sources[source], self.chunk_ids[chunk]

    def positions(self) -> Iterator[tuple[str, int, int, str]]:
        """Every unit's (source, start, end, chunk id) in order, without reading the texts."""
        for source, start, end, chunk in self.rows.tolist():
            yield self.sources[source], start, end, self.chunk_ids[chunk]

    def save(self, folder: Path) -> None:
        names = {"sources": self.sources, "chunk_ids": self.chunk_ids}
        (folder / "names.json").write_text(json.dumps(names, ensure_ascii=False))
        np.save(folder / "rows.npy", self.rows)
        np.save(folder / "text.npy", self._text)
        np.save(folder / "offsets.npy", self._offsets)

    @classmethod
    def load(cls, folder: Path) -> SentenceUnits:
        names = json.loads((folder / "names.json").read_text())
        arrays = (mapped(folder / name) for name in ("rows.npy", "text.npy", "offsets.npy"))
        return cls(names["sources"], names["chunk_ids"], *arrays)


def mapped(path: Path) -> np.ndarray:
    """The array saved at ``path``, mapped read-only: processes reading the same file share its pages. A
    plain view of the map, because numpy's ``memmap`` subclass costs microseconds on every index taken."""
    return np.load(path, mmap_mode="r").view(np.ndarray)


@dataclass(frozen=True)
class SentenceTable:
    units: Sequence[SentenceUnit]
    vectors: np.ndarray  # (len(units), dimension), L2-normalised; read-only when loaded

    def positions(self) -> Iterator[tuple[str, int, int, str]]:
        """Every unit's (source, start, end, chunk id) in order, without building units or their texts."""
        if isinstance(self.units, SentenceUnits):
            return self.units.positions()
        return ((u.source, u.start, u.end, u.chunk_id) for u in self.units)

    def located(self, index: int) -> tuple[str, str]:
        """Sentence ``index``'s source and chunk id (without building the unit, for lookups made thousands
        of times an answer)."""
        if isinstance(self.units, SentenceUnits):
            return self.units.located(index)
        unit = self.units[index]
        return unit.source, unit.chunk_id

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        units = self.units if isinstance(self.units, SentenceUnits) else SentenceUnits.of(self.units)
        units.save(folder)
        np.save(folder / "sentences.npy", self.vectors)

    @classmethod
    def load(cls, folder: Path) -> SentenceTable:
        if (folder / LEGACY_UNITS).exists():
            # written before the columns (one JSON list of units): read into memory, as then
            rows = json.loads((folder / LEGACY_UNITS).read_text())
            return cls(SentenceUnits.of(SentenceUnit(**u) for u in rows), np.load(folder / "sentences.npy"))
        return cls(SentenceUnits.load(folder), mapped(folder / "sentences.npy"))


LEGACY_UNITS = "sentences.json"
