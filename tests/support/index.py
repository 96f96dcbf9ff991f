"""The published index as tests inspect it: through the read side the bot and the admin commands use."""

from __future__ import annotations

from crmkb.core.settings import Settings
from crmkb.ingest.chunking import Chunk
from crmkb.ingest.index import IndexStore, Version, make_store


def opened(settings: Settings) -> tuple[IndexStore, Version]:
    """The index store and its active version (IndexMissing before the first ingest)."""
    store = make_store(settings)
    return store, store.require_active()


def chunks_of(settings: Settings, source: str | None = None) -> list[Chunk]:
    store, version = opened(settings)
    return store.chunks(version, source)
