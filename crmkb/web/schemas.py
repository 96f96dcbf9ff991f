"""The HTTP API's public response schemas, apart from the domain types in ``crmkb.bot.schemas``.

``AskResponse.from_answer`` is the one place a domain ``Answer`` becomes what ``/api/ask``, the ``done``
event of ``/api/ask/stream`` and ``crmkb ask --json`` return. A refusal carries its message and the nearby
topics as fields (``refusal``), so no client has to cut them out of the answer's prose; a citation carries
where it comes from and its kind as the asker reads them (``label``, ``kind_label``), so no client keeps
its own vocabulary or joins titles itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from crmkb.bot import schemas as domain
from crmkb.bot.language import Language
from crmkb.bot.render import as_read, place
from crmkb.bot.schemas import Answer, Declined, Mode
from crmkb.ingest.catalog import Kind, kind_label

# The trainer pages (/faq and its editor) name articles by their own (Chinese) titles, as the FAQ files do,
# whatever language a question was asked in: a trainer edits what the articles say.
TRAINER_LANGUAGE = "zh-Hans"


class Citation(BaseModel):
    n: int = Field(description="The marker number used in the answer text, [n].")
    source: str = Field(description="Document id (file name in kb/).")
    title: str = Field(description="The document's title.")
    section: str = Field(description="The section's heading chain; empty for text before the first heading.")
    kind: Kind = Field(description="best-practice or failure-case")
    quote: str = Field(description="Verbatim text of the cleaned document at [start, end).")
    quote_shown: str = Field(
        description="The quote as the asker reads it: in Traditional characters for a Traditional asker, "
        "as in the answer text (``quote`` is the document's own text)."
    )
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
    # Required, not defaulted: a response built without them is an error here, not a blank in a client.
    label: str = Field(
        description='Where the quote comes from as the asker reads it, "title › section" (the title alone '
        "for text before the first heading); the catalog's English titles for an English asker where it has them."
    )
    kind_label: str = Field(
        description="The kind as the asker reads it: 最佳实践 / 失败案例, 最佳實踐 / 失敗案例, Best practice / "
        "Failure case (English for other languages)."
    )

    @classmethod
    def shown_to(cls, citation: domain.Citation | Mapping[str, Any], language: str) -> Citation:
        """The public citation, labelled for an asker of ``language`` by the same functions the answer text,
        Slack and the CLI use."""
        c = domain.Citation.model_validate(citation)
        return cls(
            **c.model_dump(),
            quote_shown=as_read(c.quote, language),
            label=place(c, language),
            kind_label=kind_label(c.kind, language),
        )


class Refusal(BaseModel):
    kind: Declined = Field(
        description="not_covered: the knowledge base does not hold the answer (topics: the nearest it covers); "
        "nothing_asked: a greeting or a message asking nothing (topics: the documents' titles); "
        "acknowledged: thanks for the previous answer (no topics). Only not_covered is a refusal to flag."
    )
    message: str = Field(description="What to show the asker: the refusal alone, in the asker's language.")
    topics: list[str] = Field(
        description="Topics the knowledge base does cover (may be empty), as ``kind`` says."
    )


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
            refusal = Refusal(
                kind=answer.declined or "not_covered", message=answer.refusal_message, topics=answer.topics
            )
        # the domain's own fields (refusal_message, declined) stay out: the API says them in ``refusal``
        fields = answer.model_dump(exclude={"refusal_message", "declined", "citations"})
        citations = [Citation.shown_to(c, answer.language) for c in answer.citations]
        return cls(**fields, citations=citations, refusal=refusal)
