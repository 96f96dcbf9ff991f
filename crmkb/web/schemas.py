"""The HTTP API's public response schemas, apart from the domain types in ``crmkb.bot.schemas``.

``AskResponse.from_answer`` is the one place a domain ``Answer`` becomes what ``/api/ask``, the ``done``
event of ``/api/ask/stream`` and ``crmkb ask --json`` return. A refusal carries its message and the nearby
topics as fields (``refusal``), so no client has to cut them out of the answer's prose.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from crmkb.bot.language import Language
from crmkb.bot.schemas import Answer, Mode
from crmkb.ingest.catalog import Kind


class Citation(BaseModel):
    n: int = Field(description="The marker number used in the answer text, [n].")
    source: str = Field(description="Document id (file name in kb/).")
    title: str = Field(description="The document's title.")
    section: str = Field(description="The section's heading chain; empty for text before the first heading.")
    kind: Kind = Field(description="best-practice or failure-case")
    quote: str = Field(description="Verbatim text of the cleaned document at [start, end).")
    start: int
    end: int
    score: float
    title_en: str = Field(
        default="", description="The document's English title; empty when the catalog has none."
    )
    section_en: str = Field(
        default="",
        description="The section's English title, in Chinese where a heading has none; empty when none.",
    )


class Refusal(BaseModel):
    message: str = Field(description="What to show the asker: the refusal alone, in the asker's language.")
    topics: list[str] = Field(description="Nearby topics the knowledge base does cover (may be empty).")


class AskResponse(BaseModel):
    id: str = Field(description="Names the answer in POST /api/feedback.")
    question: str
    answer: str = Field(
        description="The answer text with [n] markers; for a refusal, message and topics as prose."
    )
    answerable: bool = Field(
        description="False when the knowledge base does not hold the answer (see refusal)."
    )
    language: Language = Field(description="The asker's language, which the answer is written in.")
    mode: Mode = Field(description="How the answer was made (an LLM answer may fall back to extractive).")
    citations: list[Citation] = Field(default_factory=list)
    topics: list[str] = Field(
        default_factory=list, description="Nearby topics (refusals); as refusal.topics."
    )
    refusal: Refusal | None = Field(default=None, description="Set exactly when answerable is false.")
    curated: bool = Field(default=False, description="A trainer-approved FAQ answer (crmkb faq publish).")
    latency_ms: float = 0.0

    @classmethod
    def from_answer(cls, answer: Answer) -> AskResponse:
        refusal = None
        if not answer.answerable:
            refusal = Refusal(message=answer.refusal_message, topics=answer.topics)
        # the domain's own fields (refusal_message) stay out: the API says what it shows in ``refusal``
        return cls(**answer.model_dump(exclude={"refusal_message"}), refusal=refusal)
