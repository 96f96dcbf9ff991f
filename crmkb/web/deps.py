"""Dependencies the routers share; heavy objects are built in the app's lifespan, never at import.

The ones that only read ``app.state`` are ``async``: FastAPI runs a plain ``def`` dependency in its thread
pool, and a hop there and back for each of them cost /api/ask more than reading the attributes does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crmkb.bot.service import Bot
from crmkb.feedback_store import FeedbackStore
from crmkb.web.answer_writer import AnswerWriter

# How long a report waits for queued answers when the disk is slow: it then shows what is written.
WRITTEN_WAIT_S = 5.0


async def get_bot(request: Request) -> Bot:
    bot: Bot = request.app.state.bot
    return bot


async def get_store(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.store
    return store


async def get_writer(request: Request) -> AnswerWriter:
    writer: AnswerWriter = request.app.state.writer
    return writer


def get_written_store(request: Request) -> FeedbackStore:
    """The feedback store once every answer this process has queued is written: the admin console's
    reports then show the answer just served. (A plain ``def``: FastAPI waits in a worker thread.)"""
    state = request.app.state
    state.writer.flush(timeout=WRITTEN_WAIT_S)
    store: FeedbackStore = state.store
    return store


async def get_user(request: Request) -> str | None:
    """The verified user of the request's signed token (:mod:`crmkb.web.jwt_auth`), else ``None``."""
    user: str | None = getattr(request.state, "identity", None)
    return user


BotDep = Annotated[Bot, Depends(get_bot)]
StoreDep = Annotated[FeedbackStore, Depends(get_store)]
WrittenStoreDep = Annotated[FeedbackStore, Depends(get_written_store)]
WriterDep = Annotated[AnswerWriter, Depends(get_writer)]
UserDep = Annotated[str | None, Depends(get_user)]
