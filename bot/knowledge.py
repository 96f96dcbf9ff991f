"""Everything the bot reads from the published index, loaded once per process."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crmkb.bot.glossary import Glossary
from crmkb.bot.language import Language, reply_language
from crmkb.bot.spans import ChunkSpans
from crmkb.ingest.artifacts import StoredDocument
from crmkb.ingest.catalog import english_section
from crmkb.ingest.chunk_table import ChunkTable
from crmkb.ingest.chunking import SECTION_SEPARATOR, Chunk, same_title, split_lines
from crmkb.ingest.index import PublishedIndex, Version
from crmkb.ingest.sentences import SentenceTable
from crmkb.ingest.sparse import SparseIndex

SectionKey = tuple[str, str]  # (source, section)


@dataclass
class Knowledge:
    index: PublishedIndex  # what was read from the version; also dense search, and whether the store holds it
    chunks: Mapping[str, Chunk]  # by id; built as they are read when the version's files hold them
    chunk_sentences: dict[str, list[int]]
    glossary: Glossary
    headings: dict[SectionKey, tuple[int, int]]  # the heading lines right above each section, as a span
    # Per-document views of the above, so that answering reads one document, never the whole knowledge base.
    spans: ChunkSpans
    source_sentences: dict[str, Sequence[int]]  # each document's sentence indexes, in order
    source_headings: dict[str, dict[str, tuple[int, int]]]  # each document's headings by section
    sections: dict[str, list[str]]  # each document's sections in reading order

    @classmethod
    def load(cls, index: PublishedIndex, glossary: Glossary) -> Knowledge:
        """What the bot reads from one published version, with the lookups answering needs built once."""
        chunks = index.chunks
        spans = ChunkSpans(every(chunks))
        by_chunk: dict[str, list[int]] = {}
        by_source: dict[str, list[int]] = {}
        for i, (source, start, end, _) in enumerate(index.sentences.positions()):
            by_source.setdefault(source, []).append(i)
            for chunk in spans.containing(source, start, end):
                by_chunk.setdefault(chunk, []).append(i)
        headings = {
            key: span
            for source, document in index.documents.items()
            for key, span in heading_spans(source, document.text, document.title).items()
        }
        by_heading: dict[str, dict[str, tuple[int, int]]] = {}
        for (source, section), span in headings.items():
            by_heading.setdefault(source, {})[section] = span
        return cls(
            index=index,
            chunks=chunks,
            chunk_sentences=by_chunk,
            glossary=glossary,
            headings=headings,
            spans=spans,
            source_sentences={source: _compact(found) for source, found in by_source.items()},
            source_headings=by_heading,
            sections=section_order(every(chunks)),
        )

    @property
    def version(self) -> Version:
        return self.index.version

    @property
    def documents(self) -> dict[str, StoredDocument]:
        return self.index.documents

    @property
    def sentences(self) -> SentenceTable:
        return self.index.sentences

    @property
    def sparse(self) -> SparseIndex:
        return self.index.sparse

    @property
    def sparse_ids(self) -> list[str]:
        return self.index.sparse_ids

    def section_order(self) -> dict[str, list[str]]:
        """Each document's sections in reading order (built at load; not to be changed)."""
        return self.sections

    def section_at(self, source: str, offset: int) -> str:
        """The section of ``source`` that the character at ``offset`` is in ("" outside every chunk)."""
        return self.spans.section_at(source, offset)

    def section_body(self, source: str, section: str) -> str:
        """The text a section heading stands for: from the heading to the next heading of its document."""
        span = self.headings.get((source, section))
        if span is None:
            return ""
        starts = [start for start, _ in self.source_headings.get(source, {}).values() if start > span[0]]
        return self.documents[source].text[span[0] : min(starts, default=None)]

    def titles(self, language: Language) -> list[str]:
        """The documents' titles, in English where the catalog gives them for a reply in English: to an
        English asker, and to one whose language is not recognised ("-----", "12345"), who is answered in
        English."""
        return [
            (document.title_en or document.title) if reply_language(language) == "en" else document.title
            for document in self.documents.values()
        ]

    def english(self, source: str, section: str) -> tuple[str, str]:
        """The catalog's English titles of a document and of one of its sections ("" where it has none)."""
        document = self.documents.get(source)
        if document is None:
            return "", ""
        return document.title_en, english_section(section, document.sections_en)

    def sentence_vectors(self, indexes: list[int]) -> np.ndarray:
        return self.sentences.vectors[indexes]


def every(chunks: Mapping[str, Chunk]) -> Iterable[Chunk]:
    """All of ``chunks`` once, in order (a table's built without crowding out the ones it keeps)."""
    return chunks.all() if isinstance(chunks, ChunkTable) else chunks.values()


def _compact(indexes: list[int]) -> Sequence[int]:
    """A run of consecutive indexes as a range (a document's sentences are stored together, so this is the
    usual case: a few bytes where a list held an integer object per sentence)."""
    if indexes and indexes[-1] - indexes[0] + 1 == len(indexes):
        return range(indexes[0], indexes[-1] + 1)
    return indexes


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


def section_order(chunks: Iterable[Chunk]) -> dict[str, list[str]]:
    """Each document's sections in the order its chunks read them."""
    order: dict[str, list[str]] = {}
    seen: set[SectionKey] = set()
    for chunk in sorted(chunks, key=lambda c: (c.source, c.start)):
        if (chunk.source, chunk.section) not in seen:
            seen.add((chunk.source, chunk.section))
            order.setdefault(chunk.source, []).append(chunk.section)
    return order
