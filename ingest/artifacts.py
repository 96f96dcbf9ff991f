"""Files that travel with each index version under ``<data_dir>/index/<version>/``: the cleaned
documents with their maps back to the originals, and the BM25 index.

A version's folder is written completely under a temporary name and renamed into place before the
version is activated, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ingest.sentences import SentenceTable
from ingest.sparse import SparseIndex
from ingest.tracked import Tracked


@dataclass(frozen=True)
class StoredDocument:
    """A cleaned document as the index knows it. ``origin_runs`` compress the offset map:
    ``[clean_start, orig_start, length]`` for each stretch copied one-to-one from the original."""

    source: str
    path: str
    title: str
    kind: str
    sha256: str
    encoding: str | None
    text: str
    origin_runs: list[list[int]]
    original_length: int

    @classmethod
    def from_tracked(cls, tracked: Tracked, **fields: object) -> StoredDocument:
        return cls(text=tracked.text, origin_runs=_runs(tracked.origin), **fields)  # type: ignore[arg-type]

    def to_original(self, offset: int) -> int:
        """The original offset of cleaned offset ``offset`` (``len(text)`` maps past the last character)."""
        if offset >= len(self.text):
            return self.original_length
        lo, hi = 0, len(self.origin_runs) - 1
        while lo < hi:  # the last run starting at or before offset
            mid = (lo + hi + 1) // 2
            if self.origin_runs[mid][0] <= offset:
                lo = mid
            else:
                hi = mid - 1
        start, orig, length = self.origin_runs[lo]
        return orig + min(offset - start, max(length - 1, 0))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if end <= start:
            return self.to_original(start), self.to_original(start)
        return self.to_original(start), self.to_original(end - 1) + 1


def _runs(origin: tuple[int, ...]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i, o in enumerate(origin[:-1]):
        if runs and runs[-1][1] + runs[-1][2] == o and runs[-1][0] + runs[-1][2] == i:
            runs[-1][2] += 1
        else:
            runs.append([i, o, 1])
    return runs


def index_root(data_dir: Path) -> Path:
    return data_dir / "index"


def write_version(data_dir: Path, version: str, documents: list[StoredDocument], sparse: SparseIndex,
                  chunk_ids: list[str], sentences: SentenceTable) -> Path:  # fmt: skip
    """Write a version's files atomically (temporary folder, then rename)."""
    root = index_root(data_dir)
    final = root / version
    tmp = root / f".{version}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "documents").mkdir(parents=True)
    for i, doc in enumerate(sorted(documents, key=lambda d: d.source)):
        (tmp / "documents" / f"{i:05d}.json").write_text(json.dumps(asdict(doc), ensure_ascii=False))
    (tmp / "bm25").mkdir()
    sparse.save(tmp / "bm25")
    (tmp / "chunk_ids.json").write_text(json.dumps(chunk_ids))
    sentences.save(tmp / "sentences")
    shutil.rmtree(final, ignore_errors=True)  # an incomplete folder of the same version, being replaced
    tmp.rename(final)
    return final


REQUIRED_FILES = ("documents", "bm25/size", "chunk_ids.json", "sentences/sentences.npy")


def complete(data_dir: Path, version: str) -> bool:
    """Whether every file a reader needs for ``version`` is present."""
    folder = index_root(data_dir) / version
    return all((folder / name).exists() for name in REQUIRED_FILES)


def read_documents(data_dir: Path, version: str) -> dict[str, StoredDocument]:
    folder = index_root(data_dir) / version / "documents"
    if not folder.is_dir():
        return {}
    docs = [StoredDocument(**json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]
    return {d.source: d for d in docs}


def read_sparse(data_dir: Path, version: str) -> tuple[SparseIndex, list[str]]:
    folder = index_root(data_dir) / version
    return SparseIndex.load(folder / "bm25"), json.loads((folder / "chunk_ids.json").read_text())


def read_sentences(data_dir: Path, version: str) -> SentenceTable:
    return SentenceTable.load(index_root(data_dir) / version / "sentences")


def read_sentence_vectors(data_dir: Path, version: str) -> dict[str, np.ndarray]:
    """Vectors of a version's sentences keyed by text hash; empty when its files are missing."""
    try:
        return read_sentences(data_dir, version).vectors_by_key()
    except (OSError, ValueError):
        return {}


def remove_except(data_dir: Path, keep: str) -> None:
    """Delete every version folder but ``keep`` (superseded versions and leftovers of interrupted runs)."""
    root = index_root(data_dir)
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.name != keep:
            shutil.rmtree(child, ignore_errors=True)
