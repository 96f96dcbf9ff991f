"""The typed result of answering a question, as the bot and every channel use it.

The HTTP API does not return these types as they are: ``crmkb.web.schemas`` builds its public response
from them in one place, so the domain can change without changing the API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from crmkb.bot.language import Language

Mode = Literal["extractive", "llm"]
# Why nothing was answered from the articles: the knowledge base does not hold the answer, the message asked
# nothing ("你好"), or it thanked for the previous answer. Only the first is a gap in the knowledge base.
Declined = Literal["not_covered", "nothing_asked", "acknowledged"]
# The declines that reply to a message (a greeting, thanks) rather than refuse a question.
REPLIES: frozenset[Declined] = frozenset({"nothing_asked", "acknowledged"})


class Citation(BaseModel):
    n: int = Field(description="The marker number used in the answer text, [n].")
    source: str = Field(description="Document id (file name in kb/).")
    title: str
    section: str
    kind: str = Field(description="best-practice or failure-case")
    quote: str = Field(description="Verbatim text of the cleaned document at [start, end).")
    start: int
    end: int
    score: float
    title_en: str = Field(
        default="", description="The document's English title (kb/catalog.toml); empty when none."
    )
    section_en: str = Field(
        default="",
        description="The section's English title, in Chinese where a heading has none; empty when none.",
    )


class Answer(BaseModel):
    id: str = Field(default="", description="Names the answer in POST /api/feedback (set when it is served).")
    question: str
    answer: str
    answerable: bool
    language: Language
    mode: Mode
    citations: list[Citation] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list, description="Nearby topics the KB covers (refusals).")
    refusal_message: str = Field(
        default="",
        description="A refusal's message alone, without the topics that ``answer`` lists after it; empty for an answer.",
    )
    declined: Declined | None = Field(
        default=None, description="Why nothing was answered (set exactly when answerable is false)."
    )
    curated: bool = Field(default=False, description="A trainer-approved FAQ answer (crmkb faq publish).")
    latency_ms: float = 0.0

    @property
    def replied(self) -> bool:
        """A reply to a greeting or thanks: nothing to rate, and no gap in the knowledge base."""
        return self.declined in REPLIES

    @model_validator(mode="after")
    def _refusal_has_a_message(self) -> Answer:
        """Every refusal carries its message as data (``render.refusal`` writes it); one built without
        one says its whole text."""
        if not self.answerable and not self.refusal_message:
            self.refusal_message = self.answer
        if self.answerable:
            self.declined = None
        elif self.declined is None:
            self.declined = "not_covered"
        return self
