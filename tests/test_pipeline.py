"""The ingest run against a real embedded Chroma, with the fake embedder: idempotence, change, delete,
failure safety, bad input and the model check."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from crmkb.core.settings import Settings
from crmkb.ingest import artifacts
from crmkb.ingest.catalog import CatalogError
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from crmkb.ingest.store import EmbedderMismatch
from tests.fakes import CountingEmbeddings
from tests.support.index import chunks_of, opened

ARTICLE = "001_4998ac562ddf94fb.txt"


def chunks_by_source(settings: Settings) -> dict[str, set[str]]:
    store, version = opened(settings)
    out: dict[str, set[str]] = {}
    for chunk in store.chunks(version):
        out.setdefault(chunk.source, set()).add(chunk.id)
    return out


def test_first_ingest_then_nothing_to_do(settings: Settings, fake_embeddings: HashEmbeddings) -> None:
    first = run_ingest(settings, embeddings=fake_embeddings)
    assert first.documents == 5 and first.published
    assert first.embedded == first.chunks > 40
    assert not first.skipped
    assert first.cleaning["pinyin annotation"] > 100

    again = run_ingest(settings, embeddings=HashEmbeddings())
    assert (again.embedded, again.unchanged, again.removed) == (0, first.chunks, 0)
    assert not again.published and again.version == first.version


def test_every_chunk_is_its_documents_cleaned_text(
    settings: Settings, fake_embeddings: HashEmbeddings
) -> None:
    run_ingest(settings, embeddings=fake_embeddings)
    store, version = opened(settings)
    documents = artifacts.read_documents(settings.data_dir, version.name)
    originals = {p.name: p.read_text(encoding="utf-8") for p in settings.kb_dir.glob("*.txt")}
    chunks = store.chunks(version)
    for chunk in chunks:
        doc = documents[chunk.source]
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert doc.original_span(chunk.start, chunk.end) == (chunk.orig_start, chunk.orig_end)
        assert 0 <= chunk.orig_start < chunk.orig_end <= len(originals[chunk.source])
        assert chunk.kind in {"best-practice", "failure-case"}
    titles = {c.source: c.title for c in chunks}
    assert titles["000_ea5525b80525cb07.txt"] == "如何挽救一个失败的CRM系统"


def test_changed_file_replaces_only_its_chunks(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    before = chunks_by_source(settings)
    path = settings.kb_dir / ARTICLE
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("好记性不如烂笔头。", "好记性不如烂笔头,每季度还要回访一次客户。"), encoding="utf-8"
    )

    embedder = CountingEmbeddings()
    report = run_ingest(settings, embeddings=embedder)
    after = chunks_by_source(settings)
    changed = after[ARTICLE] - before[ARTICLE]
    assert 1 <= report.embedded == len(changed)
    assert 1 <= report.sentences_embedded <= 2  # the edited sentence (and a neighbour split differently)
    assert embedder.embedded == report.embedded + report.sentences_embedded
    assert report.removed == len(before[ARTICLE] - after[ARTICLE])
    for source in before.keys() - {ARTICLE}:
        assert after[source] == before[source]


def test_deleted_file_takes_its_chunks_with_it(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    before = chunks_by_source(settings)
    (settings.kb_dir / ARTICLE).unlink()
    report = run_ingest(settings, embeddings=HashEmbeddings())
    assert report.embedded == 0
    assert report.removed == len(before[ARTICLE])
    assert ARTICLE not in chunks_by_source(settings)


@pytest.mark.parametrize("interrupt", [False, True], ids=["crash", "ctrl-c"])
def test_failed_run_leaves_previous_index_intact(settings: Settings, interrupt: bool) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    before = chunks_by_source(settings)
    _store, version = opened(settings)
    for p in settings.kb_dir.glob("*.txt"):
        p.write_text("新增的第一行。\n" + p.read_text(encoding="utf-8"), encoding="utf-8")

    with pytest.raises(KeyboardInterrupt if interrupt else RuntimeError):
        run_ingest(settings, embeddings=CountingEmbeddings(fail_after=3, interrupt=interrupt))
    store_after, version_after = opened(settings)
    assert version_after == version
    assert chunks_by_source(settings) == before
    assert artifacts.read_documents(settings.data_dir, version.name)
    assert store_after.vectors.droppable(0) == []  # nothing half-written was left in the store


def test_bad_inputs_are_skipped_with_reasons(settings: Settings) -> None:
    kb = settings.kb_dir
    (kb / "empty.txt").write_bytes(b"")
    (kb / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (kb / "garbled.txt").write_bytes(bytes([0x81, 0xFF, 0xFE, 0x80]) * 50)
    (kb / "only-furniture.txt").write_text(
        "首页>>资讯>>CRM\n上一篇:别的文章\ncopyright 2024\n", encoding="utf-8"
    )
    (kb / "notes.xyz").write_text("CRM", encoding="utf-8")
    (kb / "gone.txt").symlink_to(kb / "missing-target.txt")

    report = run_ingest(settings, [kb, kb / "no-such-file.md"], embeddings=HashEmbeddings())
    reasons = {s.file: s.reason for s in report.skipped}
    assert report.documents == 5
    assert reasons["empty.txt"].startswith("empty")
    assert "binary" in reasons["image.txt"]
    assert "undecodable" in reasons["garbled.txt"]
    assert reasons["only-furniture.txt"].startswith("nothing left after cleaning")
    assert "unsupported" in reasons["notes.xyz"]
    assert reasons["gone.txt"].startswith("unreadable")
    assert reasons["no-such-file.md"].startswith("unreadable")
    assert all("\n" not in r and len(r) < 160 for r in reasons.values())


def test_nothing_ingestible_leaves_store_untouched(tmp_path: Path, settings: Settings) -> None:
    empty_kb = tmp_path / "empty-kb"
    empty_kb.mkdir()
    (empty_kb / "a.txt").write_bytes(b"")
    report = run_ingest(settings.model_copy(update={"kb_dir": empty_kb}), embeddings=HashEmbeddings())
    assert report.documents == 0 and not report.published
    assert [s.file for s in report.skipped] == ["a.txt"]


def test_a_file_that_turns_bad_keeps_its_previous_chunks(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    before = chunks_by_source(settings)
    (settings.kb_dir / ARTICLE).write_bytes(b"")
    report = run_ingest(settings, embeddings=HashEmbeddings())
    assert [s.file for s in report.skipped] == [ARTICLE]
    assert chunks_by_source(settings)[ARTICLE] == before[ARTICLE]


def test_uncatalogued_document_gets_title_from_first_line(settings: Settings) -> None:
    (settings.kb_dir / "new-note.md").write_text(
        "# 上线失败的教训\n\n上线前一定要做数据迁移演练。没有演练的切换风险很大。\n", encoding="utf-8"
    )
    run_ingest(settings, embeddings=HashEmbeddings())
    store, version = opened(settings)
    chunk = next(c for c in store.chunks(version) if c.source == "new-note.md")
    assert chunk.title == "上线失败的教训"
    assert chunk.kind == "failure-case"
    assert chunk.text == "上线前一定要做数据迁移演练。没有演练的切换风险很大。"


def test_invalid_catalog_is_a_clear_error(settings: Settings) -> None:
    (settings.kb_dir / "catalog.toml").write_text(
        '["001.txt"]\ntitle = "x"\nkind = "opinion"\n', encoding="utf-8"
    )
    with pytest.raises(CatalogError, match=r"001.txt.*kind"):
        run_ingest(settings, embeddings=HashEmbeddings())


def test_other_embedder_is_refused_until_rebuild(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    with pytest.raises(EmbedderMismatch, match="--rebuild"):
        run_ingest(settings, embeddings=HashEmbeddings(dimension=32, name="fake/other"))
    report = run_ingest(settings, rebuild=True, embeddings=HashEmbeddings(dimension=32, name="fake/other"))
    assert report.embedded == report.chunks
    _, version = opened(settings)
    assert (version.embedder, version.dimension) == ("fake/other", 32)


def test_ingesting_one_path_leaves_other_documents_alone(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    before = chunks_by_source(settings)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "checklist.txt").write_text("上线检查\n上线前要完成用户培训和数据核对。\n", encoding="utf-8")
    report = run_ingest(settings, [extra / "checklist.txt"], embeddings=HashEmbeddings())
    after = chunks_by_source(settings)
    assert report.embedded == len(after["checklist.txt"]) >= 1
    assert {k: v for k, v in after.items() if k != "checklist.txt"} == before
    assert report.documents == 6


def test_replaced_version_is_kept_for_the_grace_period_then_dropped(settings: Settings) -> None:
    """Servers still answering from the previous version keep it until they have switched."""
    first = run_ingest(settings, embeddings=HashEmbeddings())
    path = settings.kb_dir / ARTICLE
    path.write_text(path.read_text(encoding="utf-8").replace("俗话说", "常言道"), encoding="utf-8")
    second = run_ingest(settings, embeddings=HashEmbeddings())
    store, version = opened(settings)
    assert version.name == second.version != first.version
    assert store.vectors.stale_versions() == [first.version]  # retired, within the grace period
    assert sorted(os.listdir(artifacts.index_root(settings.data_dir))) == sorted(
        [str(first.version), version.name]
    )
    assert store.vectors.collection(store.active()).count() > 0  # type: ignore[arg-type]

    past_grace = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"retired_grace_s": 0})}
    )
    third = run_ingest(past_grace, embeddings=HashEmbeddings())
    assert third.version == second.version and not third.published
    assert f"version {first.version}" in third.cleaned_up
    assert store.vectors.stale_versions() == []
    assert os.listdir(artifacts.index_root(settings.data_dir)) == [version.name]


def test_edited_index_file_is_found_and_rewritten(settings: Settings) -> None:
    first = run_ingest(settings, embeddings=HashEmbeddings())
    folder = artifacts.index_root(settings.data_dir) / str(first.version)
    ids = folder / "chunk_ids.json"
    ids.write_text(ids.read_text().replace('"', "'", 2))
    assert artifacts.damaged(settings.data_dir, str(first.version)) == [
        "chunk_ids.json changed since it was written"
    ]
    again = run_ingest(settings, embeddings=HashEmbeddings())
    assert again.repaired == ["chunk_ids.json changed since it was written"]
    assert again.version == first.version and not again.published and again.embedded == 0
    assert artifacts.complete(settings.data_dir, str(first.version))


def test_bm25_index_reloads_and_finds_keywords(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    store, version = opened(settings)
    sparse, ids = artifacts.read_sparse(settings.data_dir, version.name)
    chunks = {c.id: c for c in store.chunks(version)}
    assert sparse.size == len(ids) == len(chunks)
    scores = sparse.scores("商業需求分析")  # Traditional query, normalised like the documents
    best = chunks[ids[int(scores.argmax())]]
    assert best.source == "002_9683dd2b55d1bf3e.txt"
    assert "商业需求分析" in best.text or "商业需求分析" in best.section
    assert float(sparse.scores("量子力学的波函数").max()) == 0.0


def test_collections_never_get_chromas_default_embedding_function(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())
    store, version = opened(settings)
    collection = store.vectors.collection(version)
    assert collection.configuration.get("embedding_function") is None
    with pytest.raises(ValueError, match="embedding function"):
        collection.add(ids=["x"], documents=["没有向量的文本"])


def test_admin_drops_files_of_every_format_into_kb(settings: Settings) -> None:
    import docx

    kb = settings.kb_dir
    (kb / "legacy-big5.txt").write_bytes("系統切換\n不要在業務最繁忙的時候切換系統。\n".encode("big5"))
    (kb / "page.html").write_text(
        "<html><body><nav>首页</nav><h2>数据迁移</h2><p>迁移前先清洗客户数据。</p></body></html>",
        encoding="utf-8",
    )
    document = docx.Document()
    document.add_paragraph("验收标准")
    document.add_paragraph("上线验收要有书面的验收标准。")
    document.save(str(kb / "acceptance.docx"))

    report = run_ingest(settings, embeddings=HashEmbeddings())
    assert report.documents == 8 and not report.skipped
    texts = {source: " ".join(c.text for c in chunks_of(settings, source)) for source in
             ("legacy-big5.txt", "page.html", "acceptance.docx")}  # fmt: skip
    assert texts["legacy-big5.txt"] == "不要在业务最繁忙的时候切换系统。"
    assert texts["page.html"] == "迁移前先清洗客户数据。"
    assert texts["acceptance.docx"] == "上线验收要有书面的验收标准。"


def test_sentences_are_embedded_once_and_quote_the_documents(settings: Settings) -> None:
    first = run_ingest(settings, embeddings=HashEmbeddings())
    assert first.sentences_embedded > first.chunks
    _store, version = opened(settings)
    table = artifacts.read_sentences(settings.data_dir, version.name)
    documents = artifacts.read_documents(settings.data_dir, version.name)
    assert table.vectors.shape == (len(table.units), HashEmbeddings().dimension)
    for unit in table.units:
        assert documents[unit.source].text[unit.start : unit.end] == unit.text
    assert "CRM项目成功的重中点是商业需求分析。" in {u.text for u in table.units}

    path = settings.kb_dir / ARTICLE
    path.write_text(path.read_text(encoding="utf-8").replace("俗话说", "常言道"), encoding="utf-8")
    second = run_ingest(settings, embeddings=HashEmbeddings())
    assert 1 <= second.sentences_embedded <= 3


def test_missing_index_files_are_rewritten_without_a_new_version(settings: Settings) -> None:
    """A replica with its own data dir (or files from an older release) gets the files, not a new version."""
    first = run_ingest(settings, embeddings=HashEmbeddings())
    shutil.rmtree(artifacts.index_root(settings.data_dir) / str(first.version) / "sentences")
    embedder = CountingEmbeddings()
    again = run_ingest(settings, embeddings=embedder)
    assert again.version == first.version and not again.published
    # the sentence vectors come back from the ingest cache: nothing is embedded again
    assert again.embedded == again.sentences_embedded == embedder.embedded == 0 and again.from_cache > 0
    assert artifacts.complete(settings.data_dir, str(first.version))
