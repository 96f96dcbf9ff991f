"""kb/glossary.toml is published with each index version: a server answers with its version's glossary
wherever it was started, and an edit reaches servers through an ingest, as a catalog edit does."""

from __future__ import annotations

import re

import pytest

from crmkb.bot.service import Bot
from crmkb.core.settings import Settings
from crmkb.ingest import artifacts
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.glossary_file import GlossaryFileError, glossary_path
from crmkb.ingest.pipeline import run_ingest


def test_a_glossary_edit_is_a_new_version_the_running_bot_switches_to(
    settings: Settings, fake_embeddings: HashEmbeddings
) -> None:
    path = glossary_path(settings.kb_dir)
    first = run_ingest(settings, embeddings=fake_embeddings)
    assert artifacts.read_glossary(settings.data_dir, str(first.version)) == path.read_text(encoding="utf-8")
    bot = Bot(settings, embeddings=fake_embeddings)
    assert "scope creep" in bot.load().knowledge.glossary.terms

    path.write_text('[terms]\n"Scope Creep" = ["范围扩散"]\n', encoding="utf-8")
    second = run_ingest(settings, embeddings=fake_embeddings)
    assert second.published and second.version != first.version
    assert second.embedded == 0 and second.sentences_embedded == 0  # only the glossary changed
    assert bot.refresh(wait=True) == second.version
    assert bot.load().knowledge.glossary.terms == {"scope creep": ("范围扩散",)}
    assert not run_ingest(settings, embeddings=fake_embeddings).published  # and now it is up to date


def test_a_version_s_glossary_is_checked_like_its_other_files(
    settings: Settings, fake_embeddings: HashEmbeddings
) -> None:
    version = str(run_ingest(settings, embeddings=fake_embeddings).version)
    copy = artifacts.index_root(settings.data_dir) / version / "glossary.toml"
    copy.write_text("[terms]\n", encoding="utf-8")
    damage = ["glossary.toml changed since it was written"]
    assert artifacts.damaged(settings.data_dir, version) == damage
    repaired = run_ingest(settings, embeddings=fake_embeddings)
    assert repaired.repaired == damage and not artifacts.damaged(settings.data_dir, version)
    assert copy.read_text(encoding="utf-8") == glossary_path(settings.kb_dir).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("glossary", "named"),
    [
        ('[terms]\n"" = ["上线"]\n', "[terms] has a blank key"),
        ('[synonyms]\n" " = ["上线"]\n', "[synonyms] has a blank key"),
        ('[terms]\n"go live" = ["上线", ""]\n', "a blank term"),
    ],
)
def test_a_blank_glossary_key_or_term_stops_the_ingest_naming_it(
    settings: Settings, fake_embeddings: HashEmbeddings, glossary: str, named: str
) -> None:
    """A blank key or term (one left to fill in) would stand for nothing and match everything: the admin
    is told, and nothing is published."""
    first = run_ingest(settings, embeddings=fake_embeddings).version
    glossary_path(settings.kb_dir).write_text(glossary, encoding="utf-8")
    with pytest.raises(GlossaryFileError, match=re.escape(named)):
        run_ingest(settings, embeddings=fake_embeddings)
    assert Bot(settings, embeddings=fake_embeddings).index_store.vectors.active().name == first  # type: ignore[union-attr]
