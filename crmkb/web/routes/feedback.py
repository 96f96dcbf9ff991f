"""POST /api/feedback: a 👍 or 👎 (and an optional comment) on an answer, stored with what it rated.

Each rater holds one rating per answer, replaced when they rate it again: the rater is the verified user
of a signed token (in every browser they use), else the id the widget keeps in the browser, else the
client's address.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crmkb.feedback_store import FeedbackStore, FeedbackUnavailable, Rating, UnknownAnswer
from crmkb.web.answer_writer import AnswerWriter
from crmkb.web.deps import StoreDep, UserDep, WriterDep
from crmkb.web.guards import ApiRoute

router = APIRouter(prefix="/api", tags=["feedback"], route_class=ApiRoute)

# Answers reach the store a batch after they are served (crmkb.web.answer_writer). This worker's own queue
# is flushed before a rating is refused, but an answer served by another worker process may still be in
# that worker's batch: it is looked for once more after this long.
OTHER_WORKERS_SETTLE_S = 0.25


class FeedbackRequest(BaseModel):
    answer_id: str = Field(min_length=1, max_length=64, description="The id of the answer rated.")
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)
    rater: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="A random id the client keeps for its user; rating the same answer again replaces the rating.",
    )


class FeedbackStored(BaseModel):
    id: int
    answer_id: str
    rating: Literal["up", "down"]


def rate_recorded(
    store: FeedbackStore,
    writer: AnswerWriter,
    answer_id: str,
    rating: Rating,
    comment: str,
    rater: str,
    user: str | None,
) -> int:
    """Store the rating, once the answer it names is written: see :data:`OTHER_WORKERS_SETTLE_S`."""
    rate = partial(store.rate, answer_id, rating, comment, "web", rater=rater, user_id=user)
    try:
        return rate()
    except UnknownAnswer:
        writer.flush()
    try:
        return rate()
    except UnknownAnswer:
        time.sleep(OTHER_WORKERS_SETTLE_S)
    return rate()


@router.post("/feedback", status_code=201, response_model=FeedbackStored)
async def feedback(
    body: FeedbackRequest, store: StoreDep, writer: WriterDep, user: UserDep, request: Request
) -> FeedbackStored:
    if user is not None:
        rater = f"user:{user}"
    else:
        rater = (
            f"web:{body.rater}" if body.rater else f"addr:{request.client.host if request.client else '?'}"
        )
    try:
        row = await run_in_threadpool(
            rate_recorded, store, writer, body.answer_id, body.rating, body.comment.strip(), rater, user
        )
    except UnknownAnswer:
        raise HTTPException(status_code=404, detail=f"no answer with id {body.answer_id!r}") from None
    except FeedbackUnavailable:
        raise HTTPException(
            status_code=503, detail="ratings cannot be stored right now; try again shortly"
        ) from None
    return FeedbackStored(id=row, answer_id=body.answer_id, rating=body.rating)
