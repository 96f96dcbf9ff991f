"""The bot as one object, built from its parts: validate a question and answer it from the published index.

Channels (CLI, HTTP, Slack and the FAQ builder) hold one :class:`Bot` and call :meth:`Bot.ask`. Its parts
are the embeddings, the index store (``crmkb.ingest.index``, the index's read side) and, for LLM mode, a
chat model; each is made from the settings unless given. Heavy parts (model, store, index files) load on
first use, behind a lock; a long-running process calls :meth:`Bot.refresh` to follow re-ingests without a
restart. The bot only reads: an index is made by ``crmkb ingest``, or by a channel that starts one
(``crmkb.ingest.pipeline.ensure_index``) before the bot loads.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from crmkb.bot.curated import CuratedAnswers
from crmkb.bot.extractive import ExtractiveAnswerer
from crmkb.bot.glossary import Glossary
from crmkb.bot.knowledge import Knowledge
from crmkb.bot.llm import LLMAnswerer, make_chat_model
from crmkb.bot.schemas import Answer, Mode
from crmkb.core.errors import UserError, first_line
from crmkb.core.settings import Settings
from crmkb.ingest.embeddings import IdentifiedEmbeddings, make_embeddings
from crmkb.ingest.glossary_file import glossary_path
from crmkb.ingest.index import IndexMissing, IndexStore, PublishedIndex, make_store

MAX_QUESTION_CHARS = 2000
MAX_HISTORY = 5  # earlier questions of a conversation that are read
# Bytes that were not UTF-8 reach Python as lone surrogates (argv and stdin decode with surrogateescape);
# no encoder downstream can write them.
_UNDECODED = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


class QuestionError(UserError):
    """The question cannot be answered as asked; the message tells the user what to change."""


class QuestionTooLong(QuestionError):
    """The question is longer than ``limit`` characters (as written, or once normalised)."""

    def __init__(self, message: str, limit: int = MAX_QUESTION_CHARS) -> None:
        super().__init__(message)
        self.limit = limit


def clean_question(text: str) -> str:
    """Strip control and invisible formatting characters and surrounding space; refuse empty or long text.

    The limit holds after normalising too: NFKC expands some single characters up to 18-fold (U+FDFA), and
    the normalised text is what the tokeniser and the embedder read, at a cost that grows with its length.
    """
    if _UNDECODED.search(text):
        raise QuestionError(
            "the question is not valid UTF-8 text: set the terminal (or the input) to UTF-8 and ask again"
        )
    question = _CONTROL.sub("", text).strip()
    if not question:
        raise QuestionError("the question is empty: type a question about CRM implementation")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"the question is {len(question)} characters long; keep it under {MAX_QUESTION_CHARS}"
        )
    expanded = len(unicodedata.normalize("NFKC", question))
    if expanded > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"the question expands to {expanded} characters once normalised (compatibility characters such "
            f"as ﷺ spell out as long phrases); keep it under {MAX_QUESTION_CHARS}"
        )
    return question


def recent_history(history: list[str] | None) -> list[str]:
    """The last MAX_HISTORY non-blank earlier questions, cleaned: only these are read, so only these are
    cleaned (a request may carry more, each up to the question limit)."""
    return [clean_question(h) for h in [h for h in history or [] if h.strip()][-MAX_HISTORY:]]


log = logging.getLogger(__name__)
_WITHOUT_GLOSSARY = (
    "English questions are matched by meaning alone and synonyms are off "
    "(run crmkb where kb/ is, or set CRMKB_KB_DIR)"
)


@dataclass(frozen=True)
class Readiness:
    """What a readiness probe reports: the version being answered from, the one the pointer names, and
    what stands in the way of answering (empty when ready)."""

    served: str | None
    active: str | None
    problems: list[str]
    # what answers without, but answers worse for (a missing glossary); never a reason to take traffic away
    warnings: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


class Bot:
    """Holds the answerer for one index version and follows the active-version pointer: :meth:`refresh`
    loads a newly published version while the current one keeps answering, then switches in one step.
    A request already under way finishes on the version it started with."""

    def __init__(
        self,
        settings: Settings,
        *,
        embeddings: IdentifiedEmbeddings | None = None,
        index_store: IndexStore | None = None,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings or make_embeddings(settings.embedding)
        self._index_store = index_store
        self._lock = threading.Lock()  # guards the swap of the answerers
        self._loading = threading.Lock()  # one load at a time; answering never waits for it once loaded
        self._extractive: ExtractiveAnswerer | None = None
        self._llm: LLMAnswerer | None = None
        self._chat_model = chat_model
        self.load_error: str | None = None
        self.warnings: list[str] = []
        self.curated = CuratedAnswers(settings.data_dir, self.embeddings)

    @property
    def index_store(self) -> IndexStore:
        # Made once: a client per check would reopen the store every few seconds.
        if self._index_store is None:
            self._index_store = make_store(self.settings)
        return self._index_store

    def _build(self) -> ExtractiveAnswerer:
        try:
            index = self.index_store.open(self.embeddings)
            knowledge = Knowledge.load(index, self._glossary(index))
        except Exception as exc:
            self.load_error = first_line(exc)
            raise
        self.load_error = None
        return ExtractiveAnswerer(knowledge, self.embeddings, self.settings.answer)

    def _glossary(self, index: PublishedIndex) -> Glossary:
        """The glossary the version was published with, or for a version published before glossaries were,
        the one in the kb dir. The index answers without one, but English questions are then matched by
        meaning alone and no synonym is read: a server without one says so."""
        if index.glossary is not None:
            self.warnings = []
            return Glossary.parse(index.glossary, f"the glossary of index version {index.version.name}")
        path = glossary_path(self.settings.kb_dir)
        self.warnings = [] if path.exists() else [f"no glossary at {path}: {_WITHOUT_GLOSSARY}"]
        for warning in self.warnings:
            log.warning(warning)
        return Glossary.load(self.settings.kb_dir)

    def _install(self, answerer: ExtractiveAnswerer) -> None:
        with self._lock:
            self._extractive, self._llm = answerer, None

    @property
    def served_version(self) -> str | None:
        current = self._extractive
        return current.knowledge.version.name if current is not None else None

    def load(self) -> ExtractiveAnswerer:
        """The answerer being served; the first call loads the active index version."""
        current = self._extractive
        if current is not None:
            return current
        with self._loading:
            if self._extractive is None:
                self._install(self._build())
            assert self._extractive is not None
            return self._extractive

    def refresh(self, *, wait: bool = False) -> str | None:
        """Switch to the version the pointer names when it is not the one served (a new ingest, or a load
        that failed before); returns the version switched to. Never ingests. Without ``wait``, returns at
        once when another load is under way."""
        if not self._loading.acquire(blocking=wait):
            return None
        try:
            active = self.index_store.active()
            if active is None or active.name == self.served_version:
                return None
            self._install(self._build())
            return self.served_version
        finally:
            self._loading.release()

    def readiness(self) -> Readiness:
        """Can this bot answer now? Checks the store is reachable and still holds the served version."""
        current = self._extractive
        served = current.knowledge.version.name if current is not None else None
        problems = [] if current is not None else [f"index not loaded: {self.load_error or 'loading'}"]
        active = None
        try:
            pointer = self.index_store.active()
            active = pointer.name if pointer is not None else None
            if current is not None:
                current.knowledge.index.check()
        except Exception as exc:
            problems.append(f"store: {first_line(exc)}")
        return Readiness(served, active, problems, list(self.warnings))

    def check_mode(self, mode: Mode | None) -> None:
        """Refuse a mode this bot cannot answer in, before any work (a stream must know before it starts)."""
        if (
            (mode or self.settings.answer.mode) == "llm"
            and self._chat_model is None
            and not self.settings.llm.base_url
        ):
            raise QuestionError(
                "LLM mode is not configured on this server (set CRMKB_LLM_BASE_URL); ask in extractive mode"
            )

    def llm(self) -> LLMAnswerer:
        """The LLM answerer over the same index; a clear error when no endpoint is configured."""
        self.check_mode("llm")
        extractive = self.load()
        with self._lock:
            if self._llm is None or self._llm.extractive is not extractive:
                model = self._chat_model or make_chat_model(self.settings.llm)
                self._llm = LLMAnswerer(extractive, model, self.settings.llm)
            return self._llm

    def ask(self, question: str, *, history: list[str] | None = None, mode: Mode | None = None) -> Answer:
        question = clean_question(question)
        context = recent_history(history)
        self.check_mode(mode)  # the same answer to "llm" whether or not a curated answer would match
        began = time.perf_counter()
        curated = self.curated.match(question)
        if curated is not None:
            curated.latency_ms = round((time.perf_counter() - began) * 1000, 2)  # the dashboard's p50/p95
            return curated
        try:
            return self._answer(question, context, mode)
        except IndexMissing:
            # The served version was dropped before this process switched (it was idle past the grace
            # period, or its watcher was stopped): switch now and answer from the active version.
            if self.refresh(wait=True) is None:
                raise
            return self._answer(question, context, mode)

    def _answer(self, question: str, context: list[str], mode: Mode | None) -> Answer:
        if (mode or self.settings.answer.mode) == "llm":
            return self.llm().answer(question, context)
        return self.load().answer(question, context)
