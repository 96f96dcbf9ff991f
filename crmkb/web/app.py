"""The FastAPI application: routers per concern, the bot built in the lifespan, errors as clear JSON."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.service import Bot, QuestionError
from crmkb.settings import Settings
from crmkb.web.routes import ask, health
from ingest.index import IndexMissing
from ingest.store import EmbedderMismatch, StoreUnavailable


def create_app(settings: Settings, bot: Bot | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.bot = bot or Bot(settings)
        # A fresh data dir is ingested here. When the store is down the service still starts; requests
        # answer 503 with the reason until it is back.
        with contextlib.suppress(StoreUnavailable, IndexMissing, EmbedderMismatch):
            await run_in_threadpool(app.state.bot.load)
        yield

    app = FastAPI(
        title="crmkb", summary="CRM implementation guidance with verifiable citations", lifespan=lifespan
    )
    app.include_router(health.router)
    app.include_router(ask.router)

    @app.exception_handler(QuestionError)
    async def _question(_: Request, exc: QuestionError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(IndexMissing)
    @app.exception_handler(EmbedderMismatch)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    return app
