"""The typed result of answering a question; the HTTP API returns it as JSON unchanged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from crmkb.bot.language import Language

Mode = Literal["extractive", "llm"]


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
    curated: bool = Field(default=False, description="A trainer-approved FAQ answer (crmkb faq publish).")
    latency_ms: float = 0.0
