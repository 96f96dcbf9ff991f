"""Answer and refusal text in the asker's language and script.

Quotes stay exactly as the cleaned source has them (so they can be checked); the answer text around them
follows the question: Simplified, Traditional (OpenCC s2tw), or an English lead-in before the evidence
(noting when the quotes are Chinese), with the catalog's English titles of each quote's section and document
above it where an admin wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from crmkb.bot.language import Language, reply_language
from crmkb.bot.retrieval import Hit
from crmkb.bot.schemas import Answer, Citation, Declined
from crmkb.ingest.catalog import kind_label, place_label
from crmkb.ingest.chunking import SECTION_SEPARATOR
from crmkb.ingest.normalise import to_simplified, to_traditional

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
_EN_CURATED_NOTE = " (a trainer's answer, written in Chinese; the sources are quoted as written):"
# The badge every channel puts on a curated answer, in the asker's language (the widget has its own copy).
CURATED_BADGE = {
    "zh-Hans": "培训师审核过的答案",
    "zh-Hant": "培訓師審核過的答案",
    "en": "Curated answer, reviewed by a trainer",
}
_CJK = re.compile(r"[\u3400-\u9fff]")

# (source, section) → the catalog's English titles of the document and the section ("" where none).
English = Callable[[str, str], tuple[str, str]]


def answer(question: str, language: Language, citations: list[Citation]) -> Answer:
    """One line per cited quote under a lead-in line; a quoted list is folded onto its line."""
    kinds = _kinds(citations)
    body = "\n".join(f"{_one_line(c.quote)}[{c.n}]" for c in citations)
    if language == "en":
        chinese = any(_CJK.search(c.quote) for c in citations)  # an English document is quoted as is
        lead = _LEAD_EN.get(kinds, "From the knowledge base") + (_EN_NOTE if chinese else ":")
        text = lead + "\n" + _english_body(citations)
    else:
        text = as_read(_LEAD_ZH.get(kinds, "知识库中的要点:") + "\n" + body, language)
    return Answer(
        question=question,
        answer=text,
        answerable=True,
        language=language,
        mode="extractive",
        citations=citations,
    )


def _kinds(citations: list[Citation]) -> frozenset[str]:
    return frozenset(c.kind for c in citations) & {"best-practice", "failure-case"}


def curated_text(text: str, language: Language, citations: list[Citation]) -> str:
    """A trainer's answer in the asker's script, as :func:`answer` does for the bot's own: Traditional for
    a Traditional asker, Simplified for a Simplified one, and for an English asker of a Chinese answer the
    same English lead-in (which cannot translate the trainer's words, so it says they are Chinese).
    Quotes are in the citations, untouched."""
    if language == "en":
        if not _CJK.search(text):
            return text
        kinds = _kinds(citations)
        return _LEAD_EN.get(kinds, "From the knowledge base") + _EN_CURATED_NOTE + "\n" + text
    if language == "zh-Hant":
        return to_traditional(text)
    return to_simplified(text) if language == "zh-Hans" else text


def curated_badge(language: str) -> str:
    return CURATED_BADGE.get(language, CURATED_BADGE["en"])


def _english_body(citations: list[Citation]) -> str:
    """The quotes, each under the English title of where it comes from when the catalog has one, so an
    English asker can tell what a Chinese quote is about. The title line ends with ":" and carries no
    marker: it frames the quote and claims nothing (the grounding metric skips such lines)."""
    lines: list[str] = []
    place: tuple[str, str] | None = None
    for c in citations:
        heading = english_heading(c)
        if heading and (c.source, c.section) != place:
            lines.append(heading)
        place = (c.source, c.section)
        lines.append(f"{_one_line(c.quote)}[{c.n}]")
    return "\n".join(lines)


def english_heading(c: Citation) -> str:
    """The line above a quote: "Analyse, don't blame — How to rescue a failed CRM system, failure case:".
    The Chinese stands in for a missing part; without any English title there is no such line (as before
    the catalog had them)."""
    if not (c.title_en or c.section_en):
        return ""
    title = c.title_en or c.title
    section = c.section_en or c.section
    where = f"{section} — {title}" if section else title
    kind = kind_label(c.kind, "en").lower()
    return f"{where}, {kind}:" if kind else f"{where}:"


def place(c: Citation, language: str) -> str:
    """Where a quote comes from, "title › section", with the English titles for an English asker and in
    Traditional characters for a Traditional one."""
    title, section = c.title, c.section
    if language == "en":
        title, section = c.title_en or title, c.section_en or section
    return as_read(place_label(title, section), language)


def as_read(text: str, language: str) -> str:
    """Text of the articles as an asker of ``language`` reads it: in Traditional characters for a
    Traditional asker, as the answer gives its quotes. A citation's ``quote`` stays the document's text."""
    return to_traditional(text) if language == "zh-Hant" else text


def _one_line(quote: str) -> str:
    """A multi-line quote (a lead-in and its list items) as one line: items that end a sentence run on,
    bare items are separated by semicolons."""
    lines = [line.strip() for line in quote.split("\n") if line.strip()]
    folded = lines[0] if lines else ""
    for line in lines[1:]:
        folded += line if folded.endswith(_RUN_ON) else ";" + line
    return folded


_RUN_ON = tuple(":。!?;")


def topics(hits: list[Hit], limit: int = 3, english: English | None = None) -> list[str]:
    """The closest topics the knowledge base does cover: title › section of the top chunks; in English
    where ``english`` gives titles for them."""
    seen: list[str] = []
    for hit in hits:
        title = hit.chunk.title
        section = hit.chunk.section.split(SECTION_SEPARATOR)[0] if hit.chunk.section else ""
        if english is not None:
            title_en, section_en = english(hit.chunk.source, section)
            title, section = title_en or title, section_en or section
        # a heading may end its own sentence ("…的重任。"); a topic is a name, joined into lists by clients
        topic = place_label(title, section).rstrip("".join(_RUN_ON))
        if topic not in seen:
            seen.append(topic)
        if len(seen) == limit:
            break
    return seen


def nothing_asked(question: str, language: Language, titles: list[str], broad: bool = False) -> Answer:
    """The reply to a message that asks nothing ("你好", "thanks!"): what the knowledge base covers, as its
    documents' titles, instead of the topics nearest to no question. ``broad``: the message asks about CRM
    implementation as a whole ("How do we implement a CRM?") with no evidence close enough to answer it;
    "ask me about implementing CRM" would tell its asker to ask what they just asked."""
    chinese, english = (
        ("这个问题比较宽泛:请问CRM实施中的某一方面,我会引用知识库原文回答。",
         "That is a broad question: ask about one part of implementing CRM and I will answer by quoting the "
         "knowledge base.")
        if broad
        else ("请提出CRM实施方面的问题,我会引用知识库原文回答。",
              "Ask me about implementing CRM; I answer by quoting the knowledge base.")
    )  # fmt: skip
    return _declined(
        "nothing_asked", question, language, titles, (chinese, "知识库涵盖:"), (english, " It covers: ")
    )


def acknowledged(question: str, language: Language) -> Answer:
    """The reply to thanks or an acknowledgement after an answer: an invitation to ask on."""
    return _declined(
        "acknowledged", question, language, [],
        ("还有其他CRM实施方面的问题吗?随时可以问我。", ""),
        ("Anything else about the CRM implementation? Just ask.", ""),
    )  # fmt: skip


def refusal(question: str, language: Language, hits: list[Hit], english: English | None = None) -> Answer:
    """``english`` gives the catalog's English titles, used for the topics shown in an English reply (to an
    English asker, or one whose language is not recognised)."""
    near = topics(hits, english=english if reply_language(language) == "en" else None)
    untranslated = any(_CJK.search(topic) for topic in near)
    other = " Please ask in Chinese or English." if language == "other" else ""
    return _declined(
        "not_covered", question, language, near,
        ("知识库中没有能回答这个问题的内容。", "知识库涵盖的相关主题:"),
        (
            f"The knowledge base does not cover this question.{other}",
            f" Nearby topics it does cover{' (in Chinese)' if untranslated else ''}: ",
        ),
    )  # fmt: skip


def _declined(
    why: Declined,
    question: str,
    language: Language,
    listed: list[str],
    chinese: tuple[str, str],
    english: tuple[str, str],
) -> Answer:
    """A reply that answers nothing from the articles: a message, then ``listed`` (topics) after its lead,
    each pair (message, lead) in Simplified Chinese or English; Traditional is converted from Simplified."""
    zh = reply_language(language) != "en"
    message, lead = chinese if zh else english
    text = message + (lead + (";" if zh else "; ").join(listed) + ("。" if zh else ".") if listed else "")
    message, text, listed = (
        as_read(message, language),
        as_read(text, language),
        [as_read(t, language) for t in listed],
    )
    return Answer(question=question, answer=text, answerable=False, language=language, mode="extractive",
                  topics=listed, refusal_message=message, declined=why)  # fmt: skip
