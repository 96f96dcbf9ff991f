"""A version's chunks as files beside its documents, so that a server reads them mapped, not from Chroma.

A chunk's text, title and kind are its document's (``text == document.text[start:end]``), so the files
hold only where each chunk lies and its section: one row of integers per chunk, mapped read-only and
shared by the workers of a host. Reading every chunk back from Chroma cost each server process about 6 KB
per chunk (61 MB at 10,000 chunks, most of it Chroma's own buffers, not the chunks' Python objects); a
:class:`ChunkTable` builds a :class:`Chunk` when one is asked for and keeps the most recent few thousand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from crmkb.ingest.chunking import Chunk
from crmkb.ingest.sentences import mapped
from crmkb.ingest.store import Record

FOLDER = "chunks"
RECENT = 8192  # chunks kept built: an answer reads its documents' chunks many times over


class Document(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def kind(self) -> str: ...


def save_chunks(folder: Path, records: Sequence[Record]) -> None:
    """Write the rows of ``records`` (chunks as the store holds them), in the index's reading order."""
    ordered = sorted(records, key=lambda r: (str(r.metadata["source"]), int(r.metadata["start"]), r.id))
    sources = sorted({str(r.metadata["source"]) for r in ordered})
    sections = sorted({str(r.metadata.get("section", "")) for r in ordered})
    source_no = {s: i for i, s in enumerate(sources)}
    section_no = {s: i for i, s in enumerate(sections)}
    rows = np.array([_row(r.metadata, source_no, section_no) for r in ordered], dtype=np.int64).reshape(-1, 6)
    folder.mkdir()
    names = {"ids": [r.id for r in ordered], "sources": sources, "sections": sections}
    (folder / "names.json").write_text(json.dumps(names, ensure_ascii=False))
    np.save(folder / "rows.npy", rows)


def _row(meta: Mapping[str, object], source_no: dict[str, int], section_no: dict[str, int]) -> list[int]:
    at = [int(str(meta.get(name, 0))) for name in ("start", "end", "orig_start", "orig_end")]
    return [source_no[str(meta["source"])], section_no[str(meta.get("section", ""))], *at]


class ChunkTable(Mapping[str, Chunk]):
    """Chunk id → :class:`Chunk`, over the mapped rows; iterates in the index's reading order (by source,
    then start), as the store's chunks are listed."""

    def __init__(self, folder: Path, documents: Mapping[str, Document]) -> None:
        names = json.loads((folder / "names.json").read_text())
        self._ids: list[str] = names["ids"]
        self._sources: list[str] = names["sources"]
        self._sections: list[str] = names["sections"]
        self._rows = mapped(folder / "rows.npy")  # (n, 6): source, section, start, end, orig_start, orig_end
        self._row_of = {cid: i for i, cid in enumerate(self._ids)}
        self._documents = documents
        self._built = lru_cache(maxsize=RECENT)(self._build)

    def _build(self, row: int) -> Chunk:
        source, section, start, end, orig_start, orig_end = self._rows[row].tolist()
        document = self._documents[self._sources[source]]
        return Chunk(
            id=self._ids[row],
            source=self._sources[source],
            title=document.title,
            section=self._sections[section],
            kind=document.kind,
            start=start,
            end=end,
            orig_start=orig_start,
            orig_end=orig_end,
            text=document.text[start:end],
        )

    def __getitem__(self, chunk_id: str) -> Chunk:
        return self._built(self._row_of[chunk_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def all(self) -> Iterator[Chunk]:
        """Every chunk in order, built afresh (not kept: a pass over all of them would evict the rest)."""
        return (self._build(row) for row in range(len(self._ids)))
