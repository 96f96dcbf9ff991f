"""The lookups built at load (crmkb.bot.spans, crmkb.bot.knowledge) give what a scan of every chunk gave."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkb.bot.evidence import Vocabulary
from crmkb.bot.knowledge import section_order
from crmkb.bot.spans import ChunkSpans, Substrings, top
from crmkb.core.settings import get_settings
from crmkb.ingest.catalog import load_catalog
from crmkb.ingest.chunking import Chunk
from crmkb.ingest.pipeline import prepare
from crmkb.ingest.sentences import sentence_units
from crmkb.ingest.sparse import fold
from tests.conftest import ARTICLES, KB


def brute_containing(chunks: list[Chunk], source: str, start: int, end: int) -> list[str]:
    return [c.id for c in chunks if c.source == source and c.start <= start and end <= c.end]


def brute_section_at(chunks: list[Chunk], source: str, offset: int) -> str:
    return next((c.section for c in chunks if c.source == source and c.start <= offset < c.end), "")


def brute_section_order(chunks: list[Chunk]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for chunk in sorted(chunks, key=lambda c: (c.source, c.start)):
        sections = order.setdefault(chunk.source, [])
        if chunk.section not in sections:
            sections.append(chunk.section)
    return order


def chunk(cid: str, start: int, end: int, source: str = "a.txt", section: str = "") -> Chunk:
    return Chunk(
        cid, source, "t", section or cid, "best-practice", start, end, start, end, "x" * (end - start)
    )


@pytest.fixture(scope="module")
def real_chunks(tmp_path_factory: pytest.TempPathFactory) -> list[Chunk]:
    config = get_settings(kb_dir=KB, data_dir=tmp_path_factory.mktemp("spans"))
    catalog = load_catalog(KB)
    return [c for path in ARTICLES for c in prepare(path, kb_dir=KB, catalog=catalog, settings=config).chunks]


def test_every_real_sentence_maps_to_the_chunks_a_scan_finds(real_chunks: list[Chunk]) -> None:
    spans = ChunkSpans(real_chunks)
    units = sentence_units([(c.id, c.source, c.start, c.text) for c in real_chunks])
    assert len(units) > 500
    for unit in units:
        assert spans.containing(unit.source, unit.start, unit.end) == brute_containing(
            real_chunks, unit.source, unit.start, unit.end
        )
    # chunks overlap in the real KB: some sentence is in two chunks, or the test proves less than it says
    assert any(len(spans.containing(u.source, u.start, u.end)) > 1 for u in units)


def test_every_real_offset_is_in_the_section_a_scan_finds(real_chunks: list[Chunk]) -> None:
    spans = ChunkSpans(real_chunks)
    for source in {c.source for c in real_chunks}:
        last = max(c.end for c in real_chunks if c.source == source)
        for offset in range(-1, last + 2):
            assert spans.section_at(source, offset) == brute_section_at(real_chunks, source, offset)
    assert section_order(real_chunks) == brute_section_order(real_chunks)


def test_edges_overlaps_and_index_order() -> None:
    # listed out of start order, a long chunk before short ones (only a running maximum of the ends finds
    # "long" from a span near its end), two overlapping ones, and another document's at the same offsets
    chunks = [
        chunk("c", 50, 80),
        chunk("long", 0, 100),
        chunk("a", 0, 30),
        chunk("b", 20, 60),
        chunk("other", 0, 100, source="b.txt"),
        chunk("d", 80, 90),
    ]
    spans = ChunkSpans(chunks)
    cases = [
        (0, 30),  # exactly chunk a, from its first character to its end
        (20, 30),  # the overlap of a and b
        (25, 35),  # across a's end: in b, not a
        (55, 85),  # across c's end into d: only the long chunk holds it
        (80, 80),  # empty, at a boundary
        (90, 95),  # after d ends
        (99, 100),  # the long chunk's last character
        (100, 101),  # past every chunk
    ]
    for start, end in cases:
        assert spans.containing("a.txt", start, end) == brute_containing(chunks, "a.txt", start, end)
    assert spans.containing("a.txt", 25, 35) == ["long", "b"]  # the index's order, not the start order
    assert spans.containing("missing.txt", 0, 1) == []
    for offset in (0, 29, 30, 79, 80, 89, 90, 99, 100):
        assert spans.section_at("a.txt", offset) == brute_section_at(chunks, "a.txt", offset)
    assert spans.section_at("a.txt", 85) == "long"  # first in the index's order, though d starts later


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30), st.sampled_from("ab")), max_size=12),
    st.lists(st.tuples(st.integers(-2, 95), st.integers(0, 20), st.sampled_from("abc")), max_size=12),
)
def test_any_chunks_and_spans_match_a_scan(
    rows: list[tuple[int, int, str]], asks: list[tuple[int, int, str]]
) -> None:
    chunks = [chunk(f"c{i}", start, start + length, source=s) for i, (start, length, s) in enumerate(rows)]
    spans = ChunkSpans(chunks)
    for start, length, source in asks:
        assert spans.containing(source, start, start + length) == brute_containing(
            chunks, source, start, start + length
        )
        assert spans.section_at(source, start) == brute_section_at(chunks, source, start)
    assert section_order(chunks) == brute_section_order(chunks)


def test_top_is_the_head_of_a_full_sort() -> None:
    values = np.random.default_rng(3).permutation(1000).astype(np.float32)
    for k in (0, 1, 40, 999, 1000, 2000):
        assert top(values, k).tolist() == np.argsort(-values)[:k].tolist()
    assert top(np.zeros(0, dtype=np.float32), 5).tolist() == []


def test_the_knowledge_base_loads_its_lookups(tmp_path: Path) -> None:
    """Knowledge.load fills the per-document views from the same data the whole-KB fields hold."""
    from crmkb.bot.service import Bot
    from crmkb.ingest.embeddings import HashEmbeddings
    from crmkb.ingest.pipeline import run_ingest

    config = get_settings(kb_dir=KB, data_dir=tmp_path / "data")
    run_ingest(config, embeddings=HashEmbeddings())
    knowledge = Bot(config, embeddings=HashEmbeddings()).load().knowledge
    chunks = list(knowledge.chunks.values())
    units = knowledge.sentences.units
    expected: dict[str, list[int]] = {}
    for i, unit in enumerate(units):
        for cid in brute_containing(chunks, unit.source, unit.start, unit.end):
            expected.setdefault(cid, []).append(i)
    assert knowledge.chunk_sentences == expected
    assert {s: list(found) for s, found in knowledge.source_sentences.items()} == {
        s: [i for i, u in enumerate(units) if u.source == s] for s in {u.source for u in units}
    }
    assert knowledge.source_headings == {
        s: {section: span for (src, section), span in knowledge.headings.items() if src == s}
        for s in {src for src, _ in knowledge.headings}
    }
    assert knowledge.section_order() == brute_section_order(chunks)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text("ab-中\n", max_size=12), max_size=5),
    st.lists(st.text("ab-中\n\ud800", max_size=4), max_size=8),
)
def test_a_substring_is_found_as_a_search_of_the_joined_texts_finds_it(
    texts: list[str], needles: list[str]
) -> None:
    index = Substrings(texts)
    joined = "\n".join(texts)
    for needle in needles:
        assert index.contains(needle) == (needle in joined)
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])")
        assert index.search(needle, pattern) == (pattern.search(joined) is not None)


def test_the_vocabulary_knows_what_the_real_articles_say() -> None:
    texts = [path.read_text(encoding="utf-8") for path in ARTICLES]
    vocabulary = Vocabulary(texts)
    joined = "\n".join(texts).lower()
    words = {joined[i : i + n] for i in range(0, len(joined), 97) for n in (1, 2, 3, 5)}
    words |= {
        "项目经理",
        "供应商",
        "个人信息保护法",
        "salesforce",
        "go-live",
        "crm系统",
        "上线\n",
        "不存在的词",
    }
    latin = {fold(w) for w in re.findall(r"[a-z0-9]+", joined)}

    def scanned(word: str) -> bool:  # Vocabulary.knows as it was, searching the joined text
        if re.search(r"[\u3400-\u9fff]", word) or not re.search(r"[a-z0-9]", word):
            return word in joined
        if re.fullmatch(r"[a-z0-9]+", word):
            return fold(word) in latin
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", joined) is not None

    assert any(vocabulary.knows(w) for w in words) and not all(vocabulary.knows(w) for w in words)
    for word in words:
        assert vocabulary.knows(word) == scanned(word), word
