"""The bot as one object: validate a question, make sure an index exists, answer it.

Channels (CLI, HTTP, later Slack and the FAQ builder) hold one :class:`Bot` and call :meth:`Bot.ask`.
Heavy parts (model, store, index files) load on first use, once, behind a lock.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from langchain_core.language_models import BaseChatModel

from bot.curated import CuratedAnswers
from bot.extractive import ExtractiveAnswerer
from bot.knowledge import Knowledge
from bot.llm import LLMAnswerer, make_chat_model
from bot.schemas import Answer, Mode
from crmkb.settings import Settings
from ingest.embeddings import IdentifiedEmbeddings, make_embeddings
from ingest.pipeline import IngestReport, run_ingest
from ingest.store import VectorStore, make_client

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


class QuestionError(ValueError):
    """The question cannot be answered as asked; the message tells the user what to change."""


def clean_question(text: str) -> str:
    """Strip control and invisible formatting characters and surrounding space; refuse empty or long text."""
    question = _CONTROL.sub("", text).strip()
    if not question:
        raise QuestionError("the question is empty: type a question about CRM implementation")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(question)} characters long; keep it under {MAX_QUESTION_CHARS}"
        )
    return question


def ensure_index(
    settings: Settings, embeddings: IdentifiedEmbeddings, client: Any = None
) -> IngestReport | None:
    """Ingest kb/ when no index exists yet, so a fresh checkout answers at once."""
    store = VectorStore(client if client is not None else make_client(settings), settings.collection)
    if store.active() is not None:
        return None
    return run_ingest(settings, embeddings=embeddings, client=client)


class Bot:
    def __init__(
        self,
        settings: Settings,
        *,
        embeddings: IdentifiedEmbeddings | None = None,
        client: Any = None,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings or make_embeddings(settings.embedding)
        self._client = client
        self._lock = threading.Lock()
        self._extractive: ExtractiveAnswerer | None = None
        self._llm: LLMAnswerer | None = None
        self._chat_model = chat_model
        self.curated = CuratedAnswers(settings.data_dir, self.embeddings)

    def load(self) -> ExtractiveAnswerer:
        """Load the index (ingesting kb/ first on a fresh data dir); later calls reuse it."""
        with self._lock:
            if self._extractive is None:
                client = self._client if self._client is not None else make_client(self.settings)
                ensure_index(self.settings, self.embeddings, client)
                knowledge = Knowledge.load(self.settings, self.embeddings, client)
                self._extractive = ExtractiveAnswerer(knowledge, self.embeddings, self.settings.answer)
            return self._extractive

    def llm(self) -> LLMAnswerer:
        """The LLM answerer over the same index; a clear error when no endpoint is configured."""
        extractive = self.load()
        with self._lock:
            if self._llm is None:
                if self._chat_model is None and not self.settings.llm.base_url:
                    raise QuestionError(
                        "LLM mode is not configured on this server (set CRMKB_LLM_BASE_URL); "
                        "ask in extractive mode"
                    )
                model = self._chat_model or make_chat_model(self.settings.llm)
                self._llm = LLMAnswerer(extractive, model, self.settings.llm)
            return self._llm

    def ask(self, question: str, *, history: list[str] | None = None, mode: Mode | None = None) -> Answer:
        question = clean_question(question)
        context = [clean_question(h) for h in history or [] if h.strip()]
        curated = self.curated.match(question)
        if curated is not None:
            return curated
        if (mode or self.settings.answer.mode) == "llm":
            return self.llm().answer(question, context)
        return self.load().answer(question, context)
