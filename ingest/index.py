"""Read access to the published index: what the bot and the admin commands see."""

from __future__ import annotations

from typing import Any

from crmkb.ingest.chunking import Chunk
from crmkb.ingest.embeddings import IdentifiedEmbeddings
from crmkb.ingest.store import VectorStore, Version, make_client
from crmkb.settings import Settings


class IndexMissing(RuntimeError):
    """No index has been published yet, or its files cannot be read here."""


class IndexDamaged(IndexMissing):
    """The active version's files are not what ingest wrote (truncated, emptied, edited, missing)."""


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


def open_store(settings: Settings, client: Any = None) -> tuple[VectorStore, Version]:
    store = VectorStore(client if client is not None else make_client(settings), settings.collection)
    active = store.active()
    if active is None:
        raise IndexMissing("no index yet: run `crmkb ingest` first")
    return store, active


def all_chunks(store: VectorStore, version: Version, source: str | None = None) -> list[Chunk]:
    chunks = [
        chunk_from_store(record.id, record.text, record.metadata)
        for record, _ in store.records(version)
        if source is None or record.metadata.get("source") == source
    ]
    return sorted(chunks, key=lambda c: (c.source, c.start, c.id))


def dense_search(
    store: VectorStore, version: Version, embeddings: IdentifiedEmbeddings, query: str, k: int
) -> list[tuple[Chunk, float]]:
    """Nearest chunks by cosine similarity of the e5 query embedding."""
    store.check_embedder(version, embeddings.name, embeddings.dimension)
    result = store.collection(version).query(
        query_embeddings=[embeddings.embed_query(query)],
        n_results=k,
        include=["documents", "metadatas", "distances"],
    )
    return [
        (chunk_from_store(rid, doc, dict(meta or {})), 1.0 - float(dist))
        for rid, doc, meta, dist in zip(
            result["ids"][0],
            result["documents"][0],
            result["metadatas"][0],
            result["distances"][0],
            strict=True,
        )
    ]
