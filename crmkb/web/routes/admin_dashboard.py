"""The admin console's Dashboard (/admin/dashboard): questions per day, answered and refused, 👍/👎,
curated-answer hits and p50/p95 answer time, by channel, over the last ``days`` days (UTC)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crmkb.insights.dashboard import DAY_S, Tally, dashboard
from crmkb.web.admin_auth import AdminRoute
from crmkb.web.deps import WrittenStoreDep

router = APIRouter(prefix="/api/admin/dashboard", tags=["admin"], route_class=AdminRoute)


class Counts(BaseModel):
    questions: int
    answered: int
    refused: int
    curated: int = Field(description="Answered with a published curated answer.")
    up: int = Field(description="Answers rated 👍 (by at least one rater).")
    down: int = Field(description="Answers rated 👎.")


class Day(Counts):
    day: str = Field(description="YYYY-MM-DD (UTC).")


class ChannelFigures(Counts):
    channel: str = Field(description='A channel, or "all".')
    p50_ms: float | None
    p95_ms: float | None
    days: list[Day] = Field(description="Per day, oldest first.")


class DashboardPage(BaseModel):
    days: int
    channels: list[ChannelFigures] = Field(description='Each channel, then "all".')


def _day(start: float, n: int, tally: Tally) -> Day:
    return Day(day=time.strftime("%Y-%m-%d", time.gmtime(start + n * DAY_S)), **vars(tally))


@router.get("", response_model=DashboardPage)
async def figures(store: WrittenStoreDep, days: Annotated[int, Query(ge=1, le=366)] = 30) -> DashboardPage:
    today = int(time.time() // DAY_S) * DAY_S
    start = today - (days - 1) * DAY_S
    board = await run_in_threadpool(lambda: dashboard(store, start=start, days=days))
    channels = []
    for summary in board.channels:
        daily = board.days if summary.channel == "all" else board.daily_by_channel[summary.channel]
        channels.append(
            ChannelFigures(channel=summary.channel, p50_ms=summary.p50_ms, p95_ms=summary.p95_ms,
                           days=[_day(start, n, t) for n, t in enumerate(daily)], **vars(summary.tally))
        )  # fmt: skip
    return DashboardPage(days=days, channels=channels)
