"""Re-check trainers' edits: an edited answer must still be supported by the citations it keeps, and a
quote must be the source's own words.

Each sentence of the edit is checked against the quotes its ``[n]`` markers name, with the grounding
checker the LLM guard and the evals use. A sentence with no marker, a marker naming no citation, or a
claim its quotes do not support is flagged in the entry's ``check`` column; so is a quote the knowledge base
does not hold verbatim, when the check is given the knowledge to look in. This is the one check: ``faq
build --from`` writes it, and ``faq publish`` and the trainer page's editor refuse what it flags
(:func:`refusal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crmkb.bot.grounding import Claim, Embed, claims, framing, grounded
from crmkb.bot.knowledge import Knowledge
from crmkb.bot.language import detect_language
from crmkb.bot.schemas import Answer
from crmkb.faq.entries import Entry


@dataclass(frozen=True)
class ClaimCheck:
    text: str  # the sentence, without its markers
    markers: tuple[int, ...]
    problem: str = ""  # as written to ``check``; empty when the claim is supported (or only introduces)


@dataclass(frozen=True)
class QuoteCheck:
    n: int
    problem: str = ""


@dataclass(frozen=True)
class Review:
    """The check of one entry, claim by claim and quote by quote."""

    claims: list[ClaimCheck]
    quotes: list[QuoteCheck]

    @property
    def problems(self) -> list[str]:
        return [q.problem for q in self.quotes if q.problem] + [c.problem for c in self.claims if c.problem]

    @property
    def check(self) -> str:
        return "; ".join(self.problems)


def review(entry: Entry, embed: Embed | None = None, knowledge: Knowledge | None = None) -> Review:
    """Check ``entry``'s edit (and, given ``knowledge``, its quotes against the sources), record the verdict
    in ``entry.check``, and return it in detail. A quote found in its source away from the offsets it
    carries (the document was edited and ingested again) is re-anchored where it now is."""
    quotes: list[QuoteCheck] = []
    if knowledge is not None:
        anchored = [_anchor(c, knowledge) for c in entry.citations]
        entry.citations = [citation for citation, _ in anchored]
        quotes = [QuoteCheck(int(c["n"]), problem) for c, problem in anchored]
    cited = {int(c["n"]): str(c["quote"]) for c in entry.citations}
    edit = entry.edited_answer
    checked = [_claim(claim, cited, embed) for claim in claims(edit)] if edit.strip() else []
    result = Review(checked, quotes)
    entry.check = result.check
    return result


def recheck(entry: Entry, embed: Embed | None = None, knowledge: Knowledge | None = None) -> Entry:
    review(entry, embed, knowledge)
    return entry


def refusal(entry: Entry) -> str:
    """Why a re-checked entry may not be published ("" when it may): a flagged edit or quote, or a
    question the knowledge base does not cover."""
    return entry.check or ("" if entry.covered else "not covered")


def as_answer(entry: Entry) -> Answer:
    """The curated answer an entry is published as."""
    return Answer(
        question=entry.question, answer=entry.final_answer, answerable=True,
        language=detect_language(entry.question), mode="extractive", citations=entry.citation_models(),
    )  # fmt: skip


def _claim(claim: Claim, quotes: dict[int, str], embed: Embed | None) -> ClaimCheck:
    markers = claim.markers
    if framing(claim) or grounded(claim, quotes, embed):
        return ClaimCheck(claim.text, markers)
    if not markers:
        return ClaimCheck(claim.text, markers, f"uncited: {claim.text}")
    return ClaimCheck(
        claim.text, markers, f"not supported by {''.join(f'[{n}]' for n in markers)}: {claim.text}"
    )


def _anchor(citation: dict[str, Any], knowledge: Knowledge) -> tuple[dict[str, Any], str]:
    """The citation with its offsets where its quote is in the source, and what is wrong if it is not."""
    n, source = citation["n"], str(citation["source"])
    document = knowledge.documents.get(source)
    if document is None:
        return citation, f"quote [{n}]: the knowledge base no longer holds {source}"
    quote, text, start = str(citation["quote"]), document.text, int(citation["start"])
    if not quote.strip():
        return citation, f"quote [{n}] is empty"
    if text[start : int(citation["end"])] == quote:
        return citation, ""
    found = _nearest(text, quote.strip(), start)
    if found is None:
        return (
            citation,
            f"quote [{n}] is not in {document.title}: a quote must be the source's words, verbatim",
        )
    section = knowledge.section_at(source, found) or str(citation["section"])
    title_en, section_en = knowledge.english(source, section)
    moved = {"quote": quote.strip(), "start": found, "end": found + len(quote.strip()), "section": section,
             "title_en": title_en, "section_en": section_en}  # fmt: skip
    return {**citation, **moved}, ""


def _nearest(text: str, quote: str, near: int) -> int | None:
    starts, at = [], text.find(quote)
    while at >= 0:
        starts.append(at)
        at = text.find(quote, at + 1)
    return min(starts, key=lambda s: abs(s - near), default=None)
