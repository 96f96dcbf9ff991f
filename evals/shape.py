"""Whether an answer is one a consultant can act on, beyond holding the expected phrase: its quotes on
point, its lists complete, no quote twice, none that depends on a missing sentence, a follow-up that
says something new, and the same answer whatever polite words wrap the question.

Each measure takes the answer and the item's labels; :mod:`crmkb.evals.metrics` aggregates them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from crmkb.bot.schemas import Answer, Citation
from crmkb.ingest.normalise import normalise

# A quote that leans on a sentence it does not carry: it opens by pointing back ("这样…", "因此…"), or it
# ends on a lead-in ("…如下:") whose items are not quoted.
_POINTS_BACK = re.compile(r"^\W*(这|此时|因此|所以|那么)")
_LEAD_IN_END = re.compile(r"([::]|如下|以下|下列)\W*$")

# The wrappers people put around a question; an answer must not change because of them.
WRAPPERS: dict[str, tuple[str, ...]] = {
    "zh-Hans": ("请问,{q}谢谢!", "老板问:{q}"),
    "zh-Hant": ("請問一下,{q}謝謝!", "老闆問:{q}"),
    "en": ("Quick question: {q} Thanks!", "Hi, my boss asked me this: {q}"),
}


def comparable(text: str) -> str:
    """Text as phrases are compared: one script, one width, no white space."""
    return re.sub(r"\s+", "", normalise(text))


def off_point(
    citations: Sequence[Citation], expected: set[tuple[str, str]], order: Mapping[str, list[str]]
) -> int:
    """How many quotes come from neither an expected section nor one next to it in its document."""
    near = set(expected)
    for source, section in expected:
        sections = order.get(source, [])
        if section in sections:
            at = sections.index(section)
            near.update((source, s) for s in sections[max(at - 1, 0) : at + 2])
    return sum((c.source, c.section) not in near for c in citations)


def list_completeness(answer: Answer, items: Sequence[str]) -> float:
    """Share of a list's items the answer holds."""
    text = comparable(answer.answer)
    return sum(comparable(item) in text for item in items) / len(items)


def duplicates(citations: Sequence[Citation]) -> int:
    """Quotes that repeat another, or lie inside another quote of the same document."""
    count = 0
    for i, c in enumerate(citations):
        for j, other in enumerate(citations):
            if i == j or c.source != other.source:
                continue
            inside = other.start <= c.start and c.end <= other.end
            if inside and ((c.start, c.end) != (other.start, other.end) or j < i):
                count += 1
                break
    return count


_ADJACENT = 2  # characters between a lead-in and the quote that continues it (a line break)


def dangling(citations: Sequence[Citation]) -> int:
    """Quotes that point back to a sentence they do not carry, or end on a lead-in with nothing after it
    (a lead-in the next quote continues, as a list's items do, has its items)."""

    def continued(i: int) -> bool:
        if i + 1 >= len(citations):
            return False
        this, following = citations[i], citations[i + 1]
        return following.source == this.source and 0 <= following.start - this.end <= _ADJACENT

    return sum(
        bool(
            _POINTS_BACK.search(normalise(c.quote))
            or (_LEAD_IN_END.search(c.quote.strip()) and not continued(i))
        )
        for i, c in enumerate(citations)
    )


def spans(answer: Answer) -> set[tuple[str, int, int]]:
    return {(c.source, c.start, c.end) for c in answer.citations}


def repeats(follow_up: Answer, previous: Answer) -> bool:
    """A follow-up that only says again what the previous answer said (or is refused when it was not)."""
    if not follow_up.answerable:
        return False
    return spans(follow_up) <= spans(previous)


def same_answer(a: Answer, b: Answer) -> bool:
    """The same decision, and when answered, the same quotes."""
    return a.answerable == b.answerable and (not a.answerable or spans(a) == spans(b))
