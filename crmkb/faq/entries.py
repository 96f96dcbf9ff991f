"""FAQ entries: a question, the bot's cited answer, the trainer's edit and status, and where it is filed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from crmkb.bot.schemas import Answer, Citation
from crmkb.ingest.chunking import SECTION_SEPARATOR

# What a trainer can say of an entry in a review file; a question the bot refused is not covered.
DRAFT, APPROVED, REJECTED, NOT_COVERED = "draft", "approved", "rejected", "not-covered"
STATUSES = (DRAFT, APPROVED, REJECTED, NOT_COVERED)


@dataclass
class Entry:
    id: str  # position in the question file, zero-padded, so ids sort as the questions came
    question: str
    status: str  # one of STATUSES
    answer: str
    citations: list[dict[str, Any]]
    source: str = ""  # the topic: the first citation's document and top-level section
    title: str = ""
    section: str = ""
    kind: str = ""
    also_asked: list[str] = field(default_factory=list)  # near-duplicate questions merged into this one
    edited_answer: str = ""
    check: str = ""  # why an edited answer is not supported by its citations, when it is not
    order: int = 0  # where the topic's first citation sits in its document (orders topics)

    @classmethod
    def from_answer(cls, index: int, answer: Answer) -> Entry:
        if not answer.answerable:
            return cls(id=f"{index:05d}", question=answer.question, status=NOT_COVERED, answer=answer.answer,
                       citations=[])  # fmt: skip
        first = answer.citations[0]
        return cls(
            id=f"{index:05d}", question=answer.question, status=DRAFT, answer=answer.answer,
            citations=[_citation(c) for c in answer.citations], source=first.source, title=first.title,
            section=first.section.split(SECTION_SEPARATOR)[0], kind=first.kind, order=first.start,
        )  # fmt: skip

    @property
    def covered(self) -> bool:
        return self.status != NOT_COVERED

    @property
    def final_answer(self) -> str:
        return self.edited_answer.strip() or self.answer

    @property
    def flagged(self) -> bool:
        """An edit its quotes do not support: ``review.recheck`` wrote why in ``check``."""
        return bool(self.edited_answer.strip() and self.check)

    @property
    def reader_answer(self) -> str:
        """The answer a reader is shown: the edit, unless it is flagged; then the bot's cited answer.

        A flagged edit is never shown to readers, not even marked: a reader cannot judge a warning, and a
        claim printed beside a citation that says otherwise is the harm itself. The bot's answer is what the
        chatbot serves for the question too (``publish`` refuses the edit), so the printed FAQ and the bot
        agree; the trainer learns of the flag from ``build --from``, which names each one.
        """
        return self.answer if self.flagged else self.final_answer

    def row(self) -> dict[str, str]:
        """One CSV row: lists and citations as JSON, everything else as text."""
        data = asdict(self)
        data["also_asked"] = json.dumps(self.also_asked, ensure_ascii=False)
        data["citations"] = json.dumps(self.citations, ensure_ascii=False)
        return {k: str(v) for k, v in data.items()}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Entry:
        """An entry from a reviewed CSV row or JSON object (lists may arrive as JSON text)."""
        data = dict(row)
        for key in ("also_asked", "citations"):
            if isinstance(data.get(key), str):
                data[key] = json.loads(data[key] or "[]")
        data["order"] = int(data.get("order") or 0)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def citation_models(self) -> list[Citation]:
        return [Citation.model_validate(c) for c in self.citations]


def _citation(c: Citation) -> dict[str, Any]:
    data = c.model_dump()
    data["score"] = round(data["score"], 3)  # scores are for sorting; rounding keeps output byte-stable
    return data
