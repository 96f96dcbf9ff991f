"""POST /api/feedback: a 👍 or 👎 (and an optional comment) on an answer, stored with what it rated."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crmkb.feedback_store import UnknownAnswer
from crmkb.web.deps import StoreDep

router = APIRouter(prefix="/api", tags=["feedback"])


class FeedbackRequest(BaseModel):
    answer_id: str = Field(min_length=1, max_length=64, description="The id of the answer rated.")
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)


class FeedbackStored(BaseModel):
    id: int
    answer_id: str
    rating: Literal["up", "down"]


@router.post("/feedback", status_code=201, response_model=FeedbackStored)
async def feedback(body: FeedbackRequest, store: StoreDep) -> FeedbackStored:
    try:
        row = await run_in_threadpool(store.rate, body.answer_id, body.rating, body.comment.strip(), "web")
    except UnknownAnswer:
        raise HTTPException(status_code=404, detail=f"no answer with id {body.answer_id!r}") from None
    return FeedbackStored(id=row, answer_id=body.answer_id, rating=body.rating)
