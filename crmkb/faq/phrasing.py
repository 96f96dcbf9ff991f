"""Whether a heading or a line of an article makes an FAQ question, and how to word it.

A suggestion must read as a question a person would ask the bot, so the tests here are about form:
a heading becomes a question only when jieba's parts of speech show a complete verb or noun phrase
(not a one-word label, not a fragment ending in a particle or a conjunction, not a slogan of two
clauses, not an instruction to the reader); an article's own question is kept only when it is a
sentence of its own that the article answers right after (a run of questions is a questionnaire or a
checklist the reader is to fill in, not an FAQ); and every result must be one interrogative sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crmkb.bot.evidence import posseg

NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.]|\d+[.、]\s*|[((]\d+[))]\s*)")
_QUESTION_MARK = re.compile("[?\uff1f]")
_OTHER_SENTENCE_END = re.compile("[。!;!;]")
_TRIM = " :\uff1a\u3002"
_YES_NO = re.compile(r"是否|有没有|能否|可否")
# Interrogative words: without one, a line ending in "?" is a statement with a question mark glued on.
_INTERROGATIVE = re.compile(
    r"如何|怎么|怎样|为什么|为何|什么|哪|多少|多长|多久|多大|几|谁|何|是否|有没有|能否|可否|吗|呢"
)
# "How to be unable to …" asks for a failure: a mistranslated title, never a trainer's question.
_HOW_NEGATED = re.compile(r"如何(?:才能)?(?:无法|不能|不|没有)")
# Words that point at the reader or at the text itself ("you", "this time", "the following"): a heading
# or question holding one is addressed to the reader, not asked by them.
_DEICTIC = re.compile(r"^(?:你|您|这|那|此|下列|以下|上述|如下)")
# A problem heading: its section is a remedy when it says what to do ("怎么办"), else it is a label.
_PROBLEM = re.compile(r"^(?:没有|缺乏|无法|不)|无法|不能")
_REMEDY = re.compile(r"怎么办|解决办法|应对")
# Conjunctions that join nouns or verbs inside one phrase; any other joins two clauses (a slogan).
_PHRASE_CONJUNCTIONS = {"和", "与", "及", "以及", "或", "或者", "并"}
_LIST_LINE = re.compile(r"^\s*(?:\d{1,2}[.、)]|[•·\-*])")


@dataclass(frozen=True)
class Word:
    word: str
    flag: str


def words(text: str) -> list[Word]:
    return [Word(w.word, w.flag) for w in posseg().cut(text)]  # type: ignore[attr-defined]


def heading_text(heading: str) -> str:
    return NUMBERING.sub("", heading).strip(_TRIM)


def is_complete_phrase(text: str) -> bool:
    """A heading that names a topic: several words, ending in a content word, one clause, not deictic."""
    parts = words(text)
    if len(parts) < 2 or not re.search(r"[\u3400-\u9fff]", text):
        return False  # one word ("技术", "底线") is a label
    if parts[-1].flag[0] in "ucpr" or parts[-1].word in "的地得了着":
        return False  # cut off mid-phrase ("集中你所有的")
    for part in parts:
        if part.flag == "x" and part.word.strip():
            return False  # a comma or dash inside: two clauses or a label pair ("不确定-不执行")
        if part.flag.startswith("c") and part.word not in _PHRASE_CONJUNCTIONS:
            return False  # "A而不是B", "…但…": a slogan, not a topic
        if _DEICTIC.match(part.word):
            return False  # "这次请遵守下列规则", "集中你所有的"
    return True


def heading_question(heading: str, body: str) -> str | None:
    """The question a reader would ask that the section under ``heading`` (with text ``body``) answers."""
    text = heading_text(heading)
    if not 3 <= len(text) <= 30:
        return None
    if _QUESTION_MARK.search(text[-1]):
        return text if reads_as_question(text) else None
    if not is_complete_phrase(text):
        return None
    if _YES_NO.search(text):
        # A check the article puts to its reader ("业务流程有没有定义下来"); the reader asks why it matters.
        return f"为什么要确认{text}?"
    if _REMEDY.search(body):
        return f"{text}怎么办?"  # the section says what to do about what its heading names
    if _PROBLEM.search(text):
        return None  # a problem named without a remedy: a label
    parts = words(text)
    head = next((p for p in parts if p.flag[0] not in "da"), parts[0])  # past "重新", "持续"
    if (head.flag == "v" or (head.flag == "vn" and "的" not in text)) and parts[-1].flag != "vn":
        return f"如何{text}?"  # a verb and its object: "建立CRM项目团队", "重新设置期望"
    if parts[-1].flag.startswith("v"):
        return f"{text}要注意什么?"  # "X的选择", "X的实施和安装": an activity named as a noun
    if parts[-1].flag.startswith("n"):
        lists = sum(bool(_LIST_LINE.match(line)) for line in body.splitlines())
        return f"{text}有哪些?" if lists >= 2 else f"{text}有哪些要点?"  # "…的风险" lists them
    return None


def reads_as_question(text: str) -> bool:
    """One interrogative sentence ending in a question mark, asked by the reader, not of them."""
    if not text or not _QUESTION_MARK.search(text[-1]):
        return False
    body = text[:-1]
    if _QUESTION_MARK.search(body) or _OTHER_SENTENCE_END.search(body):
        return False  # "公司中…的CRM。 真的,没有异常吗?": a statement with a question after it
    if not _INTERROGATIVE.search(body) or _HOW_NEGATED.search(body):
        return False
    if body.count("(") + body.count("(") != body.count(")") + body.count(")"):
        return False  # a bracket lost in cleaning: the line is damaged
    return not any(_DEICTIC.match(p.word) and p.flag.startswith("r") for p in words(body))


def is_question_line(line: str) -> bool:
    """The line opens with a question (a checklist item may explain itself after it)."""
    first = re.search("[。!;!;?\uff1f]", NUMBERING.sub("", line))
    return bool(first and _QUESTION_MARK.match(first.group()))


def answered_question(previous: str, line: str, following: str) -> str | None:
    """``line`` as a question when it is one of its own that the article answers on the next line.

    After another question it is one of a run (a survey, a checklist to tick), which the article asks its
    reader and does not answer; followed by a heading, a list item, nothing or only more questions, it
    is not answered. A next line that restates it before answering ("那么,该如何…呢?其实…") answers it.
    """
    text = NUMBERING.sub("", line).strip()
    if not 6 <= len(text) <= 40 or not reads_as_question(text):
        return None
    if is_question_line(previous) or _LIST_LINE.match(following) or len(following) < 20:
        return None  # one of a run, or followed by a list item or a heading: not answered here
    if not _OTHER_SENTENCE_END.search(following) and _QUESTION_MARK.search(following[-1]):
        return None  # followed by questions only: a survey, not an answer
    return text
