"""The admin console's Gaps page (/admin/gaps): refused and 👎 questions grouped by meaning, most asked
first, each group ready to hand to the FAQ builder (/faq) as its question list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crmkb.insights.gaps import GapFinder
from crmkb.web.admin_auth import AdminRoute
from crmkb.web.deps import BotDep, WrittenStoreDep
from crmkb.web.routes.faq import MAX_QUESTIONS

router = APIRouter(prefix="/api/admin/gaps", tags=["admin"], route_class=AdminRoute)
SAMPLE = 5


class GapQuestion(BaseModel):
    text: str = Field(description="Its most recent wording.")
    asks: int
    wordings: int = Field(description="How many ways it was written (case, width, spacing).")


class GapGroup(BaseModel):
    asks: int = Field(description="How often a question of the group was asked.")
    refused: int
    disliked: int = Field(description="Answers rated 👎.")
    last: float = Field(description="Last asked, epoch seconds.")
    distinct: int = Field(description="Distinct questions in the group.")
    sample: list[GapQuestion] = Field(description=f"The {SAMPLE} most asked.")
    questions: list[str] = Field(
        description=f"The group's questions for the FAQ builder, most asked first (at most {MAX_QUESTIONS})."
    )


class GapsPage(BaseModel):
    gaps: list[GapGroup]
    considered: int = Field(description="Distinct questions grouped.")
    pending: int = Field(description="Distinct questions being embedded in the background: look again soon.")
    beyond_limit: int = Field(description="Older distinct questions left out (CRMKB_FEEDBACK_GAP_QUESTIONS).")
    failure: str | None = Field(description="Why the background embedding last stopped, if it failed.")


def finder(request: Request, store: WrittenStoreDep, bot: BotDep) -> GapFinder:
    """One per app: its background thread and the store it fills are shared by every request."""
    found: GapFinder | None = getattr(request.app.state, "gaps", None)
    if found is None or found.store is not store:
        found = request.app.state.gaps = GapFinder(store, lambda: bot.embeddings)
    return found


@router.get("", response_model=GapsPage)
async def gaps(
    request: Request,
    store: WrittenStoreDep,
    bot: BotDep,
    top: Annotated[int, Query(ge=1, le=500)] = 50,
) -> GapsPage:
    settings = request.app.state.settings.feedback
    found = finder(request, store, bot)
    report = await run_in_threadpool(
        lambda: found.report(limit=settings.gap_questions, similarity=settings.gap_similarity)
    )
    return GapsPage(
        gaps=[
            GapGroup(asks=g.asks, refused=g.refused, disliked=g.disliked, last=g.last, distinct=len(g.questions),
                     sample=[GapQuestion(text=q.text, asks=q.asks, wordings=len(q.wordings))
                             for q in g.questions[:SAMPLE]],
                     questions=[q.text for q in g.questions[:MAX_QUESTIONS]])
            for g in report.gaps[:top]
        ],
        considered=report.considered, pending=report.pending, beyond_limit=report.beyond_limit,
        failure=found.failure,
    )  # fmt: skip
