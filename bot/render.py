"""Answer and refusal text in the asker's language and script.

Quotes stay exactly as the cleaned source has them (so they can be checked); the answer text around them
follows the question: Simplified, Traditional (OpenCC s2t), or an English lead-in before the evidence
(noting when the quotes are Chinese).
"""

from __future__ import annotations

import re

from bot.language import Language
from bot.retrieval import Hit
from bot.schemas import Answer, Citation
from ingest.chunking import SECTION_SEPARATOR
from ingest.normalise import to_traditional

_LEAD_ZH = {
    frozenset({"failure-case"}): "失败案例中的经验:",
    frozenset({"best-practice"}): "最佳实践建议:",
    frozenset({"best-practice", "failure-case"}): "最佳实践与失败案例中的要点:",
}
_LEAD_EN = {
    frozenset({"failure-case"}): "Lessons from failure cases in the knowledge base",
    frozenset({"best-practice"}): "Best-practice guidance from the knowledge base",
    frozenset({"best-practice", "failure-case"}): "Best practice and failure cases in the knowledge base",
}
_EN_NOTE = " (the sources are in Chinese and are quoted as written):"
_CJK = re.compile(r"[\u3400-\u9fff]")


def answer(question: str, language: Language, citations: list[Citation]) -> Answer:
    """One line per cited quote under a lead-in line; a quoted list is folded onto its line."""
    kinds = frozenset(c.kind for c in citations) & {"best-practice", "failure-case"}
    body = "\n".join(f"{_one_line(c.quote)}[{c.n}]" for c in citations)
    if language == "en":
        chinese = any(_CJK.search(c.quote) for c in citations)  # an English document is quoted as is
        text = _LEAD_EN.get(kinds, "From the knowledge base") + (_EN_NOTE if chinese else ":") + "\n" + body
    else:
        text = _LEAD_ZH.get(kinds, "知识库中的要点:") + "\n" + body
        if language == "zh-Hant":
            text = to_traditional(text)
    return Answer(
        question=question,
        answer=text,
        answerable=True,
        language=language,
        mode="extractive",
        citations=citations,
    )


def _one_line(quote: str) -> str:
    """A multi-line quote (a lead-in and its list items) as one line: items that end a sentence run on,
    bare items are separated by semicolons."""
    lines = [line.strip() for line in quote.split("\n") if line.strip()]
    folded = lines[0] if lines else ""
    for line in lines[1:]:
        folded += line if folded.endswith(_RUN_ON) else ";" + line
    return folded


_RUN_ON = tuple(":。!?;")


def topics(hits: list[Hit], limit: int = 3) -> list[str]:
    """The closest topics the knowledge base does cover: title › section of the top chunks."""
    seen: list[str] = []
    for hit in hits:
        section = hit.chunk.section.split(SECTION_SEPARATOR)[0] if hit.chunk.section else ""
        topic = f"{hit.chunk.title} › {section}" if section else hit.chunk.title
        if topic not in seen:
            seen.append(topic)
        if len(seen) == limit:
            break
    return seen


def refusal(question: str, language: Language, hits: list[Hit]) -> Answer:
    near = topics(hits)
    if language in ("zh-Hans", "zh-Hant"):
        text = "知识库中没有能回答这个问题的内容。"
        if near:
            text += "知识库涵盖的相关主题:" + ";".join(near) + "。"
        if language == "zh-Hant":
            text = to_traditional(text)
            near = [to_traditional(t) for t in near]
    else:
        text = "The knowledge base does not cover this question."
        if language == "other":
            text += " Please ask in Chinese or English."
        if near:
            chinese = " (in Chinese)" if any(_CJK.search(t) for t in near) else ""
            text += f" Nearby topics it does cover{chinese}: " + "; ".join(near) + "."
    return Answer(
        question=question, answer=text, answerable=False, language=language, mode="extractive", topics=near
    )
