"""Everything the bot reads from the published index, loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from crmkb.bot.glossary import Glossary
from crmkb.ingest import artifacts
from crmkb.ingest.artifacts import StoredDocument
from crmkb.ingest.catalog import english_section
from crmkb.ingest.chunking import SECTION_SEPARATOR, Chunk, same_title, split_lines
from crmkb.ingest.embeddings import IdentifiedEmbeddings
from crmkb.ingest.index import IndexDamaged, all_chunks, open_store
from crmkb.ingest.sentences import SentenceTable
from crmkb.ingest.sparse import SparseIndex, tokenize
from crmkb.ingest.store import Version
from crmkb.settings import Settings

SectionKey = tuple[str, str]  # (source, section)


@dataclass
class Knowledge:
    version: Version
    collection: Any
    chunks: dict[str, Chunk]
    sparse_ids: list[str]
    sparse: SparseIndex
    documents: dict[str, StoredDocument]
    sentences: SentenceTable
    sentence_tokens: list[frozenset[str]]
    chunk_sentences: dict[str, list[int]]
    glossary: Glossary
    headings: dict[SectionKey, tuple[int, int]]  # the heading lines right above each section, as a span

    @classmethod
    def load(cls, settings: Settings, embeddings: IdentifiedEmbeddings, client: Any = None) -> Knowledge:
        """Open the active index; refuses an index built by another embedding model."""
        store, version = open_store(settings, client)
        store.check_embedder(version, embeddings.name, embeddings.dimension)
        problems = artifacts.damaged(settings.data_dir, version.name)
        if problems:
            raise IndexDamaged(
                f"the index files of {version.name} under {settings.data_dir} are damaged or missing "
                f"({'; '.join(problems[:3])}): run `crmkb ingest` to repair them"
            )
        try:
            sparse, sparse_ids = artifacts.read_sparse(settings.data_dir, version.name)
            sentences = artifacts.read_sentences(settings.data_dir, version.name)
        except (OSError, ValueError) as exc:
            raise IndexDamaged(
                f"the index files of {version.name} cannot be read ({exc}): run `crmkb ingest` to repair them"
            ) from exc
        chunks = {c.id: c for c in all_chunks(store, version)}
        by_chunk: dict[str, list[int]] = {}
        for i, unit in enumerate(sentences.units):
            for chunk in _containing(chunks, unit.source, unit.start, unit.end):
                by_chunk.setdefault(chunk, []).append(i)
        documents = artifacts.read_documents(settings.data_dir, version.name)
        return cls(
            version=version,
            collection=store.collection(version),
            chunks=chunks,
            sparse_ids=sparse_ids,
            sparse=sparse,
            documents=documents,
            sentences=sentences,
            sentence_tokens=[frozenset(tokenize(u.text)) for u in sentences.units],
            chunk_sentences=by_chunk,
            glossary=Glossary.load(settings.kb_dir),
            headings={
                key: span
                for source, document in documents.items()
                for key, span in heading_spans(source, document.text, document.title).items()
            },
        )

    def section_order(self) -> dict[str, list[str]]:
        """Each document's sections in reading order."""
        order: dict[str, list[str]] = {}
        for chunk in sorted(self.chunks.values(), key=lambda c: (c.source, c.start)):
            sections = order.setdefault(chunk.source, [])
            if chunk.section not in sections:
                sections.append(chunk.section)
        return order

    def section_at(self, source: str, offset: int) -> str:
        """The section of ``source`` that the character at ``offset`` is in ("" outside every chunk)."""
        return next(
            (c.section for c in self.chunks.values() if c.source == source and c.start <= offset < c.end), ""
        )

    def english(self, source: str, section: str) -> tuple[str, str]:
        """The catalog's English titles of a document and of one of its sections ("" where it has none)."""
        document = self.documents.get(source)
        if document is None:
            return "", ""
        return document.title_en, english_section(section, document.sections_en)

    def sentence_vectors(self, indexes: list[int]) -> np.ndarray:
        return self.sentences.vectors[indexes]


def heading_spans(source: str, text: str, title: str) -> dict[SectionKey, tuple[int, int]]:
    """For each section, the span of the run of heading lines right above its body, read the way
    chunking reads them (so the keys match the chunks' sections)."""
    spans: dict[SectionKey, tuple[int, int]] = {}
    chain: list[str] = []
    run: tuple[int, int] | None = None
    lines = split_lines(text)
    if lines and same_title(lines[0].text, title):
        lines = lines[1:]
    for line in lines:
        if line.heading_level:
            del chain[line.heading_level - 1 :]
            chain.append(line.text.strip())
            run = (run[0] if run else line.start, line.end)
        elif run is not None:
            spans.setdefault((source, SECTION_SEPARATOR.join(chain)), run)
            run = None
    return spans


def _containing(chunks: dict[str, Chunk], source: str, start: int, end: int) -> list[str]:
    return [c.id for c in chunks.values() if c.source == source and c.start <= start and end <= c.end]
