"""The published index's read side: the one way the bot and the admin commands see an index.

``make_store(settings)`` is where indexes live (Chroma, embedded or a server, plus each version's files
under the data dir). :meth:`IndexStore.open` gives the active version as a :class:`PublishedIndex`: its
chunks, documents, sentences and BM25 index, and nearest-neighbour search over its vectors (in a pool
shared with other versions: a search keeps only the version's own chunks). Readers never
touch Chroma or the files themselves, so what can go wrong there (a store that is down, a version dropped
under a reader, damaged files) arrives as this module's errors, which say what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from crmkb.core.errors import Unavailable, first_line
from crmkb.core.settings import Settings
from crmkb.ingest import artifacts
from crmkb.ingest.artifacts import StoredDocument
from crmkb.ingest.chunking import Chunk
from crmkb.ingest.embeddings import IdentifiedEmbeddings
from crmkb.ingest.latent import LatentIndex, made_by
from crmkb.ingest.sentences import SentenceTable
from crmkb.ingest.sparse import SparseIndex
from crmkb.ingest.store import (
    Record,
    StoreUnavailable,
    VectorStore,
    Version,
    is_missing_collection,
    make_client,
)

log = logging.getLogger(__name__)


class IndexMissing(Unavailable):
    """No index has been published yet, or the version being read is gone or its files cannot be read."""


class IndexDamaged(IndexMissing):
    """The active version's files are not what ingest wrote (truncated, emptied, edited, missing)."""


def make_store(settings: Settings, client: Any = None) -> IndexStore:
    """The index store the settings name; ``client`` reuses an open Chroma client."""
    return IndexStore(
        settings, VectorStore(client if client is not None else make_client(settings), settings.collection)
    )


class IndexStore:
    """Versions of the index: which one is active, and each one's contents. ``vectors`` is the write side,
    for ingest."""

    def __init__(self, settings: Settings, vectors: VectorStore) -> None:
        self.settings = settings
        self.vectors = vectors

    def active(self) -> Version | None:
        """The version readers follow; ``None`` before the first ingest."""
        return self.vectors.active()

    def require_active(self) -> Version:
        active = self.active()
        if active is None:
            raise IndexMissing("no index yet: run `crmkb ingest` first")
        return active

    def open(self, embeddings: IdentifiedEmbeddings) -> PublishedIndex:
        """The active version, whole; refuses one built by another embedding model or with damaged files."""
        version = self.require_active()
        self.vectors.check_embedder(version, embeddings.name, embeddings.dimension)
        data_dir = self.settings.data_dir
        problems = artifacts.damaged(data_dir, version.name)
        if essential := [p for p in problems if not artifacts.optional_problem(p)]:
            raise IndexDamaged(
                f"the index files of {version.name} under {data_dir} are damaged or missing "
                f"({'; '.join(essential[:3])}): run `crmkb ingest` to repair them"
            )
        try:
            sparse, sparse_ids = artifacts.read_sparse(data_dir, version.name)
            sentences = artifacts.read_sentences(data_dir, version.name)
        except (OSError, ValueError) as exc:
            raise IndexDamaged(
                f"the index files of {version.name} cannot be read ({exc}): run `crmkb ingest` to repair them"
            ) from exc
        latent = _latent(
            data_dir, version.name, problems, len(sparse_ids), made_by(embeddings.cache_identity)
        )
        collection = self._reading(version)
        members, unlisted = _membership(version, collection, sparse_ids)
        documents = artifacts.read_documents(data_dir, version.name)
        table = artifacts.read_chunks(data_dir, version.name, documents)
        return PublishedIndex(
            version=version,
            chunks=table if table is not None else {c.id: c for c in self.chunks(version)},
            documents=documents,
            sentences=sentences,
            sparse=sparse,
            sparse_ids=sparse_ids,
            collection=collection,
            members=members,
            unlisted=unlisted,
            listed=lambda: self.vectors.listed(version),
            glossary=artifacts.read_glossary(data_dir, version.name),
            latent=latent,
        )

    def _reading(self, version: Version) -> Any:
        """The collection a reader of ``version`` searches. A pool is shared with earlier versions, and an
        embedded store opened before would not see the chunks another process added to it since."""
        if self.settings.chroma_url or version.pool is None:
            return self.vectors.collection(version)
        return VectorStore(make_client(self.settings, fresh=True), self.settings.collection).collection(
            version
        )

    def chunks(self, version: Version, source: str | None = None) -> list[Chunk]:
        """A version's chunks (of one document when ``source`` is given) in reading order."""
        found = [
            chunk_from_store(record.id, record.text, record.metadata)
            for record in self._records(version)
            if source is None or record.metadata.get("source") == source
        ]
        return sorted(found, key=lambda c: (c.source, c.start, c.id))

    def _records(self, version: Version) -> Iterable[Record]:
        if version.pool is None:  # a version with a collection of its own (written before pools)
            return (record for record, _ in self.vectors.records(version))
        try:
            records = artifacts.read_records(self.settings.data_dir, version.name)
        except (OSError, ValueError, TypeError) as exc:
            records, reason = None, str(exc)
        else:
            reason = f"{artifacts.CHUNKS} missing"
        if records is None:
            raise IndexDamaged(
                f"the chunk list of {version.name} cannot be read ({reason}): run `crmkb ingest` to repair it"
            )
        return records

    def search(self, embeddings: IdentifiedEmbeddings, query: str, k: int) -> list[tuple[Chunk, float]]:
        """The active version's ``k`` chunks nearest to ``query`` by cosine similarity (dense only)."""
        version = self.require_active()
        self.vectors.check_embedder(version, embeddings.name, embeddings.dimension)
        chunks = {c.id: c for c in self.chunks(version)}
        collection = self.vectors.collection(version)
        members, unlisted = _membership(version, collection, chunks)
        found = nearest_in(collection, members, unlisted, embeddings.embed_query(query), k)
        return [(chunks[cid], similarity) for cid, similarity in found.items() if cid in chunks]


def _latent(data_dir: Path, version: str, problems: list[str], chunks: int, made: str) -> LatentIndex | None:
    """The version's latent terms when they can be used; without them English questions lose one ranking,
    so damaged ones are set aside with a warning rather than refusing the version, and so are terms of
    another model release than the one asking (``made``), whose term numbers may mean other things. Terms
    written before their make was recorded are read as before."""
    latent = None
    if not problems:  # ``problems``: what the manifest found wrong with them
        try:
            latent = artifacts.read_latent(data_dir, version)
            if latent is not None and latent.size != chunks:
                raise ValueError(f"latent terms for {latent.size} chunks, the version has {chunks}")
            if latent is not None and latent.made_by not in ("", made):
                raise ValueError(f"latent terms made by {latent.made_by}, not {made}")
        except (OSError, ValueError) as exc:
            latent, problems = None, [str(exc)]
    if problems:
        log.warning(
            "the latent terms of %s cannot be used (%s): English questions go without them until "
            "`crmkb ingest` rewrites them", version, "; ".join(problems[:3]),
        )  # fmt: skip
    return latent


def _membership(version: Version, collection: Any, ids: Iterable[str]) -> tuple[frozenset[str] | None, int]:
    """Which of ``collection``'s chunks are ``version``'s (``None``: all, a collection of its own) and how
    many others its pool holds now."""
    if version.pool is None:
        return None, 0
    members = frozenset(ids)
    return members, collection.count() - len(members)


def nearest_in(
    collection: Any, members: frozenset[str] | None, unlisted: int, vector: list[float], n: int
) -> dict[str, float]:
    """The ``n`` chunks of ``members`` nearest to ``vector`` in ``collection`` (all of its chunks when
    ``members`` is None), as chunk id → cosine similarity, nearest first. A pool also holds chunks of other
    versions (about ``unlisted``, as counted when the version was opened): the search asks for that many
    more, and more again while the pool has them and too few were the version's."""
    want = n + max(unlisted, 0)
    while True:
        result = collection.query(query_embeddings=[vector], n_results=max(want, 1), include=["distances"])
        ids, distances = result["ids"][0], result["distances"][0]
        found = {
            cid: 1.0 - float(d)
            for cid, d in zip(ids, distances, strict=True)
            if members is None or cid in members
        }
        if len(found) >= n or len(ids) < want:
            return dict(islice(found.items(), n))
        want *= 4


@dataclass(frozen=True)
class PublishedIndex:
    """One version as readers see it. Its files are read once; vectors are searched in the store."""

    version: Version
    chunks: Mapping[str, Chunk]  # by id, in reading order (by source, then start)
    documents: dict[str, StoredDocument]
    sentences: SentenceTable
    sparse: SparseIndex
    sparse_ids: list[str]  # the chunk id of each BM25 document
    collection: Any  # private to this class: the Chroma collection holding the version's vectors
    # the version's chunk ids in a shared pool; None: every chunk of the collection is the version's
    members: frozenset[str] | None = None
    unlisted: int = 0  # how many of the pool's chunks were other versions' when this one was opened
    glossary: str | None = None  # the kb/glossary.toml it was published with, if any
    listed: Callable[[], bool] = lambda: True  # whether the store still lists this version
    latent: LatentIndex | None = None  # the chunks' latent terms, numbered as ``sparse_ids``

    def nearest(self, vector: list[float], n: int) -> dict[str, float]:
        """The ``n`` chunks nearest to ``vector``, as chunk id → cosine similarity."""
        found = self._call(lambda: nearest_in(self.collection, self.members, self.unlisted, vector, n))
        if self.members is not None and len(found) < min(n, len(self.members)):
            self.check()  # the pool lost this version's chunks: it was dropped under this reader
        return found

    def check(self) -> None:
        """Raise unless the store can still be reached and still holds this version."""
        self._call(self.collection.count)
        if self.members is not None and not self._call(self.listed):
            raise IndexMissing(
                f"index version {self.version.name} is no longer in the store (a later ingest dropped it)"
            )

    def _call(self, request: Any) -> Any:
        try:
            return request()
        except Exception as exc:  # chromadb raises transport and OS errors of many types
            if is_missing_collection(exc):
                raise IndexMissing(
                    f"index version {self.version.name} is no longer in the store (a later ingest dropped it)"
                ) from exc
            raise StoreUnavailable(f"the vector store cannot be queried: {first_line(exc)}") from exc


def chunk_from_store(rid: str, text: str, meta: dict[str, Any]) -> Chunk:
    """A stored record back as the :class:`Chunk` that ingest wrote."""
    return Chunk(
        id=rid,
        source=str(meta["source"]),
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        kind=str(meta.get("kind", "")),
        start=int(meta["start"]),
        end=int(meta["end"]),
        orig_start=int(meta.get("orig_start", 0)),
        orig_end=int(meta.get("orig_end", 0)),
        text=text,
    )
