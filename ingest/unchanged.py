"""Documents that need not be read again: their file and everything that shapes their chunks are as they
were when the active version was written, so its document and chunks are taken as they are.

Reading, cleaning and chunking every file is what an ingest of a big KB spends most of its time on when
one document changed (about 30 s of 45 at 10,000 chunks). A document is taken over only when the SHA-256
of its file, its catalog entry, the ingest settings that shape chunks and the code that prepares them are
all unchanged: an upgrade of the cleaning code prepares everything again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from functools import cache
from pathlib import Path

from crmkb.core.settings import IngestSettings
from crmkb.ingest import boilerplate, catalog, chunking, clean, loaders, normalise, residue, tracked
from crmkb.ingest.artifacts import StoredDocument
from crmkb.ingest.catalog import CatalogEntry
from crmkb.ingest.chunking import Chunk


@cache
def _code_identity() -> str:
    digest = hashlib.sha256()
    for module in (boilerplate, catalog, chunking, clean, loaders, normalise, residue, tracked):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


def fingerprint(settings: IngestSettings, entry: CatalogEntry | None) -> str:
    """What, besides the file's bytes, decides a document's cleaned text and chunks."""
    shaping = {
        "code": _code_identity(),
        "settings": settings.model_dump(
            include={"chunk_chars", "overlap_chars", "max_text_chars", "max_file_mb", "max_unpacked_mb"}
        ),
        "entry": entry.model_dump(mode="json") if entry else None,
    }
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:32]


def take_over(
    path: Path, document: StoredDocument, chunks: list[Chunk], stamp: str, max_bytes: int
) -> tuple[StoredDocument, list[Chunk], Counter[str]] | None:
    """The active version's ``document`` and ``chunks`` for ``path`` when nothing that shapes them changed
    (``stamp`` is this run's :func:`fingerprint` for the file); ``None`` when the file must be prepared."""
    if document.prepared_with != stamp or document.source != path.name or not chunks:
        return None
    try:
        if path.stat().st_size > max_bytes:
            return None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # preparing it again says what is wrong
    if digest != document.sha256:
        return None
    return document, sorted(chunks, key=lambda c: (c.start, c.end, c.id)), Counter()
