"""The FastAPI application: routers per concern, the bot built in the lifespan, errors as clear JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from crmkb.bot.service import Bot, QuestionError
from crmkb.bot.watcher import IndexWatcher
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.index import IndexMissing
from crmkb.ingest.store import EmbedderMismatch, StoreUnavailable
from crmkb.settings import Settings, get_settings
from crmkb.web import admin_auth
from crmkb.web.guards import API_KEY_HEADER, BodyLimit, Guards
from crmkb.web.routes import ask, curated_admin, faq, feedback, health, slack, sources, stream, widget

FEEDBACK_DB = "feedback.sqlite3"


def create_app(settings: Settings, bot: Bot | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.bot = bot or Bot(settings)
        app.state.store = FeedbackStore(settings.data_dir / FEEDBACK_DB)
        app.state.slack = None
        if settings.slack.configured:
            from slack_bolt.adapter.fastapi import SlackRequestHandler

            from crmkb.slack.bolt_app import build_app

            app.state.slack = SlackRequestHandler(build_app(settings, app.state.bot, app.state.store))
        # The index loads in the background (a fresh data dir is ingested first): the service is live at
        # once, /readyz says when it can answer, and a store that is down only delays readiness.
        watcher = IndexWatcher(app.state.bot, settings.server.reload_interval_s)
        watcher.start()
        yield
        watcher.stop()

    # FastAPIOffline serves Swagger UI's and ReDoc's files from its wheel: /docs must work on a network
    # that cannot reach a CDN (the default FastAPI page loads them from one and stays blank).
    app = FastAPIOffline(
        title="crmkb", summary="CRM implementation guidance with verifiable citations", lifespan=lifespan
    )
    app.state.settings = settings
    app.state.guards = Guards(settings.server, settings.data_dir)  # run by every /api/* route (ApiRoute)
    app.state.admin = admin_auth.AdminAuth(settings.server, app.state.guards)  # the admin routes' sessions
    for router in (ask.router, stream.router, feedback.router, sources.router, faq.router):
        app.include_router(router)
    app.include_router(admin_auth.router)
    app.include_router(curated_admin.router)
    app.include_router(health.router)
    app.include_router(widget.router)
    app.include_router(faq.page)
    app.include_router(slack.router)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", API_KEY_HEADER],
        )
    app.add_middleware(BodyLimit, limit=settings.server.max_body_bytes)

    @app.exception_handler(QuestionError)
    async def _question(_: Request, exc: QuestionError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(IndexMissing)
    @app.exception_handler(EmbedderMismatch)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    return app


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` (one per worker process), configured from the environment."""
    return create_app(get_settings())
