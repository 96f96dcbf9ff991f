"""The vector store: Chroma, embedded under the data dir or a server for scale-out.

Every ingest that changes anything writes a complete new collection (a *version*) and then flips one
pointer, kept in a small registry collection, to it. Readers always follow the pointer, so a crash or
Ctrl-C mid-ingest leaves the previous version active and whole. A version the pointer leaves is *retired*,
not dropped: running servers still answer from it until they have loaded the new one, so it is dropped
only by a later ingest, once it has been retired for a grace period. Each version records the embedding
model's name and dimension; vectors from two models are never mixed.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from crmkb.core.errors import Unavailable, first_line
from crmkb.core.settings import Settings

ADD_BATCH = 1000  # well under Chroma's max batch size, and small enough to keep memory flat
RETIRED = "retired:"  # registry metadata key prefix: when a version stopped being the active one


class StoreUnavailable(Unavailable):
    """The store cannot be reached or opened; the message says which and how to fix it."""


class EmbedderMismatch(Unavailable):
    """The index was built with another embedding model than the one configured."""


@dataclass(frozen=True)
class Version:
    name: str
    embedder: str
    dimension: int


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    metadata: dict[str, str | int | float | bool]


def is_missing_collection(exc: BaseException) -> bool:
    """Whether ``exc`` is Chroma saying a collection does not exist (its NotFoundError; matched by name
    because importing chromadb to compare types would load it in every process that merely checks)."""
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


_OPENING = threading.Lock()


def make_client(settings: Settings) -> Any:
    """A Chroma client: ``CRMKB_CHROMA_URL`` selects a server, otherwise embedded under the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
            return client
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        # Chroma's cache of embedded systems is not thread-safe: two threads opening one path at once (a
        # server's index watcher and its first request) can get a half-built system ("'RustBindingsAPI'
        # object has no attribute 'bindings'").
        with _OPENING:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises transport and OS errors of many types
        where = settings.chroma_url or str(settings.data_dir / "chroma")
        raise StoreUnavailable(f"cannot open the Chroma store at {where}: {first_line(exc)}") from exc


class VectorStore:
    """Versioned collections named ``<prefix>-v<timestamp>-<tag>`` plus ``<prefix>-registry``."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def _registry(self) -> Any:
        # Chroma refuses an empty metadata dict, so the registry always carries its own name.
        return self._client.get_or_create_collection(
            f"{self._prefix}-registry", embedding_function=None, metadata={"registry": self._prefix}
        )

    def active(self) -> Version | None:
        """The version the pointer names; ``None`` before the first ingest, or when the collection it names
        is gone (dropped by hand, or a store restored from an older backup), so an ingest rebuilds it."""
        name = (self._registry().metadata or {}).get("active")
        if not name:
            return None
        try:
            meta = self._client.get_collection(name, embedding_function=None).metadata or {}
        except Exception as exc:
            if not is_missing_collection(exc):
                raise
            return None
        return Version(str(name), str(meta.get("embedder", "")), int(meta.get("dimension", 0)))

    def collection(self, version: Version) -> Any:
        return self._client.get_collection(version.name, embedding_function=None)

    def records(self, version: Version, *, with_embeddings: bool = False) -> Iterator[tuple[Record, Any]]:
        """Every record of a version (with its embedding when asked), in pages."""
        col = self.collection(version)
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        offset = 0
        while True:
            page = col.get(include=include, limit=ADD_BATCH, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            vectors = page.get("embeddings") if with_embeddings else None
            for i, rid in enumerate(ids):
                record = Record(rid, page["documents"][i], dict(page["metadatas"][i] or {}))
                yield record, (vectors[i] if vectors is not None else None)
            offset += len(ids)

    def create(
        self, embedder: str, dimension: int, records: Sequence[Record], vectors: np.ndarray
    ) -> Version:
        """Write a complete new version; it is not visible to readers until :meth:`activate`."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        version = Version(f"{self._prefix}-v{stamp}-{uuid.uuid4().hex[:6]}", embedder, dimension)
        col = self._client.create_collection(
            version.name,
            embedding_function=None,  # never let Chroma fetch its default model
            metadata={"embedder": embedder, "dimension": dimension, "created": stamp},
            configuration={"hnsw": {"space": "cosine"}},
        )
        try:
            for i in range(0, len(records), ADD_BATCH):
                batch = records[i : i + ADD_BATCH]
                col.add(
                    ids=[r.id for r in batch],
                    documents=[r.text for r in batch],
                    metadatas=[r.metadata for r in batch],
                    embeddings=vectors[i : i + len(batch)],
                )
        except BaseException:
            self.drop(version.name)
            raise
        return version

    def activate(self, version: Version) -> None:
        """Point readers at ``version``; the version it replaces is retired now (see :meth:`droppable`)."""
        meta = dict(self._registry().metadata or {})
        previous = meta.get("active")
        if previous and previous != version.name:
            meta[f"{RETIRED}{previous}"] = time.time()
        meta.pop(f"{RETIRED}{version.name}", None)
        live = set(self._names())
        meta = {k: v for k, v in meta.items() if not k.startswith(RETIRED) or k[len(RETIRED) :] in live}
        self._registry().modify(metadata={**meta, "registry": self._prefix, "active": version.name})

    def drop(self, name: str) -> None:
        # Already gone is fine: dropping is cleanup, never the reason an ingest fails.
        with contextlib.suppress(Exception):
            self._client.delete_collection(name)

    def _names(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self._client.list_collections()]

    def stale_versions(self) -> list[str]:
        """Versions other than the active one: retired, or left by an interrupted run."""
        active = self.active()
        return [
            n for n in self._names()
            if n.startswith(f"{self._prefix}-v") and (active is None or n != active.name)
        ]  # fmt: skip

    def droppable(self, grace_s: float) -> list[str]:
        """Stale versions no reader needs any more: never activated (an interrupted run's), or retired
        more than ``grace_s`` seconds ago. Call it only while holding the ingest lock, so a version another
        ingest is still writing is never taken for an interrupted run's."""
        meta = self._registry().metadata or {}
        now = time.time()
        return [
            name for name in self.stale_versions()
            if now - float(meta.get(f"{RETIRED}{name}", 0.0)) >= grace_s
        ]  # fmt: skip

    def check_embedder(self, version: Version, embedder: str, dimension: int) -> None:
        if (version.embedder, version.dimension) != (embedder, dimension):
            raise EmbedderMismatch(
                f"the index was built with {version.embedder} ({version.dimension} dimensions) but the "
                f"settings select {embedder} ({dimension} dimensions); run `crmkb ingest --rebuild` to "
                "re-embed everything with the configured model"
            )


def remove_orphan_storage(chroma_dir: Path) -> list[str]:
    """Delete the segment folders embedded Chroma leaves behind when a collection is deleted (it removes the
    rows, not the files); returns the folders removed. A folder is kept while any segment row names it."""
    database = chroma_dir / "chroma.sqlite3"
    if not database.is_file():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
        live = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
    removed = []
    for child in chroma_dir.iterdir():
        if child.is_dir() and _is_uuid(child.name) and child.name not in live:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False
