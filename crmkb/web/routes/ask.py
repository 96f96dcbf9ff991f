"""POST /api/ask: one question in, one cited answer (or an honest refusal) out."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from bot.schemas import Answer, Mode
from bot.service import MAX_QUESTION_CHARS, clean_question
from crmkb.web.deps import BotDep

router = APIRouter(prefix="/api", tags=["ask"])


class AskRequest(BaseModel):
    question: str = Field(
        description=f"The question (Chinese or English), at most {MAX_QUESTION_CHARS} characters."
    )
    mode: Mode | None = Field(default=None, description="extractive (default) or llm.")

    @field_validator("question")
    @classmethod
    def _clean(cls, value: str) -> str:
        return clean_question(
            value
        )  # its QuestionError is a ValueError: FastAPI answers 422 with the message


@router.post("/ask", response_model=Answer)
def ask(body: AskRequest, bot: BotDep) -> Answer:
    return bot.ask(body.question, mode=body.mode)
