"""The admin console's Conversations page (/admin/conversations): every answer served, filtered, paged,
exported as CSV, deleted, and pruned by the retention setting (CRMKB_FEEDBACK_RETENTION_DAYS)."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from crmkb.core.errors import Conflict, UserError
from crmkb.insights.conversations import DAY_S, ConversationLog, Filters, Outcome, RatingFilter
from crmkb.web.admin_auth import AdminRoute
from crmkb.web.deps import WrittenStoreDep

router = APIRouter(prefix="/api/admin/conversations", tags=["admin"], route_class=AdminRoute)
MAX_IDS = 1000


class FilterQuery(BaseModel):
    channel: str | None = Field(default=None, max_length=40, description="web, slack, …")
    language: str | None = Field(default=None, max_length=20)
    outcome: Outcome | None = None
    rating: RatingFilter | None = Field(
        default=None, description="up/down: has such a rating; rated, unrated."
    )
    since: date | None = Field(default=None, description="First day asked (UTC), inclusive.")
    until: date | None = Field(default=None, description="Last day asked (UTC), inclusive.")
    q: str | None = Field(
        default=None, max_length=200, description="Text in the question, answer or comment."
    )

    def filters(self) -> Filters:
        def day(d: date | None, extra: int = 0) -> float | None:
            return None if d is None else calendar.timegm(d.timetuple()) + extra * DAY_S

        return Filters(channel=self.channel or None, language=self.language or None, outcome=self.outcome,
                       rating=self.rating, since=day(self.since), until=day(self.until, 1),
                       text=(self.q or "").strip() or None)  # fmt: skip


FilterDep = Annotated[FilterQuery, Query()]


class ConversationRow(BaseModel):
    id: str
    asked: float = Field(description="When, in epoch seconds.")
    channel: str
    language: str
    answered: bool
    outcome: Outcome = Field(
        description="answered; refused (not in the knowledge base); replied (a greeting or thanks)."
    )
    curated: bool
    mode: str
    latency_ms: float | None = Field(description="Answer time; null when recorded before it was measured.")
    user_id: str | None = Field(description="The asker's verified user id (signed widget token), if any.")
    question: str
    answer: str
    sources: list[str]
    up: int
    down: int
    comment: str = Field(description="The latest rater's comment, if any.")


class ConversationPage(BaseModel):
    total: int = Field(description="How many answers the filter matches.")
    offset: int
    rows: list[ConversationRow]
    channels: list[str] = Field(description="Channels recorded so far (the filter's choices).")
    languages: list[str]
    retention_days: int = Field(description="CRMKB_FEEDBACK_RETENTION_DAYS (0: kept forever).")


class DeleteRequest(BaseModel):
    ids: list[str] | None = Field(default=None, max_length=MAX_IDS, description="These answers.")
    filters: FilterQuery | None = Field(default=None, description="Or every answer this filter matches…")
    expected: int | None = Field(
        default=None, ge=0, description="…which must be this many (the count the admin confirmed)."
    )

    @model_validator(mode="after")
    def _one_way(self) -> DeleteRequest:
        if (self.ids is None) == (self.filters is None):
            raise ValueError("give either ids or filters")
        if self.filters is not None and self.expected is None:
            raise ValueError("a filtered delete needs expected: the count the admin confirmed")
        return self


class Deleted(BaseModel):
    deleted: int


class MismatchedCount(Conflict):
    """The filter matches another number of answers than the admin confirmed (new ones arrived)."""


def _log(store: WrittenStoreDep) -> ConversationLog:
    return ConversationLog(store)


LogDep = Annotated[ConversationLog, Depends(_log)]


@router.get("", response_model=ConversationPage)
async def conversations(
    query: FilterDep,
    log: LogDep,
    request: Request,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ConversationPage:
    def read() -> ConversationPage:
        total, rows = log.page(query.filters(), offset=offset, limit=limit)
        channels, languages = log.channels_and_languages()
        return ConversationPage(
            total=total, offset=offset, rows=[ConversationRow(**vars(r)) for r in rows], channels=channels,
            languages=languages, retention_days=request.app.state.settings.feedback.retention_days,
        )  # fmt: skip

    return await run_in_threadpool(read)


@router.get("/export.csv", response_class=StreamingResponse)
def export(query: FilterDep, log: LogDep) -> StreamingResponse:
    """What the filter matches, every page of it, as CSV."""
    return StreamingResponse(
        log.csv_chunks(query.filters()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
    )


@router.post("/delete", response_model=Deleted)
async def delete(body: DeleteRequest, log: LogDep) -> Deleted:
    def work() -> Deleted:
        if body.ids is not None:
            return Deleted(deleted=log.delete(ids=body.ids))
        assert body.filters is not None  # the validator saw to it
        filters = body.filters.filters()
        found = log.count(filters)
        if found != body.expected:
            raise MismatchedCount(
                f"the filter now matches {found} answers, not the {body.expected} confirmed: look again"
            )
        return Deleted(deleted=log.delete(filters=filters))

    return await run_in_threadpool(work)


@router.post("/retention", response_model=Deleted)
async def apply_retention(log: LogDep, request: Request) -> Deleted:
    """Delete what is older than CRMKB_FEEDBACK_RETENTION_DAYS now, rather than at the next daily run."""
    days: int = request.app.state.settings.feedback.retention_days
    if days <= 0:
        raise UserError("no retention is set: CRMKB_FEEDBACK_RETENTION_DAYS is 0, answers are kept forever")
    return Deleted(deleted=await run_in_threadpool(log.purge, days))
