"""Dependencies the routers share; heavy objects are built in the app's lifespan, never at import."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crmkb.bot.service import Bot
from crmkb.feedback_store import FeedbackStore


def get_bot(request: Request) -> Bot:
    bot: Bot = request.app.state.bot
    return bot


def get_store(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.store
    return store


def get_user(request: Request) -> str | None:
    """The verified user of the request's signed token (:mod:`crmkb.web.jwt_auth`), else ``None``."""
    user: str | None = getattr(request.state, "identity", None)
    return user


BotDep = Annotated[Bot, Depends(get_bot)]
StoreDep = Annotated[FeedbackStore, Depends(get_store)]
UserDep = Annotated[str | None, Depends(get_user)]
