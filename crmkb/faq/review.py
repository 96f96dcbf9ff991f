"""Re-check trainers' edits: an edited answer must still be supported by the citations it keeps.

Each sentence of the edit is checked against the quotes its ``[n]`` markers name, with the grounding
checker the LLM guard and the evals use. A sentence with no marker, a marker naming no citation, or a
claim its quotes do not support is flagged in the entry's ``check`` column; flagged entries are never
published.
"""

from __future__ import annotations

from bot.grounding import Embed, claims, supported
from crmkb.faq.entries import Entry


def recheck(entry: Entry, embed: Embed | None = None) -> Entry:
    entry.check = ""
    if not entry.edited_answer.strip():
        return entry
    quotes = {int(c["n"]): str(c["quote"]) for c in entry.citations}
    problems = []
    for claim in claims(entry.edited_answer):
        if not claim.markers:
            if not claim.text.endswith((":", ":")):  # a lead-in introduces; it claims nothing
                problems.append(f"uncited: {claim.text}")
            continue
        cited = [quotes[n] for n in claim.markers if n in quotes]
        if not any(supported(claim.text, quote, embed) for quote in cited):
            problems.append(f"not supported by {''.join(f'[{n}]' for n in claim.markers)}: {claim.text}")
    entry.check = "; ".join(problems)
    return entry
