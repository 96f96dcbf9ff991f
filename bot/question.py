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
