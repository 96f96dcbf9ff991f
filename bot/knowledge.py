"""Everything the bot reads from the published index, loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crmkb.bot.glossary import Glossary
from crmkb.ingest.artifacts import StoredDocument
from crmkb.ingest.catalog import english_section
from crmkb.ingest.chunking import SECTION_SEPARATOR, Chunk, same_title, split_lines
from crmkb.ingest.index import PublishedIndex, Version
from crmkb.ingest.sentences import SentenceTable
from crmkb.ingest.sparse import SparseIndex, tokenize

SectionKey = tuple[str, str]  # (source, section)


@dataclass
class Knowledge:
    version: Version
    index: PublishedIndex  # dense search, and whether the store still holds the version
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
    def load(cls, index: PublishedIndex, glossary: Glossary) -> Knowledge:
        """What the bot reads from one published version, with the lookups answering needs built once."""
        chunks = {c.id: c for c in index.chunks}
        by_chunk: dict[str, list[int]] = {}
        for i, unit in enumerate(index.sentences.units):
            for chunk in _containing(chunks, unit.source, unit.start, unit.end):
                by_chunk.setdefault(chunk, []).append(i)
        return cls(
            version=index.version,
            index=index,
            chunks=chunks,
            sparse_ids=index.sparse_ids,
            sparse=index.sparse,
            documents=index.documents,
            sentences=index.sentences,
            sentence_tokens=[frozenset(tokenize(u.text)) for u in index.sentences.units],
            chunk_sentences=by_chunk,
            glossary=glossary,
            headings={
                key: span
                for source, document in index.documents.items()
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
