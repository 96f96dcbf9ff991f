"""Every error meant for a person is one of the two kinds channels map (crmkb.core.errors)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crmkb.bot.service import Bot
from crmkb.core.errors import Unavailable, UserError, described
from crmkb.core.settings import Settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.glossary_file import GlossaryFileError
from crmkb.ingest.index import IndexMissing
from crmkb.ingest.pipeline import run_ingest
from crmkb.ingest.store import StoreUnavailable
from crmkb.web.app import create_app
from tests.test_layers import modules

# Control flow inside one module, never raised to a channel: a file ingest skips (its reason goes into the
# report), an answer that came too late, a Slack request refused before Bolt sees it, a review field's fault.
INTERNAL = {
    "crmkb.ingest.loaders.SkipFile",
    "crmkb.slack.answering.Late",
    "crmkb.web.routes.slack.Refused",
    "crmkb.faq.reviewed._Fault",
}


def defined_errors() -> list[type[BaseException]]:
    found = []
    for name in modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == name:
                found.append(value)
    return found


def test_every_error_is_a_user_error_or_a_part_unavailable() -> None:
    errors = defined_errors()
    assert len(errors) > 15  # the walk found the domain's errors
    stray = [
        f"{e.__module__}.{e.__qualname__}"
        for e in errors
        if not issubclass(e, (UserError, Unavailable)) and f"{e.__module__}.{e.__qualname__}" not in INTERNAL
    ]
    assert not stray, f"errors that no channel maps (subclass UserError or Unavailable): {stray}"


def test_the_bot_reads_an_index_and_never_makes_one(settings: Settings, tmp_path: Path) -> None:
    fresh = settings.model_copy(update={"data_dir": tmp_path / "fresh"})
    with pytest.raises(IndexMissing, match="crmkb ingest"):
        Bot(fresh, embeddings=HashEmbeddings()).ask("上线前要准备什么?")
    assert not (fresh.data_dir / "index").exists()  # nothing was ingested on the read path


def test_an_unavailable_part_is_logged_with_its_cause_on_one_line() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as exc:
            raise StoreUnavailable("cannot open the Chroma store at http://db:8000: refused") from exc
    except StoreUnavailable as exc:
        line = described(exc)
    assert line == (
        "cannot open the Chroma store at http://db:8000: refused <- ConnectionRefusedError: [Errno 111] Connection refused"
    )


def test_a_broken_glossary_stops_the_ingest_and_the_served_version_keeps_its_own(settings: Settings) -> None:
    """A malformed kb/glossary.toml is the admin's to fix: ingest names it and writes nothing, and the
    version being served goes on answering with the glossary it was published with."""
    embeddings = HashEmbeddings()
    first = run_ingest(settings, embeddings=embeddings).version
    (settings.kb_dir / "glossary.toml").write_text("[synonyms\n", encoding="utf-8")
    (settings.kb_dir / "新文章.txt").write_text("项目上线前要完成系统测试。", encoding="utf-8")
    with pytest.raises(GlossaryFileError, match=r"glossary\.toml"):
        run_ingest(settings, embeddings=embeddings)
    bot = Bot(settings, embeddings=embeddings)
    assert bot.index_store.vectors.active().name == first  # type: ignore[union-attr]
    with TestClient(create_app(settings, bot=bot)) as client:
        response = client.post("/api/ask", json={"question": "How do we avoid scope creep?"})
    assert response.status_code == 200, response.json()


def test_a_broken_glossary_under_an_older_version_is_a_part_unavailable_to_the_asker(
    settings: Settings,
) -> None:
    """A version published without a glossary (as all were before glossaries were published with them) is
    answered with the one in the kb dir: when that is malformed, the asker gets a 503 that names it, not a
    422 that blames the question."""
    embeddings = HashEmbeddings()
    (settings.kb_dir / "glossary.toml").unlink()
    run_ingest(settings, embeddings=embeddings)
    (settings.kb_dir / "glossary.toml").write_text("[synonyms\n", encoding="utf-8")
    with TestClient(create_app(settings, bot=Bot(settings, embeddings=embeddings))) as client:
        response = client.post("/api/ask", json={"question": "上线前要准备什么?"})
    assert response.status_code == 503
    assert "glossary.toml" in response.json()["detail"]
