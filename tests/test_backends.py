"""Swappable parts for real: a `chroma run` server on loopback, the sentence-transformers backend with
a tiny model the test builds, and the model-free ``hash`` backend chosen by its setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crmkb.core.settings import Settings, get_settings
from crmkb.ingest.embeddings import (
    EmbeddingError,
    HashEmbeddings,
    SentenceTransformerEmbeddings,
    make_embeddings,
)
from crmkb.ingest.pipeline import run_ingest
from crmkb.ingest.store import EmbedderMismatch
from tests.conftest import ARTICLES
from tests.support.chroma_server import running_chroma_server
from tests.support.index import opened
from tests.support.tiny_st_model import build_tiny_model


@pytest.mark.slow
def test_ingest_into_a_chroma_server(tmp_path: Path, settings: Settings) -> None:
    with running_chroma_server(tmp_path / "chroma-server") as url:
        remote = settings.model_copy(update={"chroma_url": url})
        first = run_ingest(remote, embeddings=HashEmbeddings())
        assert first.published and first.documents == 5
        again = run_ingest(remote, embeddings=HashEmbeddings())
        assert again.embedded == 0 and again.unchanged == first.chunks

        store, version = opened(remote)
        assert len(store.chunks(version)) == first.chunks
        hits = store.search(HashEmbeddings(), "项目结束前要整理待解决问题", 3)
        assert hits[0][0].source == "001_4998ac562ddf94fb.txt"
    # nothing was written to the embedded store
    assert not (settings.data_dir / "chroma").exists()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = [p.read_text(encoding="utf-8") for p in ARTICLES]
    return build_tiny_model(tmp_path_factory.mktemp("tiny-st"), texts)


@pytest.mark.slow
def test_sentence_transformers_backend(tiny_model: Path, settings: Settings) -> None:
    st_settings = get_settings(
        data_dir=settings.data_dir,
        kb_dir=settings.kb_dir,
        embedding={"backend": "sentence-transformers", "model_path": tiny_model},
    )
    embeddings = make_embeddings(st_settings.embedding)
    assert isinstance(embeddings, SentenceTransformerEmbeddings)
    assert embeddings.dimension == 32

    vectors = embeddings.embed_passages(["项目失败后先分析原因", "Close the project well"])
    assert vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])

    report = run_ingest(st_settings, embeddings=embeddings)
    assert report.published and report.embedded == report.chunks
    store, version = opened(st_settings)
    assert (version.embedder, version.dimension) == (embeddings.name, 32)
    assert len(store.search(embeddings, "项目失败", 3)) == 3

    with pytest.raises(EmbedderMismatch):
        run_ingest(st_settings, embeddings=HashEmbeddings())


def test_hash_backend_is_chosen_by_its_setting() -> None:
    embeddings = make_embeddings(get_settings(embedding={"backend": "hash"}).embedding)
    assert isinstance(embeddings, HashEmbeddings)
    assert (embeddings.name, embeddings.dimension) == ("hash/char-bigrams", 64)
    question, close, unrelated = (
        np.array(embeddings.embed_query(t))
        for t in ("项目失败后做什么", "项目失败以后要做什么", "Salesforce许可证")
    )
    assert question @ close > question @ unrelated
    assert np.allclose(embeddings.embed_passages(["项目失败后做什么"])[0], question)


def test_sentence_transformers_needs_a_local_model(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="CRMKB_EMBEDDING_MODEL_PATH"):
        make_embeddings(get_settings(embedding={"backend": "sentence-transformers"}).embedding)
    missing = make_embeddings(
        get_settings(
            embedding={"backend": "sentence-transformers", "model_path": tmp_path / "nope"}
        ).embedding
    )
    with pytest.raises(EmbeddingError, match="not a directory"):
        missing.embed_query("x")


def test_a_repeated_question_is_embedded_once() -> None:
    from crmkb.ingest.embeddings import HashEmbeddings

    embeddings = HashEmbeddings()
    calls: list[str] = []

    def compute(text: str) -> list[float]:
        calls.append(text)
        return [float(len(text)), 1.0]

    first = embeddings.remembered("项目失败后先做什么?", compute)
    first.append(99.0)  # callers get their own list
    assert embeddings.remembered("项目失败后先做什么?", compute) == [10.0, 1.0]
    assert calls == ["项目失败后先做什么?"]
    embeddings.remembered("另一个问题", compute)
    assert calls == ["项目失败后先做什么?", "另一个问题"]
