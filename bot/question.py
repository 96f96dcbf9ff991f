"""What form of answer a question asks for, read from how it is asked (not from what it is about)."""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["list", "why", "how", "yesno", "other"]

# Question forms, in the order they are tested: "哪些原因" asks for a list of causes, "为什么" for a cause.
_FORMS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (
        "list",
        re.compile(
            r"哪些|哪几|有几[个项步点种]|几[个项点]方面|步骤|清单|列[出举]|"
            r"\bwhat (are|were) (the|some|our)\b|\bwhich (steps|phases|things|areas|risks)\b|"
            r"\b(list|steps|phases|stages|checklist)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "why",
        re.compile(
            r"为什么|为何|什么原因|原因是|怎么会|\bwhy\b|\bwhat causes?\b|\breasons?\b", re.IGNORECASE
        ),
    ),
    (
        "how",
        re.compile(r"怎么|怎样|如何|什么办法|做法|\bhow\b|\bwhat should\b|\bwhat do (we|i)\b", re.IGNORECASE),
    ),
    (
        "yesno",
        re.compile(
            r"要不要|是不是|能不能|可不可以|该不该|有没有必要|[吗嗎][??]?\s*$|"
            r"^\W*(is|are|do|does|should|can|must|will|would)\b",
            re.IGNORECASE,
        ),
    ),
)


def kind_of(question: str) -> Kind:
    for kind, pattern in _FORMS:
        if pattern.search(question):
            return kind
    return "other"


# "第三点", "第5个阶段", "the third step", "step 2", "#2": which item of a list a follow-up points at.
_NUMERALS = {c: n for n, c in enumerate("一二三四五六七八九十", 1)}
_ORDINAL_ZH = re.compile(r"第\s*([一二三四五六七八九十]|\d{1,2})\s*(个|点|步|条|项|阶段|部分|方面|种|类)")
_ORDINAL_WORDS = "first second third fourth fifth sixth seventh eighth ninth tenth".split()
_ORDINAL_EN = re.compile(
    r"\b(" + "|".join(_ORDINAL_WORDS) + r")\s+(one|step|point|phase|stage|item|part|check|risk)s?\b"
    r"|\b(step|phase|stage|item|point|part|number|no\.?)\s*#?(\d{1,2})\b|#(\d{1,2})\b|\b(\d{1,2})(st|nd|rd|th)\b",
    re.IGNORECASE,
)


def numeral(token: str) -> int:
    """The value of an item or ordinal number: "5" or "五"."""
    return int(token) if token.isdigit() else _NUMERALS[token]


def ordinal(question: str) -> int | None:
    """The position (from 1) of the list item the question refers to, if it refers to one."""
    if match := _ORDINAL_ZH.search(question):
        return numeral(match.group(1))
    if match := _ORDINAL_EN.search(question):
        if match.group(1):
            return _ORDINAL_WORDS.index(match.group(1).lower()) + 1
        return int(next(g for g in match.group(4, 5, 6) if g))
    return None
