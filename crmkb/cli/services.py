"""What ``crmkb`` commands build (settings, the bot, the embedder, the feedback store), behind one object.

The console script builds the production one; tests hand the CLI their own through Typer's context
(``CliRunner().invoke(app, args, obj=services)``), so a test can reuse one loaded bot, or one with the
``hash`` embedder, instead of every command loading the embedding model again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

from crmkb.cli.common import load_settings
from crmkb.core.settings import Settings

if TYPE_CHECKING:
    from crmkb.bot.service import Bot
    from crmkb.feedback_store import FeedbackStore
    from crmkb.ingest.embeddings import IdentifiedEmbeddings


def _bot(settings: Settings) -> Bot:
    from crmkb.bot.service import Bot

    return Bot(settings)


def _embeddings(settings: Settings) -> IdentifiedEmbeddings:
    from crmkb.ingest.embeddings import make_embeddings

    return make_embeddings(settings.embedding)


def _feedback(settings: Settings) -> FeedbackStore:
    # Imported here: the web app (where the file's name lives) pulls in FastAPI, which most commands never use.
    from crmkb.feedback_store import FeedbackStore
    from crmkb.web.app import FEEDBACK_DB

    return FeedbackStore(settings.host_state_dir / FEEDBACK_DB)


@dataclass
class Services:
    """Factories, each called when a command first needs the thing, so a command that fails on its
    arguments never reads the settings, and a bad setting is still reported as one line."""

    load_settings: Callable[[], Settings] = load_settings
    make_bot: Callable[[Settings], Bot] = _bot
    make_embeddings: Callable[[Settings], IdentifiedEmbeddings] = _embeddings
    make_feedback: Callable[[Settings], FeedbackStore] = _feedback
    _settings: Settings | None = field(default=None, init=False, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = self.load_settings()
        return self._settings

    def bot(self) -> Bot:
        """A bot over the settings' index, not loaded yet (commands load it when they need to)."""
        return self.make_bot(self.settings())

    def answering_bot(self) -> Bot:
        """A bot over an index: a fresh data dir has kb/ ingested first, so a new checkout answers at once
        (the bot itself only reads)."""
        from crmkb.ingest.pipeline import ensure_index

        bot = self.bot()
        ensure_index(self.settings(), bot.embeddings, bot.index_store)
        return bot

    def embeddings(self) -> IdentifiedEmbeddings:
        """The configured embedder, for commands that embed without a bot (``search``)."""
        return self.make_embeddings(self.settings())

    def feedback(self) -> FeedbackStore:
        return self.make_feedback(self.settings())


def production_services() -> Services:
    """The services of the console script: settings from the environment, the configured embedder."""
    return Services()


def services_of(ctx: typer.Context) -> Services:
    found = ctx.find_object(Services)
    assert found is not None, "the crmkb app's callback puts a Services object on the context"
    return found
