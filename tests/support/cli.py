"""The ``crmkb`` command for tests: in-process with services a test chooses, or as the installed console
script, whose production wiring each command family's subprocess test keeps covered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from crmkb.bot.service import Bot
from crmkb.cli.app import app
from crmkb.cli.services import Services
from crmkb.core.settings import Settings, get_settings
from crmkb.ingest.embeddings import HashEmbeddings, IdentifiedEmbeddings

CRMKB = str(Path(sys.executable).parent / "crmkb")


def hash_settings(data_dir: Path, kb_dir: Path) -> Settings:
    """Settings on the model-free ``hash`` embedder: the pipeline and answering, without the model's wait."""
    return get_settings(data_dir=data_dir, kb_dir=kb_dir, embedding={"backend": "hash"})


def services_for(settings: Settings, embeddings: IdentifiedEmbeddings | None = None) -> Services:
    """Services over ``settings`` whose bots and ``search`` share one embedder (by default the ``hash``
    backend, which ``settings`` must then name too, as ``ingest`` builds its own from them), so no command
    loads the embedding model again."""
    shared = embeddings or HashEmbeddings()
    return Services(
        load_settings=lambda: settings,
        make_bot=lambda s: Bot(s, embeddings=shared),
        make_embeddings=lambda s: shared,
    )


def serving_bot(bot: Bot) -> Services:
    """Services whose every bot is ``bot``, already loaded: commands answer without loading anything."""
    return Services(
        load_settings=lambda: bot.settings, make_bot=lambda s: bot, make_embeddings=lambda s: bot.embeddings
    )


def invoke(services: Services, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), obj=services, input=input)


def run_crmkb(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The installed ``crmkb`` in a process of its own, configured by ``env`` alone."""
    return subprocess.run(
        [CRMKB, *args], env={**os.environ, "COLUMNS": "200", **env}, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
