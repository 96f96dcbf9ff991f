"""POST /api/ask: one question in, one cited answer (or an honest refusal) out."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, field_validator

from crmkb.bot.schemas import Mode
from crmkb.bot.service import MAX_HISTORY, MAX_QUESTION_CHARS, clean_question, recent_history
from crmkb.web.deps import BotDep, UserDep, WriterDep
from crmkb.web.guards import ApiRoute
from crmkb.web.schemas import AskResponse

router = APIRouter(prefix="/api", tags=["ask"], route_class=ApiRoute)


class AskRequest(BaseModel):
    question: str = Field(
        description=f"The question (Chinese or English), at most {MAX_QUESTION_CHARS} characters."
    )
    mode: Mode | None = Field(default=None, description="extractive (default) or llm.")
    history: list[str] = Field(
        default_factory=list,
        max_length=20,
        description=f"Earlier questions of the conversation, oldest first (the last {MAX_HISTORY} are used).",
    )

    @field_validator("question")
    @classmethod
    def _clean(cls, value: str) -> str:
        return clean_question(
            value
        )  # its QuestionError is a ValueError: FastAPI answers 422 with the message

    @field_validator("history")
    @classmethod
    def _recent(cls, value: list[str]) -> list[str]:
        return recent_history(value)


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, bot: BotDep, writer: WriterDep, user: UserDep) -> Response:
    answer = bot.ask(body.question, history=body.history, mode=body.mode)
    writer.record(answer, channel="web", user_id=user)  # queued: the client is not kept waiting for the disk
    # Encoded once, by pydantic-core: FastAPI's own way with a returned model (dump it, validate that
    # against response_model, encode it, then json.dumps) was the costliest step after the answer itself.
    return Response(AskResponse.from_answer(answer).model_dump_json(), media_type="application/json")
