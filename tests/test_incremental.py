"""A small change costs a small ingest: a document whose file and preparation are unchanged is taken over
from the active version unread; anything that shapes its chunks (its bytes, its catalog entry, the chunk
settings) has it prepared again."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crmkb.core.settings import Settings
from crmkb.ingest.artifacts import read_sentences
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from tests.support.index import chunks_of, opened

EDITED = "001_4998ac562ddf94fb.txt"
RETITLED = "000_ea5525b80525cb07.txt"


def test_only_the_changed_file_is_read_again(settings: Settings, tmp_path: Path) -> None:
    first = run_ingest(settings, embeddings=HashEmbeddings())
    # what cleaning the edited file alone removes, from an ingest of it alone elsewhere
    alone = settings.model_copy(update={"data_dir": tmp_path / "alone"})
    single = run_ingest(alone, [settings.kb_dir / EDITED], embeddings=HashEmbeddings())
    assert 0 < sum(single.cleaning.values()) < sum(first.cleaning.values())

    path = settings.kb_dir / EDITED
    path.write_text(path.read_text(encoding="utf-8").replace("俗话说", "常言道"), encoding="utf-8")
    second = run_ingest(settings, embeddings=HashEmbeddings())
    assert second.published and second.documents == first.documents == 5
    assert second.cleaning == single.cleaning  # the four unchanged files were not cleaned again
    assert "常言道" in "".join(c.text for c in chunks_of(settings, EDITED))


def test_a_new_catalog_title_prepares_the_document_again(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    catalog = settings.kb_dir / "catalog.toml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace("如何挽救一个失败的CRM系统", "挽救失败的CRM系统"),
        encoding="utf-8",
    )
    report = run_ingest(settings, embeddings=HashEmbeddings())
    assert report.published and report.embedded > 0
    assert {c.title for c in chunks_of(settings, RETITLED)} == {"挽救失败的CRM系统"}


def test_other_chunk_settings_prepare_everything_again(settings: Settings) -> None:
    first = run_ingest(settings, embeddings=HashEmbeddings())
    smaller = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"chunk_chars": 200})})
    report = run_ingest(smaller, embeddings=HashEmbeddings())
    assert report.chunks > first.chunks
    assert max(len(c.text) for c in chunks_of(smaller)) <= 200 + 80


def test_sentences_after_a_change_are_those_of_a_cold_ingest(settings: Settings, tmp_path: Path) -> None:
    """Unchanged documents' sentences are taken over from the active version, not split again: the
    table must still be exactly what an ingest from scratch makes."""
    run_ingest(settings, embeddings=HashEmbeddings())
    path = settings.kb_dir / EDITED
    path.write_text(path.read_text(encoding="utf-8").replace("俗话说", "常言道"), encoding="utf-8")
    (settings.kb_dir / RETITLED).unlink()
    second = run_ingest(settings, embeddings=HashEmbeddings())
    assert second.published and 1 <= second.sentences_embedded <= 3

    cold = settings.model_copy(update={"data_dir": tmp_path / "cold"})
    run_ingest(cold, embeddings=HashEmbeddings())
    want = read_sentences(cold.data_dir, opened(cold)[1].name)
    for rebuild in (False, True):  # and a rebuild, which takes nothing over, makes the same table
        run_ingest(settings, rebuild=rebuild, embeddings=HashEmbeddings())
        got = read_sentences(settings.data_dir, opened(settings)[1].name)
        assert [(u.source, u.start, u.end, u.text) for u in got.units] == [
            (u.source, u.start, u.end, u.text) for u in want.units
        ]
        assert RETITLED not in {u.source for u in got.units}
        np.testing.assert_array_equal(got.vectors, want.vectors)
