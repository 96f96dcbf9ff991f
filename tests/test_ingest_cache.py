"""The ingest cache: a killed ingest resumes where it stopped, a model never takes another's vectors, and a
damaged cache is set aside or recomputed, never trusted; an interrupted run publishes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from crmkb.core.settings import Settings, get_settings
from crmkb.ingest import artifacts
from crmkb.ingest.cache import CACHE_FILE, IngestCache
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.index import make_store
from crmkb.ingest.pipeline import IngestReport, run_ingest
from tests.fakes import CountingEmbeddings

BATCH = HashEmbeddings().passages_per_call
Index = tuple[list[str], np.ndarray, np.ndarray]  # chunk ids, chunk vectors, sentence vectors


def texts_embedded(report: IngestReport) -> int:
    return report.embedded + report.sentences_embedded


def published(settings: Settings) -> Index:
    """The active version's chunk ids, chunk vectors and sentence vectors, in a fixed order."""
    store = make_store(settings)
    version = store.require_active()
    rows = sorted(store.vectors.records(version, with_embeddings=True), key=lambda rv: rv[0].id)
    sentences = artifacts.read_sentences(settings.data_dir, version.name)
    return [r.id for r, _ in rows], np.array([v for _, v in rows]), sentences.vectors


@pytest.fixture
def reference(tmp_path: Path, settings: Settings) -> tuple[IngestReport, Index]:
    """An uninterrupted ingest of the same KB in another data dir: how many texts there are to embed,
    and the index they make."""
    other = get_settings(kb_dir=settings.kb_dir, data_dir=tmp_path / "reference")
    report = run_ingest(other, embeddings=HashEmbeddings())
    return report, published(other)


@pytest.mark.parametrize("interrupt", [False, True], ids=["crash", "ctrl-c"])
def test_killed_ingest_resumes_where_it_stopped(
    settings: Settings, reference: tuple[IngestReport, Index], interrupt: bool
) -> None:
    full, index = reference
    total = texts_embedded(full)
    assert total > 4 * BATCH
    dying = CountingEmbeddings(fail_after=4 * BATCH, interrupt=interrupt)  # the chunks, a batch of sentences
    with pytest.raises(KeyboardInterrupt if interrupt else RuntimeError):
        run_ingest(settings, embeddings=dying)
    assert 3 * BATCH < dying.embedded <= 4 * BATCH
    # nothing was published: no active version, no index folder, nothing left in the store
    assert make_store(settings).active() is None
    assert not any(artifacts.index_root(settings.data_dir).glob("*-v*"))

    again = CountingEmbeddings()
    report = run_ingest(settings, embeddings=again)
    assert report.published
    assert again.embedded == texts_embedded(report) == total - dying.embedded
    assert report.from_cache == dying.embedded
    ids, chunks, sentences = published(settings)
    assert ids == index[0]
    np.testing.assert_array_equal(chunks, index[1])
    np.testing.assert_array_equal(sentences, index[2])


def test_interrupted_run_on_an_index_publishes_nothing_then_resumes(settings: Settings) -> None:
    first = run_ingest(settings, embeddings=HashEmbeddings())
    before = published(settings)
    for path in settings.kb_dir.glob("*.txt"):
        path.write_text(
            "新增的第一行。\n" + path.read_text(encoding="utf-8").replace("。", "!"), encoding="utf-8"
        )
    dying = CountingEmbeddings(fail_after=2 * BATCH)
    with pytest.raises(RuntimeError):
        run_ingest(settings, embeddings=dying)
    assert make_store(settings).require_active().name == first.version
    after = published(settings)
    assert after[0] == before[0]
    np.testing.assert_array_equal(after[2], before[2])
    assert not any(p.name.endswith(".tmp") for p in artifacts.index_root(settings.data_dir).iterdir())

    again = CountingEmbeddings()
    report = run_ingest(settings, embeddings=again)
    assert report.published and report.from_cache == dying.embedded > 0
    assert again.embedded == texts_embedded(report) > 0


def test_another_model_never_takes_cached_vectors(settings: Settings) -> None:
    first = run_ingest(settings, embeddings=HashEmbeddings())
    other = CountingEmbeddings(name="hash/another-model")
    report = run_ingest(settings, rebuild=True, embeddings=other)
    assert report.from_cache == 0
    assert other.embedded == texts_embedded(report) == texts_embedded(first)
    assert make_store(settings).require_active().embedder == "hash/another-model"

    # and back: the first model's vectors are still there, and still its own
    back = CountingEmbeddings()
    report = run_ingest(settings, rebuild=True, embeddings=back)
    assert back.embedded == 0 and report.from_cache == texts_embedded(first)


def test_same_name_other_dimension_is_another_model(tmp_path: Path) -> None:
    cache = IngestCache(tmp_path / CACHE_FILE)
    cache.put_vectors("hash/x", ["甲乙丙"], HashEmbeddings(64).embed_passages(["甲乙丙"]))
    assert cache.vectors("hash/x", 32, ["甲乙丙"]) == {}
    assert cache.vectors("hash/y", 64, ["甲乙丙"]) == {}
    assert list(cache.vectors("hash/x", 64, ["甲乙丙"])) == [0]


def test_unreadable_cache_is_set_aside_in_one_line(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    path = settings.data_dir / CACHE_FILE
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)

    embedder = CountingEmbeddings()
    report = run_ingest(settings, rebuild=True, embeddings=embedder)
    assert report.published and report.from_cache == 0 and embedder.embedded == texts_embedded(report) > 0
    [line] = [w for w in report.warnings if CACHE_FILE in w]
    assert "unreadable" in line and "\n" not in line
    assert list(settings.data_dir.glob(f"{CACHE_FILE}.corrupt-*"))
    # the fresh cache works: the next rebuild embeds nothing
    assert run_ingest(settings, rebuild=True, embeddings=CountingEmbeddings()).from_cache > 0


def rebuilt_after(settings: Settings, damage: str) -> tuple[int, CountingEmbeddings, IngestReport]:
    """Ingest, damage the cache with the SQL statement ``damage``, and rebuild: how many rows it damaged,
    the rebuild's embedder and its report."""
    run_ingest(settings, embeddings=HashEmbeddings())
    with sqlite3.connect(settings.data_dir / CACHE_FILE) as db:
        damaged = db.execute(damage).rowcount
    embedder = CountingEmbeddings()
    return damaged, embedder, run_ingest(settings, rebuild=True, embeddings=embedder)


def test_damaged_cached_vectors_are_recomputed_not_published(
    settings: Settings, reference: tuple[IngestReport, Index]
) -> None:
    damaged, embedder, report = rebuilt_after(
        settings,
        "UPDATE vectors SET vector = zeroblob(length(vector)) WHERE text_sha IN "
        "(SELECT text_sha FROM vectors ORDER BY text_sha LIMIT 10)",
    )
    assert damaged == 10
    assert embedder.embedded == texts_embedded(report) == 10
    assert any("10 entries" in w and "checksum" in w for w in report.warnings)
    _full, (ids, chunks, sentences) = reference
    got = published(settings)
    assert got[0] == ids
    np.testing.assert_array_equal(got[1], chunks)
    np.testing.assert_array_equal(got[2], sentences)


def test_a_row_that_is_not_utf8_is_one_miss_not_the_whole_cache(
    settings: Settings, reference: tuple[IngestReport, Index]
) -> None:
    """SQLite fails a whole SELECT on one TEXT value that is not UTF-8: the cache reads bytes, so a damaged
    row is recomputed and every other row is still taken from the cache."""
    damaged, embedder, report = rebuilt_after(
        settings,
        "UPDATE tokens SET tokens = CAST(X'FF5B' AS TEXT) WHERE text_sha = "
        "(SELECT text_sha FROM tokens ORDER BY text_sha LIMIT 1)",
    )
    assert damaged == 1
    assert embedder.embedded == 0 and report.from_cache == texts_embedded(reference[0])
    assert any("1 entries" in w and "unreadable" in w for w in report.warnings)
    assert not any("without it" in w for w in report.warnings)
    with sqlite3.connect(settings.data_dir / CACHE_FILE) as db:  # and the row is whole again
        assert db.execute("SELECT count(*) FROM tokens WHERE tokens = CAST(X'FF5B' AS TEXT)").fetchone() == (
            0,
        )


def test_cache_turned_off_embeds_everything(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    off = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"cache": False})})
    embedder = CountingEmbeddings()
    report = run_ingest(off, rebuild=True, embeddings=embedder)
    assert report.from_cache == 0 and embedder.embedded == texts_embedded(report) > 0


def test_a_locked_cache_is_left_alone_and_the_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    warnings: list[str] = []
    cache = IngestCache(path, warnings.append, wait_s=0.1)
    vectors = HashEmbeddings().embed_passages(["甲乙丙"])
    with sqlite3.connect(path, isolation_level=None) as other:
        other.execute("BEGIN IMMEDIATE")  # another process writing, or an admin's sqlite3 shell
        cache.put_vectors("hash/x", ["甲乙丙"], vectors)
        other.execute("ROLLBACK")
    [line] = warnings
    assert "going on without it" in line
    assert path.exists() and not list(tmp_path.glob("*.corrupt-*"))
    assert IngestCache(path).vectors("hash/x", 64, ["甲乙丙"]) == {}  # nothing written, nothing lost
