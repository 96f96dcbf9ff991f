"""Files that travel with each index version under ``<data_dir>/index/<version>/``: the cleaned
documents with their maps back to the originals, the chunks (``chunk_table``), the sentences with their
vectors (``sentences``) and the BM25 index; the big arrays among them are read mapped, not copied.

A version's folder is written completely under a temporary name, fsynced, and renamed into place before
the version is activated, so a reader never sees half of one. Its ``manifest.json`` holds the SHA-256 of
every file: a file truncated, emptied or edited later is found by :func:`damaged`, refused by readers and
rewritten by the next ``crmkb ingest``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crmkb.core.files import sync_folder
from crmkb.ingest import chunk_table
from crmkb.ingest.chunk_table import ChunkTable, save_chunks
from crmkb.ingest.sentences import SentenceTable
from crmkb.ingest.sparse import SparseIndex
from crmkb.ingest.store import Record
from crmkb.ingest.tracked import Tracked


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
    # The catalog's English titles (kb/catalog.toml ``title_en``, ``sections_en``); absent from versions
    # written before they existed, hence the defaults.
    title_en: str = ""
    sections_en: dict[str, str] = field(default_factory=dict)
    # What shaped the text and chunks besides the file (``unchanged.fingerprint``): a later ingest takes
    # the document over unread while it matches. Empty in versions written before it existed.
    prepared_with: str = ""

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
                  records: Sequence[Record], sentences: SentenceTable) -> Path:  # fmt: skip
    """Write a version's files atomically (temporary folder, then rename). ``records`` are its chunks in
    the order ``sparse`` indexed them."""
    root = index_root(data_dir)
    final = root / version
    tmp = root / f".{version}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "documents").mkdir(parents=True)
    for i, doc in enumerate(sorted(documents, key=lambda d: d.source)):
        (tmp / "documents" / f"{i:05d}.json").write_text(json.dumps(asdict(doc), ensure_ascii=False))
    (tmp / "bm25").mkdir()
    sparse.save(tmp / "bm25")
    (tmp / "chunk_ids.json").write_text(json.dumps([r.id for r in records]))
    save_chunks(tmp / chunk_table.FOLDER, records)
    sentences.save(tmp / "sentences")
    manifest = {name: _sha256(tmp / name) for name in _files(tmp)}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=0, sort_keys=True))
    _fsync_tree(tmp)
    shutil.rmtree(final, ignore_errors=True)  # a damaged folder of the same version, being replaced
    tmp.rename(final)
    sync_folder(root)
    return final


MANIFEST = "manifest.json"
REQUIRED_FILES = ("documents", "bm25/size", "chunk_ids.json", "sentences/sentences.npy", MANIFEST)


def damaged(data_dir: Path, version: str) -> list[str]:
    """What is wrong with ``version``'s files: missing, or not what was written (checked against the
    manifest). Empty when the version can be read."""
    folder = index_root(data_dir) / version
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        return [f"{name} missing" for name in missing]
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if not isinstance(manifest, dict) or not manifest:
            raise ValueError
    except (OSError, ValueError):
        return [f"{MANIFEST} unreadable"]
    problems = [f"{name} missing" for name in manifest if not (folder / name).is_file()]
    problems += [
        f"{name} changed since it was written"
        for name, digest in manifest.items()
        if (folder / name).is_file() and _sha256(folder / name) != digest
    ]
    problems += [f"{name} not in the manifest" for name in _files(folder) if name not in manifest]
    return problems


def complete(data_dir: Path, version: str) -> bool:
    """Whether every file a reader needs for ``version`` is present and as written."""
    return not damaged(data_dir, version)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` to disk, so the rename publishes data, not promises."""
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        else:
            sync_folder(path)
    sync_folder(folder)


def read_documents(data_dir: Path, version: str) -> dict[str, StoredDocument]:
    folder = index_root(data_dir) / version / "documents"
    if not folder.is_dir():
        return {}
    docs = []
    for path in sorted(folder.glob("*.json")):
        try:
            docs.append(StoredDocument(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue  # a damaged file: readers check damaged() first; ingest rewrites the version
    return {d.source: d for d in docs}


def read_sparse(data_dir: Path, version: str) -> tuple[SparseIndex, list[str]]:
    folder = index_root(data_dir) / version
    return SparseIndex.load(folder / "bm25"), json.loads((folder / "chunk_ids.json").read_text())


def read_chunks(data_dir: Path, version: str, documents: dict[str, StoredDocument]) -> ChunkTable | None:
    """A version's chunks from its files; ``None`` for a version written before they held them (its
    chunks are read from the store)."""
    folder = index_root(data_dir) / version / chunk_table.FOLDER
    return ChunkTable(folder, documents) if folder.is_dir() else None


def read_sentences(data_dir: Path, version: str) -> SentenceTable:
    return SentenceTable.load(index_root(data_dir) / version / "sentences")


def read_sentence_table(data_dir: Path, version: str) -> SentenceTable | None:
    """A version's sentences for an ingest to take over; ``None`` when its files cannot be read."""
    try:
        return read_sentences(data_dir, version)
    except (OSError, ValueError, TypeError):
        return None


def remove_except(data_dir: Path, keep: set[str]) -> list[str]:
    """Delete every version folder not in ``keep`` (dropped versions and leftovers of interrupted runs,
    ``.tmp`` folders included); returns the names removed."""
    root = index_root(data_dir)
    if not root.is_dir():
        return []
    removed = []
    for child in root.iterdir():
        if child.name not in keep:
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
            removed.append(child.name)
    return removed
