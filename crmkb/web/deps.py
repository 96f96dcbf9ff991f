"""Dependencies the routers share; heavy objects are built in the app's lifespan, never at import."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bot.service import Bot


def get_bot(request: Request) -> Bot:
    bot: Bot = request.app.state.bot
    return bot


BotDep = Annotated[Bot, Depends(get_bot)]
