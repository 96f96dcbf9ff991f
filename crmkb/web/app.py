"""The FastAPI application: routers per concern, the bot built in the lifespan, errors as clear JSON."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from crmkb.bot.service import Bot
from crmkb.bot.watcher import IndexWatcher
from crmkb.core.errors import Conflict, NotFound, Unavailable, UserError, described
from crmkb.core.settings import Settings, get_settings
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.pipeline import ensure_index
from crmkb.web import admin_auth
from crmkb.web.answer_writer import AnswerWriter
from crmkb.web.guards import API_KEY_HEADER, BodyLimit, Guards
from crmkb.web.reingest import Reingester
from crmkb.web.retention import RetentionSchedule
from crmkb.web.routes import (
    admin_conversations,
    admin_dashboard,
    admin_documents,
    admin_gaps,
    admin_hit_testing,
    admin_shell,
    ask,
    curated_admin,
    faq,
    feedback,
    health,
    slack,
    sources,
    stream,
    widget,
)

FEEDBACK_DB = "feedback.sqlite3"
log = logging.getLogger(__name__)


def create_app(settings: Settings, bot: Bot | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.bot = bot or Bot(settings)
        app.state.store = FeedbackStore(settings.host_state_dir / FEEDBACK_DB)
        app.state.writer = AnswerWriter(app.state.store)  # the web's answers, recorded off the request path
        app.state.reingester = Reingester(app.state.bot)  # the admin console's re-ingests
        app.state.slack = None
        if settings.slack.configured:
            from slack_bolt.adapter.fastapi import SlackRequestHandler

            from crmkb.slack.bolt_app import build_app

            app.state.slack = SlackRequestHandler(build_app(settings, app.state.bot, app.state.store))
        # The index loads in the background (a fresh data dir is ingested first): the service is live at
        # once, /readyz says when it can answer, and a store that is down only delays readiness.
        served: Bot = app.state.bot
        watcher = IndexWatcher(
            served,
            settings.server.reload_interval_s,
            prepare=lambda: ensure_index(settings, served.embeddings, served.index_store),
        )
        watcher.start()
        retention = RetentionSchedule(app.state.store, settings.feedback.retention_days)
        retention.start()
        yield
        retention.stop()
        watcher.stop()
        app.state.writer.close()  # a clean stop loses no answer

    # FastAPIOffline serves Swagger UI's and ReDoc's files from its wheel: /docs must work on a network
    # that cannot reach a CDN (the default FastAPI page loads them from one and stays blank).
    app = FastAPIOffline(
        title="crmkb", summary="CRM implementation guidance with verifiable citations", lifespan=lifespan
    )
    app.state.settings = settings
    # Run by every /api/* route; their counts are per host when CRMKB_STATE_DIR is.
    app.state.guards = Guards(settings.server, settings.host_state_dir, settings.jwt)
    app.state.admin = admin_auth.AdminAuth(settings.server, app.state.guards)  # the admin routes' sessions
    for router in (ask.router, stream.router, feedback.router, sources.router, faq.router):
        app.include_router(router)
    app.include_router(admin_auth.router)
    app.include_router(curated_admin.router)
    # The /admin console: its pages (admin_shell), then one API router per page (admin_<slug>).
    app.include_router(admin_shell.page)
    app.include_router(admin_documents.router)
    app.include_router(admin_documents.upload)
    app.include_router(admin_hit_testing.router)
    app.include_router(admin_conversations.router)
    app.include_router(admin_gaps.router)
    app.include_router(admin_dashboard.router)
    app.include_router(health.router)
    app.include_router(widget.router)
    app.include_router(faq.page)
    app.include_router(slack.router)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", API_KEY_HEADER],
        )
    app.add_middleware(BodyLimit, limit=settings.server.max_body_bytes)

    # The one place errors meant for a person become HTTP answers (crmkb.core.errors): what the client
    # sent is at fault (4xx, its message says what to change), or a part is down (503, the cause logged).
    @app.exception_handler(UserError)
    async def _user_error(_: Request, exc: UserError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    # FastAPI's own 422 repeats each rejected value; a 2,000-character question then comes back whole.
    # The client has what it sent: the answer says where and why.
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{key: e[key] for key in ("type", "loc", "msg", "ctx") if key in e} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})

    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        log.warning("%s %s: unavailable: %s", request.method, request.url.path, described(exc))
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    return app


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` (one per worker process), configured from the environment."""
    return create_app(get_settings())
