"""The vector store: Chroma, embedded under the data dir or a server for scale-out.

Chunk vectors live in a *pool*, a collection shared by successive versions and keyed by chunk id (which
hashes the source and exactly the text embedded, so an id always names the same vector). A *version* is
the list of chunk ids in its files plus one entry in a small registry collection; an ingest adds only the
chunks the pool lacks, then flips the registry's pointer to the new version in one step. Readers follow
the pointer and keep only their version's ids from a search of the pool, so a crash or Ctrl-C mid-ingest
leaves the previous version active and whole (what the crashed run added is in no version). A version the
pointer leaves is *retired*, not dropped: running servers still answer from it until they have loaded the
new one, so it is dropped only by a later ingest, once retired for a grace period, and only then are the
pool's chunks no live version lists deleted. A change to most of the knowledge base starts a new pool (a
complete write, as the change costs anyway), so a pool's unlisted chunks stay a small share of it.

Versions written before pools existed are a whole collection each (``Version.pool`` is ``None``); they
are still read, and the next ingest moves the index into a pool. Each pool and each old-style version
records the embedding model's name and dimension; vectors from two models are never mixed.
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
# registry metadata key prefix: the pool a version's vectors are in (absent: a whole collection)
POOL = "pool:"


class StoreUnavailable(Unavailable):
    """The store cannot be reached or opened; the message says which and how to fix it."""


class EmbedderMismatch(Unavailable):
    """The index was built with another embedding model than the one configured."""


@dataclass(frozen=True)
class Version:
    name: str
    embedder: str
    dimension: int
    pool: str | None = None  # the shared collection holding its vectors; None: a collection of its own

    @property
    def collection_name(self) -> str:
        return self.pool or self.name


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


def make_client(settings: Settings, *, fresh: bool = False) -> Any:
    """A Chroma client: ``CRMKB_CHROMA_URL`` selects a server, otherwise embedded under the data dir.
    ``fresh``: an embedded client that reads the store as it is now. Embedded Chroma keeps one system per
    path and process, and that system's in-memory index of a collection never sees what another process
    adds to it later (a pool grows under a running server when `crmkb ingest` adds a document). Clients
    and collections opened before keep working, on the state they had."""
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
            if fresh:
                from chromadb.api.shared_system_client import SharedSystemClient

                SharedSystemClient.clear_system_cache()
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises transport and OS errors of many types
        where = settings.chroma_url or str(settings.data_dir / "chroma")
        raise StoreUnavailable(f"cannot open the Chroma store at {where}: {first_line(exc)}") from exc


class VectorStore:
    """Pools named ``<prefix>-pool-<timestamp>-<tag>``, the registry ``<prefix>-registry``, and the
    whole-collection versions of older releases, ``<prefix>-v<timestamp>-<tag>``."""

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
        registry = self._registry().metadata or {}
        name = registry.get("active")
        if not name:
            return None
        return self._version(str(name), registry)

    def _version(self, name: str, registry: dict[str, Any]) -> Version | None:
        pool = registry.get(f"{POOL}{name}")
        try:
            meta = self._open(str(pool or name)).metadata or {}
        except Exception as exc:
            if not is_missing_collection(exc):
                raise
            return None
        embedder, dimension = str(meta.get("embedder", "")), int(meta.get("dimension", 0))
        return Version(name, embedder, dimension, str(pool) if pool else None)

    def listed(self, version: Version) -> bool:
        """Whether ``version`` is still in the store (not yet dropped)."""
        if version.pool is None:
            return version.name in self._names()
        return (self._registry().metadata or {}).get(f"{POOL}{version.name}") == version.pool

    def collection(self, version: Version) -> Any:
        """The collection holding ``version``'s vectors (its pool, shared with other versions)."""
        return self._open(version.collection_name)

    def _open(self, name: str) -> Any:
        return self._client.get_collection(name, embedding_function=None)

    def records(self, version: Version, *, with_embeddings: bool = False) -> Iterator[tuple[Record, Any]]:
        """Every record of a whole-collection version (with its embedding when asked), in pages. A pooled
        version's records are in its files (``artifacts.read_records``)."""
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

    @staticmethod
    def _stamp() -> str:
        return f"{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"

    def _new_collection(self, name: str, embedder: str, dimension: int) -> Any:
        return self._client.create_collection(
            name,
            embedding_function=None,  # never let Chroma fetch its default model
            metadata={"embedder": embedder, "dimension": dimension, "created": datetime.now(UTC).isoformat()},
            configuration={"hnsw": {"space": "cosine"}},
        )

    def create(
        self, embedder: str, dimension: int, records: Sequence[Record], vectors: np.ndarray
    ) -> Version:
        """Write a complete version in a collection of its own (the layout before pools; benchmarks build
        their baselines with it); it is not visible to readers until :meth:`activate`."""
        version = Version(f"{self._prefix}-v{self._stamp()}", embedder, dimension)
        col = self._new_collection(version.name, embedder, dimension)
        try:
            _add(col, records, vectors)
        except BaseException:
            self.drop(version.name)
            raise
        return version

    def new_pool(self, embedder: str, dimension: int) -> str:
        """An empty pool; dropped by :meth:`drop_unused_pools` until a version in it is activated."""
        name = f"{self._prefix}-pool-{self._stamp()}"
        self._new_collection(name, embedder, dimension)
        return name

    def new_version(self, pool: str, embedder: str, dimension: int) -> Version:
        """A version name in ``pool``; it exists for readers only once :meth:`activate` lists it."""
        return Version(f"{self._prefix}-v{self._stamp()}", embedder, dimension, pool)

    def add(self, pool: str, records: Sequence[Record], vectors: np.ndarray) -> None:
        """Put ``records`` (one ``vectors`` row each) into ``pool``. Only a chunk's text and source are
        kept there: offsets and titles can differ between versions sharing an id, so they are in the
        versions' files."""
        col = self._open(pool)
        _add(col, [Record(r.id, r.text, {"source": r.metadata.get("source", "")}) for r in records], vectors)

    def missing(self, pool: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` ``pool`` does not hold (a retired version's or an interrupted run's chunks are
        there already)."""
        held = {rid for page in _pages(self._open(pool), ids, []) for rid in page["ids"]}
        return set(ids) - held

    def pool_vectors(self, pool: str, ids: Sequence[str]) -> dict[str, Any]:
        """The vectors of ``ids`` in ``pool`` (for a version written into a new pool)."""
        found: dict[str, Any] = {}
        for page in _pages(self._open(pool), ids, ["embeddings"]):
            found.update(zip(page["ids"], page["embeddings"], strict=True))
        return found

    def activate(self, version: Version) -> None:
        """Point readers at ``version``; the version it replaces is retired now (see :meth:`droppable`)."""
        meta = dict(self._registry().metadata or {})
        previous = meta.get("active")
        if previous and previous != version.name:
            meta[f"{RETIRED}{previous}"] = time.time()
        meta.pop(f"{RETIRED}{version.name}", None)
        if version.pool is not None:
            meta[f"{POOL}{version.name}"] = version.pool
        live = set(self._names()) | {k[len(POOL) :] for k in meta if k.startswith(POOL)}
        meta = {k: v for k, v in meta.items() if not k.startswith(RETIRED) or k[len(RETIRED) :] in live}
        self._registry().modify(metadata={**meta, "registry": self._prefix, "active": version.name})

    def drop(self, name: str) -> None:
        """Drop a version: its registry entry (its pool's chunks go with :meth:`unlisted` cleaning), or
        its collection when it has one of its own or was never activated."""
        meta = dict(self._registry().metadata or {})
        if f"{POOL}{name}" in meta:
            meta = {k: v for k, v in meta.items() if k not in (f"{POOL}{name}", f"{RETIRED}{name}")}
            self._registry().modify(metadata=meta)
            return
        # Already gone is fine: dropping is cleanup, never the reason an ingest fails.
        with contextlib.suppress(Exception):
            self._client.delete_collection(name)

    def _names(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self._client.list_collections()]

    def stale_versions(self) -> list[str]:
        """Versions other than the active one: retired, or left by an interrupted run."""
        active = self.active()
        listed = [k[len(POOL) :] for k in (self._registry().metadata or {}) if k.startswith(POOL)]
        return [
            n for n in self._names() + listed
            if n.startswith(f"{self._prefix}-v") and (active is None or n != active.name)
        ]  # fmt: skip

    def live_pools(self) -> dict[str, list[str]]:
        """Each pool some listed version is in, with those versions."""
        pools: dict[str, list[str]] = {}
        for key, pool in (self._registry().metadata or {}).items():
            if key.startswith(POOL):
                pools.setdefault(str(pool), []).append(key[len(POOL) :])
        return pools

    def drop_unused_pools(self) -> list[str]:
        """Drop pools no listed version is in (an interrupted run's, or one every version left); call it
        holding the ingest lock, so a pool another ingest is filling is never taken for one."""
        used = self.live_pools()
        unused = [n for n in self._names() if n.startswith(f"{self._prefix}-pool-") and n not in used]
        for name in unused:
            with contextlib.suppress(Exception):
                self._client.delete_collection(name)
        return unused

    def remove_unlisted(self, pool: str, listed: set[str]) -> int:
        """Delete the chunks of ``pool`` that are not in ``listed`` (the ids every live version in it lists);
        how many. Reads the pool's ids only when it holds more than ``listed``."""
        col = self._open(pool)
        if col.count() <= len(listed):
            return 0
        unlisted = [rid for rid in col.get(include=[])["ids"] if rid not in listed]
        for i in range(0, len(unlisted), ADD_BATCH):
            col.delete(ids=unlisted[i : i + ADD_BATCH])
        return len(unlisted)

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


def _pages(col: Any, ids: Sequence[str], include: list[str]) -> Iterator[dict[str, Any]]:
    """``col.get`` of ``ids`` in pages of ``ADD_BATCH`` (Chroma caps one request's size)."""
    for i in range(0, len(ids), ADD_BATCH):
        yield col.get(ids=list(ids[i : i + ADD_BATCH]), include=include)


def _add(col: Any, records: Sequence[Record], vectors: np.ndarray) -> None:
    for i in range(0, len(records), ADD_BATCH):
        batch = records[i : i + ADD_BATCH]
        col.add(
            ids=[r.id for r in batch],
            documents=[r.text for r in batch],
            metadatas=[r.metadata for r in batch],
            embeddings=vectors[i : i + len(batch)],
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
