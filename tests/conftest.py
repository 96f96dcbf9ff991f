"""Shared fixtures: the real knowledge base, isolated settings and the fake embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crmkb.settings import Settings, get_settings
from tests.fakes import HashEmbeddings

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "kb"
ARTICLES = sorted(KB.glob("*.txt"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's CRMKB_* variables or .env."""
    import os

    for name in list(os.environ):
        if name.startswith("CRMKB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private copy of kb/ that a test may change."""
    target = tmp_path / "kb"
    shutil.copytree(KB, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, kb_copy: Path) -> Settings:
    return get_settings(data_dir=tmp_path / "data", kb_dir=kb_copy)


@pytest.fixture
def fake_embeddings() -> HashEmbeddings:
    return HashEmbeddings()
