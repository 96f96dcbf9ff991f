"""What form of answer a question asks for, read from how it is asked (not from what it is about)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

Kind = Literal["list", "why", "how", "yesno", "other"]

# What a list counts: "分几个阶段" asks for the phases (a list gives how many there are too), "哪七个原则".
_COUNTED_THINGS = r"(?:步骤?|阶段|方面|要点|原则|规则|环节|部分|事项|因素|风险|问题|条件|大点)"
_LIST_REQUEST = r"列[出举一个]"  # "列出", "列举", "帮我列一下", "列个清单"

# Question forms, in the order they are tested: "哪些原因" asks for a list of causes, "为什么" for a cause.
# A word for a list on its own ("步骤", "steps", "a long list of vendors") is tested last: "Would these
# steps have helped?" asks yes or no, "How do we narrow down a long list?" how; "CRM rescue steps - need
# the full list" asks for the list, for it asks nothing else.
_FORMS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (
        "list",
        re.compile(
            rf"哪些|哪几|有几[个项步点种]|(几|多少)\s*[个项条大]?\s*{_COUNTED_THINGS}|{_LIST_REQUEST}|"
            # "哪三件事", "哪 2 个环节": which N (not one) of something, whatever the measure word
            r"哪\s*(\d+|[两二三四五六七八九十][一二三四五六七八九十]*)\s*[\u4e00-\u9fff]|"
            r"\bwhat (are|were) (the|some|our)\b|\b(which|what) (steps|phases|things|areas|risks)\b|"
            r"\b(which|what) (two|three|four|five|six|seven|eight|nine|ten|\d{1,2}|several)\b|"
            # what something is made of: "收尾工作包括什么?", "what does close-out involve?"
            r"(包括|包含|涵盖|涉及|分为|由)\s*(什么|啥|哪)|"
            r"\bwhat (does|do|did|would|should) .{0,60}\b(include|involve|consist of|cover|entail)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "why",
        re.compile(
            # colloquial forms too: "为啥", "咋会", "凭啥", "干嘛要", "how come"
            r"为什么|为何|为啥|什么原因|原因是|[怎咋]么?会|凭[啥什]|干[嘛吗]要|"
            r"\bwhy\b|\bhow come\b|\bwhat causes?\b|\breasons?\b",
            re.IGNORECASE,
        ),
    ),
    (
        "how",
        re.compile(
            r"怎么|怎样|如何|咋|什么办法|做法|\bhow\b|\bwhat should\b|\bwhat do (we|i)\b", re.IGNORECASE
        ),
    ),
    (
        "yesno",
        re.compile(
            r"要不要|是不是|能不能|可不可以|该不该|有没有必要|[吗嗎][??]?\s*$|"
            r"^\W*(is|are|do|does|should|can|must|will|would)\b",
            re.IGNORECASE,
        ),
    ),
    ("list", re.compile(r"步骤|清单|\b(list|steps|phases|stages|checklist)\b", re.IGNORECASE)),
)


# A question is said in clauses; the polite or reported framing around it ("请问,", "老板问:", "Quick
# question:", "…谢谢!", "Thanks!") is clauses at its edges that neither ask nor name anything.
_CLAUSE = re.compile(r".*?(?:[,,::;;!!??。]+\s*|\.\s+|$)", re.DOTALL)
_QUESTION_WORDS = r"什么|甚么|啥|哪|谁|誰|几|幾|多少|怎|如何|为何|為何|吗|嗎|是否"
_WH_WORDS = "what|which|who|whom|whose|when|where|why|how|whether"
# a request asks too: "帮我列一下", "讲讲", "please list them"
_REQUESTS = rf"{_LIST_REQUEST}|说说|讲讲|講講|介绍|介紹|解释|解釋|\b(list|explain|describe|tell)\b"
# An English clause that opens with an auxiliary and its subject asks, with or without its question mark
# ("do we really need exec sponsorship", typed in a chat as it is said).
_INVERTED = (
    r"^\W*(do|does|did|is|are|was|were|should|shall|can|could|will|would|must|may|might|have|has)\s+"
    r"(we|i|you|they|it|he|she|there|this|that|these|those|the|our|my|your|their|a|an|any|anyone|someone)\b"
)
# "whats", "hows": a question word contracted as a chat types it, without its apostrophe, asks as "what's" does
_ASKING = re.compile(
    rf"[??]|{_QUESTION_WORDS}|呢|\b({_WH_WORDS})s?\b|{_REQUESTS}|告诉|告訴|{_INVERTED}",
    re.IGNORECASE,
)


# A clause that reports who asks ("客户问我:", "我们经理想知道:", "a client asked me:") introduces the question
# after its colon, whatever words it uses for the asker.
_REPORTING = re.compile(
    r"(问|問|想知道|想了解|请教|請教|打听|打聽|说|說|\bask(s|ed|ing)?\b|\bwants? to know\b|\bwonder(s|ed|ing)?\b|"
    r"\bquestion\b|\bsa(id|ys)\b)[^::]*[::]\s*$",
    re.IGNORECASE,
)


# An exclamation at the edge of a question greets or thanks ("您好!", "多谢!", "Thanks!"); jieba tags some
# of those words as names, so the mark decides.
_EXCLAIMED = re.compile(r"[!!]\s*$")
# Words that greet, thank, apologise or announce that a question follows ("请教一下,", "麻烦问下,") say
# nothing about what is asked, whatever else a clause names.
_THANKS_ZH = "谢谢|謝謝|多谢|多謝|感谢|感謝"
# Words that acknowledge an answer ("好的,明白了", "OK, got it") say nothing either.
_PHATIC = re.compile(
    rf"您好|你好|大家好|哈[喽囉]|嗨|麻烦|麻煩|打扰|打擾|不好意思|抱歉|请问|請問|{_THANKS_ZH}|感恩|"
    r"辛苦|拜托|拜託|请教|請教|咨询|諮詢|打听|打聽|[问問]一?下|\b(hi|hello|hey|thanks?|thank you|cheers|please|sorry)\b|"
    r"好的|好吧|明白了?|了解了|知道了|收到|懂了|\b(ok|okay|got it|understood|great|noted)\b|"
    # ... and so do words that praise it ("感谢!很有帮助", "super helpful, thanks")
    r"有帮助|有幫助|有用|实用|實用|太好了|清楚了|\b(helpful|useful|perfect|awesome|nice|makes sense|that helps)\b",
    re.IGNORECASE,
)
_SIGN_OFF_CHARS = 4
# A clause that asks only what the sources say ("几篇文章怎么说的?", "What do the articles say?") asks the
# question beside it again: where the answer is to come from, not what it is about.
_SOURCES = re.compile(
    r"文章|[几幾这這那哪各两兩]篇|作者|文中|本文|原文|[笔筆]者|知[识識]库|知[识識]庫|"
    r"\b(articles?|sources?|resources|knowledge base|kb)\b",
    re.IGNORECASE,
)
_SOURCES_ONLY_EN = re.compile(
    r"\b(what|how|do|does|did|so|and|the|both|all|these|those|each|of|any|anything|there|is|are|in|on|"
    r"about|it|this|that|they|them|according|to|say|says|said|think|suggest|recommend|advise|see|cover)\b",
    re.IGNORECASE,
)
_CLOSING_THANKS = re.compile(
    rf"(?<![a-z])(thanks?( you)?( so much| a lot)?|thx|cheers|{_THANKS_ZH})\W*$", re.I
)


def asked_part(question: str, names_something: Callable[[str], bool]) -> str:
    """``question`` without the framing clauses at its start and end: a clause is framing when it does not
    ask (no question mark, question word or request) and either reports who is asking before a colon,
    exclaims, or ``names_something`` finds nothing the knowledge base could be about in it; a few words
    after the final question mark are a sign-off. At least one clause always stays, and the middle is never
    touched, except for a clause asking only what the sources say when another clause asks."""
    # "…what do they do for us Thanks!": a closing thanks is a clause of its own, even with no mark before it
    thanks = _CLOSING_THANKS.search(question)
    head, tail = (
        (question[: thanks.start()], [thanks.group(0)]) if thanks and thanks.start() else (question, [])
    )
    clauses = _clauses(head) + tail
    while len(clauses) > 1 and _framing(clauses[0], names_something):
        clauses.pop(0)
    while len(clauses) > 1 and (
        _framing(clauses[-1], names_something) or _signs_off(clauses[-2], clauses[-1])
    ):
        clauses.pop()
    asked = [c for c in clauses if not _asks_the_sources(c, names_something)]
    if asked != clauses and any(_ASKING.search(c) for c in asked):
        clauses = asked
    return "".join(clauses).strip()


def _asks_the_sources(clause: str, names_something: Callable[[str], bool]) -> bool:
    # an English word a glossary lacks names nothing to ``names_something``, so English is read by its
    # words: only these say no more than "what do the articles say?"
    english = _SOURCES_ONLY_EN.sub(" ", _SOURCES.sub(" ", clause))
    return (
        bool(_SOURCES.search(clause))
        and not re.search(r"[A-Za-z]", english)
        and not names_something(_PHATIC.sub(" ", clause))
    )


def says_nothing(message: str, names_something: Callable[[str], bool]) -> bool:
    """Whether ``message`` only greets, thanks or acknowledges ("你好", "好的,谢谢!", "OK, got it"): no clause
    asks, and none names anything once its phatic words are gone. A statement of a problem ("上线三个月没人用
    了") names what it is about, and is a question."""
    return all(
        not _ASKING.search(clause) and not names_something(_PHATIC.sub(" ", clause))
        for clause in _clauses(message)
    )


def _framing(clause: str, names_something: Callable[[str], bool]) -> bool:
    return not _ASKING.search(clause) and (
        bool(_REPORTING.search(clause))
        or _EXCLAIMED.search(clause) is not None
        or not names_something(_PHATIC.sub(" ", clause))
    )


def asking_part(question: str, topic: Callable[[str], bool] | None = None) -> str:
    """The clauses of ``question`` that ask (a question mark, question word or request), without those that
    set the scene ("上次CRM搞砸了,老板让我牵头重新来一遍,文章说挽救要走哪8步?" asks the last); "" when every
    clause asks or none does. A clause ``topic`` tells names what the question asks about ("技术层面的风险,
    上线前要检查哪些点?"), and is part of what it asks."""
    clauses = _clauses(question)
    asking = [c for c in clauses if _ASKING.search(c) or (topic is not None and topic(c))]
    return "".join(asking).strip() if 0 < len(asking) < len(clauses) else ""


# An asking clause whose subject is the scene set before it: "…, does that matter for the relaunch?",
# "…,这样正常吗?". 这 before a measure word is a determiner ("这次重来", "这几篇文章"), not the scene.
_POINTS_BACK = re.compile(
    r"\b(is|are|was|were|does|did|do|will|would|can|could|should|isn'?t|doesn'?t)\s+(that|this|it)\b"
    r"|\b(that|this|it)\s+(is|was|matters?|means?)\b|\b(that|this)[\s?]*$"
    r"|^(这样|那样|这|那|此)(?![个些次里边儿回份篇种项几])|这样|那样",
    re.IGNORECASE,
)


def points_back(asking: str) -> bool:
    """Whether the asking clauses ask about the scene the question set before them, by pointing at it."""
    return bool(_POINTS_BACK.search(asking.strip()))


def through_the_ask(question: str) -> str:
    """``question`` up to the end of its last asking clause: a clause after it that asks nothing ("…end to
    end? need it for the SOW", "…at minimum? building our RFP checklist") says what the answer is for, and a
    name in it is not what is asked about."""
    clauses = _clauses(question)
    last = max((n for n, clause in enumerate(clauses) if _ASKING.search(clause)), default=None)
    return question if last is None else "".join(clauses[: last + 1]).strip()


def _clauses(question: str) -> list[str]:
    return [c for c in _CLAUSE.findall(question) if c.strip()]


def _signs_off(asked: str, after: str) -> bool:
    """A few words after the question mark that do not ask are a sign-off ("?多谢", "? cheers")."""
    short = len(after.split()) <= 2 if after.isascii() else len(after.strip()) <= _SIGN_OFF_CHARS
    return asked.rstrip().endswith(("?", "?")) and short and not _ASKING.search(after)


# "那技术层面呢?", "and the budget?", "what about training?": a follow-up that names a new topic and asks
# nothing of its own, so it asks what the previous question asked.
_ABOUT = re.compile(r"\b(what|how) about\b", re.IGNORECASE)
_OWN_ASKING = re.compile(
    rf"{_QUESTION_WORDS}|要不要|是不是|能不能|该不该|\b({_WH_WORDS}|should|can|could|do|does|is|are)\b|{_REQUESTS}",
    re.IGNORECASE,
)


def elliptical(question: str) -> bool:
    """Whether a follow-up asks nothing of its own ("那技术层面呢?"), only names what to ask it about."""
    return not _OWN_ASKING.search(_ABOUT.sub(" ", question))


# A request that the bot write something ("帮我写一封邮件", "help me write…", "draft a…"): a task, not a question
# the articles answer. "这个计划应该怎么写?" asks how to write; it is a question.
_WRITING_REQUEST = re.compile(
    r"(帮|给|替)(我|我们)\s*(写|起草|拟|翻译|生成|编)|"
    r"\b(help me|can you|could you|would you|please)\s+(write|draft|compose|translate|generate)\b|"
    r"^\W*(write|draft|compose|translate)\b",
    re.IGNORECASE,
)


def asks_to_write(question: str) -> bool:
    """Whether ``question`` asks the bot to write something for the asker instead of asking what to do."""
    return bool(_WRITING_REQUEST.search(question))


def kind_of(question: str) -> Kind:
    """The form of the question's last asking clause that has one: "…直接问负责人还有哪些不懂的地方,这样做真的
    有帮助吗?" asks yes or no about a scene that holds a question of its own."""
    for clause in reversed([c for c in _clauses(question) if _ASKING.search(c)]):
        if (kind := _form(clause)) != "other":
            return kind
    return _form(question)


def _form(question: str) -> Kind:
    for kind, pattern in _FORMS:
        if pattern.search(question):
            return kind
    return "other"


# "第三点", "第5个阶段", "the third step", "step 2", "#2": which item of a list a follow-up points at.
_NUMERALS = {c: n for n, c in enumerate("一二三四五六七八九十", 1)}
# what an item of a list is called, after an ordinal or "最后" / "the last"
_ITEM_MEASURES = "个|点|步|条|项|阶段|部分|方面"
_ITEM_NOUNS = "one|step|point|phase|stage|item|part|check|risk"
_ORDINAL_ZH = re.compile(rf"第\s*([一二三四五六七八九十]|\d{{1,2}})\s*({_ITEM_MEASURES}|种|类)")
# "最后一点", "最后那个阶段": the last item ("最后一个月" is a month; in "最后正式上线那个阶段" the words
# between say which stage, and the final stage need not be the list's last)
_LAST_ZH = re.compile(rf"最后\s*[一那这]\s*({_ITEM_MEASURES})(?!月)")
_LAST_EN = re.compile(rf"\bthe last ({_ITEM_NOUNS})\b", re.IGNORECASE)
LAST = -1
_ORDINAL_WORDS = "first second third fourth fifth sixth seventh eighth ninth tenth".split()
_ORDINAL_EN = re.compile(
    r"\b(" + "|".join(_ORDINAL_WORDS) + rf")\s+({_ITEM_NOUNS})s?\b"
    r"|\b(step|phase|stage|item|point|part|number|no\.?)\s*#?(\d{1,2})\b|#(\d{1,2})\b|\b(\d{1,2})(st|nd|rd|th)\b",
    re.IGNORECASE,
)


# "哪七个阶段", "8个基本步骤", "the seven stages": how many items a list question expects (the asker has seen
# the article announce them), or an article announces.
_COUNT_ZH = re.compile(
    rf"哪\s*([\d一二三四五六七八九十两]{{1,2}})|(?<![第\d一二三四五六七八九十两])([\d一二三四五六七八九十两]{{1,2}})\s*"
    rf"(?:[个项条大]?\s*{_COUNTED_THINGS}|[个项条](?![月小星礼])[\u4e00-\u9fff]{{1,3}}?{_COUNTED_THINGS})"
)
_COUNT_WORDS = "one two three four five six seven eight nine ten".split()
_COUNT_EN = re.compile(
    r"\b(\d{1,2}|" + "|".join(_COUNT_WORDS) + r")\s+(?:\w+\s+)?"
    r"(?:steps|stages|phases|things|areas|points|rules|risks|questions|aspects|factors|checks|items|kinds|types|ways"
    r"|reasons|principles|skills|abilities|parts|components|elements|pillars|roles|tips|lessons|mistakes|problems"
    r"|issues|troubles|signs|categories|dimensions)\b",
    re.IGNORECASE,
)


def count_asked(text: str) -> int | None:
    """How many items ``text`` (a list question, or an article's sentence) says there are, if it says."""
    if match := _COUNT_ZH.search(text):
        token = match.group(1) or match.group(2)
        return 2 if token == "两" else numeral(token) if len(token) == 1 or token.isdigit() else None
    if match := _COUNT_EN.search(text):
        token = match.group(1).lower()
        return int(token) if token.isdigit() else _COUNT_WORDS.index(token) + 1
    return None


def numeral(token: str) -> int:
    """The value of an item or ordinal number: "5" or "五"."""
    return int(token) if token.isdigit() else _NUMERALS[token]


def ordinal(question: str) -> int | None:
    """The position (from 1) of the list item the question refers to, if it refers to one; ``LAST`` for the
    last item ("最后一点", "the last step")."""
    if _LAST_ZH.search(question) or _LAST_EN.search(question):
        return LAST
    if match := _ORDINAL_ZH.search(question):
        return numeral(match.group(1))
    if match := _ORDINAL_EN.search(question):
        if match.group(1):
            return _ORDINAL_WORDS.index(match.group(1).lower()) + 1
        return int(next(g for g in match.group(4, 5, 6) if g))
    return None
