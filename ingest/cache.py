"""The ingest's persistent cache under the data dir: passage vectors by model and text, and BM25 tokens.

A 100,000-chunk KB is hours of embedding on two cores; a killed run must not start over. Every batch's
vectors are committed to SQLite (WAL) as soon as the model returns them, keyed by the embedder's identity
and the SHA-256 of exactly the text embedded, so a re-run embeds only what is missing and a vector can only
ever be found by the model that made it. Tokens are cached the same way (keyed by the tokeniser's code), so
the BM25 index of a big KB is rebuilt from its unchanged chunks without running jieba over all of them.

Nothing in here may break an ingest or poison an index. Each vector is stored with a checksum and its
dimension and read back only when both match, and a row that cannot be read (tokens that are not
UTF-8 or not JSON) is one miss, recomputed; a database that cannot be opened or read is set aside
(renamed ``*.corrupt-<time>``) with one warning line, and the run goes on with a fresh one, or without
a cache when even that fails; one that is merely locked, read-only or on a full disk is left alone and
the run goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from crmkb.ingest.embeddings import IdentifiedEmbeddings
from crmkb.ingest.latent import TOP_K, Terms, made_by, packed, unpacked
from crmkb.ingest.sparse import tokenize, tokenizer_identity

log = logging.getLogger(__name__)

CACHE_FILE = "ingest-cache.sqlite3"
# A rowid table, not WITHOUT ROWID: a 384-float vector (1,536 bytes) then fits in its page instead of
# spilling into an overflow page of its own, which tripled the file.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, text_sha BLOB NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL, check_sum BLOB NOT NULL,
    UNIQUE (model, text_sha));
CREATE TABLE IF NOT EXISTS tokens (
    tokenizer TEXT NOT NULL, text_sha BLOB NOT NULL, tokens TEXT NOT NULL,
    PRIMARY KEY (tokenizer, text_sha)) WITHOUT ROWID;
"""
_LOOKUP = 500  # keys per SELECT: under SQLite's bound-parameter limit


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _check(model: str, key: bytes, vector: bytes) -> bytes:
    return hashlib.blake2b(model.encode() + key + vector, digest_size=8).digest()


class IngestCache:
    """The cache at ``path``; ``warn`` receives the one line saying it was found damaged or unusable."""

    def __init__(self, path: Path, warn: Callable[[str], None] | None = None, *, wait_s: float = 30) -> None:
        self.path = path
        self._wait_s = wait_s  # for a lock another process holds on the file
        self._warn = warn or log.warning
        self._db: sqlite3.Connection | None = None
        self._open()

    def _open(self) -> None:
        try:
            self._db = self._connect()
        except (sqlite3.OperationalError, OSError) as exc:
            self._give_up(exc)
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)

    def _give_up(self, exc: BaseException) -> None:
        """Go on without the cache for this run: it is locked, read-only or on a full disk, not damaged, so
        it is left as it is."""
        self.close()
        self._warn(f"cannot use the ingest cache {self.path} ({exc}); going on without it for this run")

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=self._wait_s, isolation_level=None)
        # Every value is read as the bytes stored: one damaged row whose text is not UTF-8 would otherwise
        # fail the whole SELECT, and with it the cache for the run; decoded here, it is one miss.
        db.text_factory = bytes
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a killed process
            db.executescript(_SCHEMA)
            db.execute("SELECT count(*) FROM (SELECT 1 FROM vectors LIMIT 1)").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self, exc: BaseException) -> None:
        """Move an unreadable database out of the way and carry on with a fresh one (or none)."""
        self.close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{self.path}{suffix}").rename(f"{aside}{suffix}")
        self._warn(f"the ingest cache {self.path} is unreadable ({exc}); set it aside as {aside.name}, "
                   "recomputing what it held")  # fmt: skip
        try:
            self._db = self._connect()
        except (sqlite3.DatabaseError, OSError) as again:
            self._warn(f"cannot create an ingest cache at {self.path} ({again}); going on without one")
            self._db = None

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def _guarded(self, work: Callable[[sqlite3.Connection], object], default: object) -> object:
        if self._db is None:
            return default
        try:
            return work(self._db)
        except sqlite3.OperationalError as exc:
            self._give_up(exc)
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)
        return default

    def vectors(self, model: str, dimension: int, texts: list[str]) -> dict[int, np.ndarray]:
        """Cached vectors of ``model`` for ``texts``, by position in ``texts``; a damaged entry is a miss."""
        keys = [text_key(t) for t in texts]
        wanted: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            wanted.setdefault(key, []).append(i)

        damaged = 0

        def read(db: sqlite3.Connection) -> dict[int, np.ndarray]:
            nonlocal damaged
            found: dict[int, np.ndarray] = {}
            query = "SELECT text_sha, dim, vector, check_sum FROM vectors WHERE model = ?"
            for key, dim, blob, check in _looked_up(db, query, model, list(wanted)):
                if dim != dimension or len(blob) != 4 * dimension or check != _check(model, key, blob):
                    damaged += 1
                    continue
                vector = np.frombuffer(blob, dtype=np.float32)
                for i in wanted[key]:
                    found[i] = vector
            return found

        found = self._guarded(read, {})
        if damaged:
            self._warn(f"{damaged} entries of the ingest cache {self.path} failed their checksum; recomputing them")  # fmt: skip
        return found  # type: ignore[return-value]

    def put_vectors(self, model: str, texts: list[str], vectors: np.ndarray) -> None:
        """Store one batch, committed before returning: it survives the process being killed next."""
        rows = []
        for text, vector in zip(texts, np.asarray(vectors, dtype=np.float32), strict=True):
            key, blob = text_key(text), vector.tobytes()
            rows.append((model, key, len(vector), blob, _check(model, key, blob)))

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?)", rows)

        self._guarded(write, None)

    def tokens(self, tokenizer: str, keys: Iterable[bytes]) -> dict[bytes, list[str]]:
        """Cached tokens by :func:`text_key`."""
        keys = list(set(keys))
        damaged = 0

        def read(db: sqlite3.Connection) -> dict[bytes, list[str]]:
            nonlocal damaged
            found: dict[bytes, list[str]] = {}
            query = "SELECT text_sha, tokens FROM tokens WHERE tokenizer = ?"
            for key, value in _looked_up(db, query, tokenizer, keys):
                with contextlib.suppress(ValueError):  # bytes that are not UTF-8 or not JSON: a miss
                    tokens = json.loads(value)
                    if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
                        found[key] = tokens
                        continue
                damaged += 1
            return found

        found = self._guarded(read, {})
        if damaged:
            self._warn(f"{damaged} entries of the ingest cache {self.path} are unreadable; recomputing them")
        return found  # type: ignore[return-value]

    def put_tokens(self, tokenizer: str, entries: dict[bytes, list[str]]) -> None:
        rows = [(tokenizer, key, json.dumps(tokens, ensure_ascii=False)) for key, tokens in entries.items()]

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)", rows)

        self._guarded(write, None)

    def count(self, model: str) -> int:
        """How many vectors of ``model`` the cache holds."""
        found = self._guarded(
            lambda db: db.execute("SELECT count(*) FROM vectors WHERE model = ?", [model]).fetchone()[0], 0
        )
        return found if isinstance(found, int) else 0


def embed_passages(
    embeddings: IdentifiedEmbeddings, texts: list[str], cache: IngestCache | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:  # fmt: skip
    """Passage vectors for ``texts``: the cache's where it has them, the rest embedded in batches, each
    batch cached as soon as it is made (so a killed run resumes from there); also how many were embedded.
    ``progress(done, total)`` follows the batches, starting from what the cache held."""
    return _cached_rows(
        embeddings.cache_identity, embeddings.dimension, texts, embeddings.embed_passages,
        embeddings.passages_per_call, cache, progress,
    )  # fmt: skip


def latent_terms(
    embeddings: IdentifiedEmbeddings, texts: list[str], cache: IngestCache | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Terms], int]:  # fmt: skip
    """The latent terms of ``texts`` (``latent.py``), cached as passage vectors are (packed in one row
    each); also how many were computed."""

    def compute(batch: list[str]) -> np.ndarray:
        return np.vstack([packed(t) for t in embeddings.latent_terms(batch)])

    identity = made_by(embeddings.cache_identity)
    rows, made = _cached_rows(
        identity, 2 * TOP_K, texts, compute, embeddings.passages_per_call, cache, progress
    )
    return [unpacked(row) for row in rows], made


def _cached_rows(
    identity: str, width: int, texts: list[str], compute: Callable[[list[str]], np.ndarray], step: int,
    cache: IngestCache | None, progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, int]:  # fmt: skip
    matrix = np.zeros((len(texts), width), dtype=np.float32)
    found = cache.vectors(identity, width, texts) if cache is not None and texts else {}
    for i, vector in found.items():
        matrix[i] = vector
    missing = [i for i in range(len(texts)) if i not in found]
    if progress and texts:
        progress(len(found), len(texts))
    for at in range(0, len(missing), step):
        rows = missing[at : at + step]
        batch = [texts[i] for i in rows]
        vectors = compute(batch)
        matrix[rows] = vectors
        if cache is not None:
            cache.put_vectors(identity, batch, vectors)
        if progress:
            progress(len(found) + at + len(rows), len(texts))
    return matrix, len(missing)


def bm25_tokens(texts: list[str], cache: IngestCache | None) -> list[list[str]]:
    """The BM25 tokens of ``texts``; with a cache only new texts are tokenised (jieba is the slow part of
    rebuilding the BM25 index of a big KB for a small change)."""
    if cache is None:
        return [tokenize(t) for t in texts]
    tokenizer = tokenizer_identity()
    keys = [text_key(t) for t in texts]
    known = cache.tokens(tokenizer, keys)
    made = {key: tokenize(text) for key, text in zip(keys, texts, strict=True) if key not in known}
    if made:
        cache.put_tokens(tokenizer, made)
    known |= made
    return [known[key] for key in keys]


def _looked_up(db: sqlite3.Connection, query: str, owner: str, keys: list[bytes]) -> Iterator[Any]:
    """The rows of ``query`` (which selects by its one ``?``, the model or tokenizer) whose text_sha is one of
    ``keys``, asked for _LOOKUP keys at a time."""
    for start in range(0, len(keys), _LOOKUP):
        part = keys[start : start + _LOOKUP]
        yield from db.execute(f"{query} AND text_sha IN ({','.join('?' * len(part))})", [owner, *part])
