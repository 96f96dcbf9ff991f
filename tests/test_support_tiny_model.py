"""The tiny sentence-transformers model builds offline, loads like a real one and encodes sensibly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.tiny_st_model import HIDDEN_SIZE, build_tiny_model, build_vocabulary

SENTENCES = ["项目失败后第一步应该做什么?", "How do we onboard a new CRM customer?"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-st") / "model", SENTENCES)


def _encode(model_dir: Path, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    vectors: np.ndarray = model.encode(texts, convert_to_numpy=True)
    return vectors


@pytest.mark.slow
def test_vocabulary_covers_chinese_and_english_without_unknowns(tiny_model: Path) -> None:
    from sentence_transformers import SentenceTransformer

    tokenizer = SentenceTransformer(str(tiny_model), device="cpu").tokenizer
    for text in [*SENTENCES, "实施顾问 Salesforce 2024"]:
        tokens = tokenizer.tokenize(text)
        assert tokens and "[UNK]" not in tokens, (text, tokens)
    # Chinese splits per character; English words are spelt out with ## pieces.
    assert tokenizer.tokenize("客户") == ["客", "户"]
    assert tokenizer.tokenize("CRM") == ["c", "##r", "##m"]


def test_vocabulary_is_deterministic() -> None:
    assert build_vocabulary(["乙甲", "b a"]) == build_vocabulary(["甲乙", "a b"])


@pytest.mark.slow
def test_encodes_unit_vectors_deterministically(tiny_model: Path) -> None:
    first = _encode(tiny_model, SENTENCES)
    second = _encode(tiny_model, SENTENCES)

    assert first.shape == (len(SENTENCES), HIDDEN_SIZE)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, second)
    # Different texts must not collapse to the same vector, or retrieval tests would prove nothing.
    assert not np.allclose(first[0], first[1], atol=1e-3)
    other = _encode(tiny_model, ["What is a sales pipeline?"])[0]
    assert not np.allclose(first[1], other, atol=1e-3)


@pytest.mark.slow
def test_rebuilding_gives_the_same_model(tiny_model: Path, tmp_path: Path) -> None:
    rebuilt = build_tiny_model(tmp_path / "again", SENTENCES)
    np.testing.assert_allclose(_encode(rebuilt, SENTENCES), _encode(tiny_model, SENTENCES), atol=1e-6)
    assert not (rebuilt / "bert").exists(), "the intermediate BERT is not left beside the model"
