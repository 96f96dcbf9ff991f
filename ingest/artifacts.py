"""Files that travel with each index version under ``<data_dir>/index/<version>/``: the cleaned
documents with their maps back to the originals, the chunks (``chunk_table``, mapped; and, for a version
whose vectors are in a pool, ``chunks.json``: which of the pool's vectors are this version's, with their text
and offsets, which planning reads), the sentences with their vectors (``sentences``), the BM25 index and the
chunks' latent terms (``latent``, when the model has them); the big arrays among them are read mapped, not
copied.

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
from dataclasses import dataclass, field, fields
from pathlib import Path

from crmkb.core.files import sync_folder
from crmkb.ingest import chunk_table
from crmkb.ingest.chunk_table import ChunkTable, save_chunks
from crmkb.ingest.glossary_file import GLOSSARY_FILE
from crmkb.ingest.latent import FOLDER as LATENT
from crmkb.ingest.latent import LatentIndex
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
    # The catalog's one-line subject and author, which a question naming the article by them is matched to
    subject: str = ""
    author: str = ""
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


_DOCUMENT_FIELDS = tuple(f.name for f in fields(StoredDocument))


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
                  records: Sequence[Record], sentences: SentenceTable, listed: Sequence[Record] | None = None,
                  *, unchanged_from: str | None = None, unchanged: frozenset[str] = frozenset(),
                  glossary: str | None = None, latent: LatentIndex | None = None) -> Path:  # fmt: skip
    """Write a version's files atomically (temporary folder, then rename). ``records`` are its chunks in
    the order ``sparse`` indexed them; ``listed`` are the same for a version whose vectors are in a pool (a
    version with a collection of its own keeps them there). The documents named in ``unchanged`` are
    hard-linked from version ``unchanged_from`` (whose files were just checked against its manifest) instead
    of written, hashed and flushed again. ``glossary``: the text of kb/glossary.toml, which the version
    is answered with; ``latent``: the chunks' latent terms, in the order of ``records``."""
    root = index_root(data_dir)
    final = root / version
    tmp = root / f".{version}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "documents").mkdir(parents=True)
    linked = _link_documents(root / unchanged_from, tmp, documents, unchanged) if unchanged_from else {}
    for doc in documents:
        name = document_file(doc.source)
        if name not in linked:
            (tmp / name).write_text(json.dumps(_fields(doc), ensure_ascii=False))
    (tmp / "bm25").mkdir()
    sparse.save(tmp / "bm25")
    (tmp / "chunk_ids.json").write_text(json.dumps([r.id for r in records]))
    save_chunks(tmp / chunk_table.FOLDER, records)
    if listed is not None:
        rows = [[r.id, r.text, r.metadata] for r in listed]
        (tmp / CHUNKS).write_text(json.dumps(rows, ensure_ascii=False))
    sentences.save(tmp / "sentences")
    if latent is not None:
        latent.save(tmp / LATENT)
    if glossary is not None:
        (tmp / GLOSSARY_FILE).write_text(glossary, encoding="utf-8")
    manifest = {name: linked.get(name) or _sha256(tmp / name) for name in _files(tmp)}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=0, sort_keys=True))
    _fsync_tree(tmp, set(linked))
    shutil.rmtree(final, ignore_errors=True)  # a damaged folder of the same version, being replaced
    tmp.rename(final)
    sync_folder(root)
    return final


def document_file(source: str) -> str:
    """Where a document is in its version's folder: named for its source, so an unchanged one has the
    same name in the next version and can be linked."""
    return f"documents/{hashlib.sha256(source.encode()).hexdigest()[:24]}.json"


def _fields(doc: StoredDocument) -> dict[str, object]:
    # a shallow dict: dataclasses.asdict's deep copy was a third of writing a version's files
    return {name: getattr(doc, name) for name in _DOCUMENT_FIELDS}


def _link_documents(
    previous: Path, tmp: Path, documents: list[StoredDocument], unchanged: frozenset[str]
) -> dict[str, str]:
    """Hard-link the ``unchanged`` documents' files from the version folder ``previous`` into ``tmp``;
    returns the names linked with their digests from ``previous``'s manifest. A file that cannot be linked
    (another file system, an older version's file names) is written instead."""
    try:
        digests = json.loads((previous / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    linked: dict[str, str] = {}
    for doc in documents:
        name = document_file(doc.source)
        if doc.source not in unchanged or not isinstance(digests.get(name), str):
            continue
        try:
            os.link(previous / name, tmp / name)
        except OSError:
            continue
        linked[name] = digests[name]
    return linked


MANIFEST = "manifest.json"
CHUNKS = "chunks.json"  # absent from versions written before pools: their chunks are in their collection
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


def _fsync_tree(folder: Path, durable: set[str]) -> None:
    """Flush every file and folder under ``folder`` to disk, so the rename publishes data, not promises;
    the files named in ``durable`` (links to a published version's) are on disk already."""
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() and str(path.relative_to(folder)) in durable:
            continue
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
    return {d.source: d for d in sorted(docs, key=lambda d: d.source)}


def read_glossary(data_dir: Path, version: str) -> str | None:
    """The glossary a version was published with; None for one published without (or before) any."""
    path = index_root(data_dir) / version / GLOSSARY_FILE
    return path.read_text(encoding="utf-8") if path.exists() else None


def read_sparse(data_dir: Path, version: str) -> tuple[SparseIndex, list[str]]:
    folder = index_root(data_dir) / version
    return SparseIndex.load(folder / "bm25"), json.loads((folder / "chunk_ids.json").read_text())


def read_chunk_ids(data_dir: Path, version: str) -> list[str] | None:
    """A version's chunk ids; ``None`` when its list is missing or unreadable."""
    try:
        ids = json.loads((index_root(data_dir) / version / "chunk_ids.json").read_text())
    except (OSError, ValueError):
        return None
    return ids if isinstance(ids, list) and all(isinstance(i, str) for i in ids) else None


def read_records(data_dir: Path, version: str) -> list[Record] | None:
    """A pooled version's chunks in the order they were indexed; ``None`` for a version without the file
    (one with a collection of its own)."""
    path = index_root(data_dir) / version / CHUNKS
    if not path.is_file():
        return None
    return [Record(rid, text, meta) for rid, text, meta in json.loads(path.read_text())]


def read_chunks(data_dir: Path, version: str, documents: dict[str, StoredDocument]) -> ChunkTable | None:
    """A version's chunks from its files; ``None`` for a version written before they held them (its
    chunks are read from the store)."""
    folder = index_root(data_dir) / version / chunk_table.FOLDER
    return ChunkTable(folder, documents) if folder.is_dir() else None


def read_latent(data_dir: Path, version: str) -> LatentIndex | None:
    """A version's latent terms; ``None`` when it was written without them. Raises ``OSError`` or
    ``ValueError`` when they cannot be read."""
    return LatentIndex.load(index_root(data_dir) / version / LATENT)


def own_latent(data_dir: Path, version: str, made_by: str) -> LatentIndex | None:
    """A version's latent terms when they can be read and were made as ``made_by`` says; ``None`` otherwise
    (none, unreadable, or another model release's)."""
    try:
        latent = read_latent(data_dir, version)
    except (OSError, ValueError):
        return None
    return latent if latent is not None and latent.made_by == made_by else None


def optional_problem(problem: str) -> bool:
    """Whether a problem :func:`damaged` found is in a file the version can be answered without (its
    latent terms: English questions then go without that ranking until the next ingest rewrites them)."""
    return problem.startswith(LATENT)  # its files ("latent/…"), or their absence


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
