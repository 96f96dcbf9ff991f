"""Versions that share their unchanged chunks: an ingest writes only what the pool lacks, a reader of the
previous version keeps its chunks until the grace period is over, a crash before the pointer flips leaves
nothing visible, and an index written before pools existed is served and then moved into a pool."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crmkb.core.settings import Settings
from crmkb.ingest import artifacts
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.index import IndexMissing, IndexStore, PublishedIndex
from crmkb.ingest.pipeline import embed, plan, run_ingest
from crmkb.ingest.sparse import SparseIndex
from crmkb.ingest.store import Record, VectorStore, Version, make_client
from tests.support.chroma_server import running_chroma_server

ARTICLE = "001_4998ac562ddf94fb.txt"
NEW_DOC = "zz_rollout.txt"
NEW_TEXT = "上线节奏\n分批上线比一次切换全部部门更稳妥,每一批都要先完成培训和数据核对。\n"


@pytest.fixture(params=["embedded", pytest.param("chroma run", marks=pytest.mark.slow)])
def deployment(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The settings with embedded Chroma, and again with a `chroma run` server on loopback."""
    if request.param == "embedded":
        yield settings
        return
    with running_chroma_server(tmp_path / "chroma") as url:
        yield settings.model_copy(update={"chroma_url": url})


class RecordingStore(VectorStore):
    """The real store, noting the ids each write puts into a pool; ``fail_activation`` stands for a
    crash between writing a version and flipping the pointer to it."""

    def __init__(self, client: Any, prefix: str, *, fail_activation: bool = False) -> None:
        super().__init__(client, prefix)
        self.written: list[str] = []
        self.fail_activation = fail_activation

    def add(self, pool: str, records: Sequence[Record], vectors: np.ndarray) -> None:
        self.written += [r.id for r in records]
        super().add(pool, records, vectors)

    def activate(self, version: Version) -> None:
        if self.fail_activation:
            raise KeyboardInterrupt  # what Ctrl-C or a kill at this point leaves behind
        super().activate(version)


def store_of(settings: Settings, **kwargs: Any) -> tuple[IndexStore, RecordingStore]:
    vectors = RecordingStore(make_client(settings), settings.collection, **kwargs)
    return IndexStore(settings, vectors), vectors


def ingest(settings: Settings, **kwargs: Any) -> tuple[Any, RecordingStore]:
    store, vectors = store_of(settings, **kwargs)
    return run_ingest(settings, embeddings=HashEmbeddings(), store=store), vectors


def past_grace(settings: Settings) -> Settings:
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"retired_grace_s": 0})})


def pool_ids(store: IndexStore, version: Version) -> set[str]:
    return set(store.vectors.collection(version).get(include=[])["ids"])


def opened(settings: Settings) -> tuple[IndexStore, PublishedIndex]:
    store, _ = store_of(settings)
    return store, store.open(HashEmbeddings())


def test_adding_a_document_writes_only_its_chunks(deployment: Settings) -> None:
    settings = deployment
    ingest(settings)
    store, before = opened(settings)
    (settings.kb_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    second, vectors = ingest(settings)
    after = store.open(HashEmbeddings())
    assert second.published and after.version.name != before.version.name
    assert after.version.pool == before.version.pool  # the same pool, not a copy of it
    new_ids = {c.id for c in after.chunks.values() if c.source == NEW_DOC}
    assert new_ids and set(vectors.written) == new_ids  # nothing unchanged was written again
    assert pool_ids(store, after.version) == {c.id for c in before.chunks.values()} | new_ids
    # The new version finds the new document by its vectors; the previous one never does.
    query = HashEmbeddings().embed_query(NEW_TEXT)
    assert set(after.nearest(query, 3)) & new_ids
    assert not set(before.nearest(query, 50)) & new_ids


def test_previous_version_keeps_its_chunks_until_the_grace_period_is_over(deployment: Settings) -> None:
    settings = deployment
    ingest(settings)
    store, old = opened(settings)
    path = settings.kb_dir / ARTICLE
    path.write_text(path.read_text(encoding="utf-8").replace("俗话说", "常言道"), encoding="utf-8")
    second, _ = ingest(settings)
    new = store.open(HashEmbeddings())
    gone = {c.id for c in old.chunks.values()} - {c.id for c in new.chunks.values()}
    added = {c.id for c in new.chunks.values()} - {c.id for c in old.chunks.values()}
    assert gone and added

    # Within the grace period both versions answer from the one pool, each with only its own chunks.
    old.check()
    for chunk in old.chunks.values():
        vector = HashEmbeddings().embed_query(chunk.text)
        assert set(old.nearest(vector, 5)) <= old.members  # type: ignore[operator]
        assert set(new.nearest(vector, 5)) <= new.members  # type: ignore[operator]
    assert {c.id for c in old.chunks.values() if c.id in gone} <= pool_ids(store, new.version)

    # The first ingest after it drops the old version and the chunks only it listed.
    third, _ = ingest(past_grace(settings))
    assert third.version == second.version and not third.published
    assert any(f"{len(gone)} unlisted chunks" in line for line in third.cleaned_up), third.cleaned_up
    assert pool_ids(store, new.version) == new.members
    with pytest.raises(IndexMissing):
        old.check()
    if settings.chroma_url:  # embedded, each opened version searches the snapshot its own system read
        some_gone = next(c for c in old.chunks.values() if c.id in gone)
        with pytest.raises(IndexMissing):  # a reader left on the dropped version is told to switch
            old.nearest(HashEmbeddings().embed_query(some_gone.text), len(old.chunks))


def test_a_crash_before_the_pointer_flips_leaves_nothing_visible(deployment: Settings) -> None:
    settings = deployment
    first, _ = ingest(settings)
    store, served = opened(settings)
    (settings.kb_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        ingest(settings, fail_activation=True)
    assert store.active().name == first.version  # type: ignore[union-attr]
    left = pool_ids(store, served.version) - served.members  # type: ignore[operator]
    assert left  # the crashed run's chunks are in the pool, but in no version
    # A reader of the active version never sees them, even one that counted none when it opened.
    query = HashEmbeddings().embed_query(NEW_TEXT)
    assert not set(served.nearest(query, len(served.chunks))) & left
    assert len(served.nearest(query, 10)) == 10

    again, vectors = ingest(past_grace(settings))
    assert again.published
    assert vectors.written == []  # the crashed run's chunks were already in the pool
    assert pool_ids(store, served.version) == store.open(HashEmbeddings()).members


def test_a_crash_writing_a_new_pool_leaves_it_to_be_dropped(deployment: Settings) -> None:
    settings = deployment
    with pytest.raises(KeyboardInterrupt):
        ingest(settings, fail_activation=True)
    store, _ = store_of(settings)
    assert store.active() is None
    report, _ = ingest(settings)
    pools = [n for n in _names(settings) if "-pool-" in n]
    assert any(line.startswith("pool ") for line in report.cleaned_up), report.cleaned_up
    assert pools == [store.require_active().pool]


def test_a_big_change_starts_a_new_pool_and_drops_the_old_one(deployment: Settings) -> None:
    settings = deployment
    ingest(settings)
    store, first = opened(settings)
    for path in sorted(settings.kb_dir.glob("*.txt"))[:4]:
        path.write_text(path.read_text(encoding="utf-8").replace("CRM", "客户关系系统"), encoding="utf-8")
    second, vectors = ingest(past_grace(settings))
    assert second.published
    now = store.require_active()
    assert now.pool != first.version.pool
    assert set(vectors.written) == {c.id for c in store.chunks(now)}  # the whole version, once
    assert f"pool {first.version.pool}" in second.cleaned_up  # the grace period is 0 here
    assert [n for n in _names(settings) if "-pool-" in n] == [now.pool]


def publish_as_before_pools(settings: Settings) -> str:
    """Write the knowledge base the way releases before pools did: a collection of its own holding every
    chunk with its metadata, and files without a chunk list."""
    store = IndexStore(settings, VectorStore(make_client(settings), settings.collection))
    embeddings = HashEmbeddings()
    planned = plan(settings, store, None, embeddings)
    embedded = embed(planned, embeddings)
    records = planned.records
    sparse = SparseIndex.build([r.text for r in records])
    version = store.vectors.create(embeddings.name, embeddings.dimension, records, embedded.matrix)
    artifacts.write_version(
        settings.data_dir, version.name, planned.documents, sparse, records, embedded.sentences
    )
    store.vectors.activate(version)
    return version.name


def test_an_index_written_before_pools_is_served_then_moved_into_a_pool(deployment: Settings) -> None:
    settings = deployment
    old_name = publish_as_before_pools(settings)
    assert not (artifacts.index_root(settings.data_dir) / old_name / artifacts.CHUNKS).exists()
    store, old = opened(settings)
    assert old.version.pool is None and old.members is None
    hit = list(old.chunks.values())[7]
    assert hit.id in old.nearest(HashEmbeddings().embed_query(hit.text), 3)
    assert {c.id for c, _ in store.search(HashEmbeddings(), hit.text, 3)} >= {hit.id}

    (settings.kb_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    upgraded, _ = ingest(settings)
    assert upgraded.published and upgraded.embedded == 1  # only the new document's chunk is embedded
    new = store.open(HashEmbeddings())
    assert new.version.pool is not None
    assert {c.id for c in new.chunks.values()} == {c.id for c in old.chunks.values()} | {
        c.id for c in new.chunks.values() if c.source == NEW_DOC
    }
    assert [c for c in new.chunks.values() if c.source != NEW_DOC] == list(
        old.chunks.values()
    )  # offsets and titles kept
    old.check()  # still served within the grace period

    done, _ = ingest(past_grace(settings))
    assert f"collection {old_name}" in done.cleaned_up and old_name not in _names(settings)
    with pytest.raises(IndexMissing):
        old.check()


def _names(settings: Settings) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in make_client(settings).list_collections()]


def test_search_reads_chunks_from_the_versions_files(deployment: Settings) -> None:
    settings = deployment
    ingest(settings)
    store, index = opened(settings)
    chunk = list(index.chunks.values())[3]
    found = store.search(HashEmbeddings(), chunk.text, 1)
    assert found[0][0] == chunk  # offsets and titles come from the version, not the pool


def test_unchanged_documents_are_linked_from_the_previous_version(settings: Settings) -> None:
    first, _ = ingest(settings)
    (settings.kb_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    path = settings.kb_dir / ARTICLE
    path.write_text(path.read_text(encoding="utf-8").replace("俗话说", "常言道"), encoding="utf-8")
    second, _ = ingest(settings)
    root = artifacts.index_root(settings.data_dir)

    def inode(version: object, source: str) -> int:
        return (root / str(version) / artifacts.document_file(source)).stat().st_ino

    sources = sorted(p.name for p in settings.kb_dir.glob("*.txt"))
    linked = {s for s in sources if s != NEW_DOC and inode(first.version, s) == inode(second.version, s)}
    assert linked == set(sources) - {NEW_DOC, ARTICLE}  # the edited and the new document are written
    assert artifacts.complete(settings.data_dir, str(second.version))
    ingest(past_grace(settings))  # dropping the first version leaves the second one's files whole
    assert not (root / str(first.version)).exists()
    assert artifacts.complete(settings.data_dir, str(second.version))
    assert len(store_of(settings)[0].open(HashEmbeddings()).documents) == len(sources)


def _ingest_elsewhere(settings: Settings) -> None:
    run_ingest(settings, embeddings=HashEmbeddings())


def test_a_reader_sees_the_chunks_another_process_added_to_the_pool(settings: Settings) -> None:
    """A server (embedded Chroma) keeps serving while `crmkb ingest` adds a document in another process:
    the version it switches to must find the new chunks, though its process opened the pool before."""
    import multiprocessing

    ingest(settings)
    store, first = opened(settings)
    article = next(c for c in first.chunks.values() if c.source == ARTICLE)
    assert article.id in first.nearest(HashEmbeddings().embed_query(article.text), 1)  # the pool is open here
    (settings.kb_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    elsewhere = multiprocessing.get_context("spawn").Process(target=_ingest_elsewhere, args=(settings,))
    elsewhere.start()
    elsewhere.join(120)
    assert elsewhere.exitcode == 0
    switched = store.open(HashEmbeddings())
    assert switched.version.pool == first.version.pool  # the same pool, grown by the other process
    added = next(c for c in switched.chunks.values() if c.source == NEW_DOC)
    assert added.id in switched.nearest(HashEmbeddings().embed_query(added.text), 1)
