"""What a question asks for, and whether evidence covers it.

Retrieval always returns *something*; these checks decide whether that something answers the question.
A question is a near miss when it names a specific thing the knowledge base never mentions (a product,
company, place, law, standard, version or year), or asks for a figure, a price or a date the evidence does
not hold. An ordinary word the articles never use is not such a thing: people say 老板 where the articles
say 高层, and a question is then judged by how well the evidence matches it (crmkb.bot.extractive).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Literal

from crmkb.bot.glossary import Glossary
from crmkb.bot.language import Language
from crmkb.bot.spans import Substrings
from crmkb.ingest.sparse import STOPWORDS, fold

# Words every CRM question shares; they say nothing about which guidance is wanted.
GENERIC_TERMS = frozenset(
    "crm 客户关系管理 项目 系统 实施 企业 公司 问题 工作 进行 需要 时候 什么样 怎么办 怎样 为什么 有没有 "
    "应当 要 会 能 做 有 用 时 后 前 中 上 下 里 第 个 请 请问 一下 知识库 多少 怎么样 如何 哪些 哪个".split()
)
# The words for what the whole knowledge base is about: a question naming nothing else ("CRM是什么?", "怎么实施
# CRM?") asks about all of it, which is no greeting.
_DOMAIN = re.compile(
    r"crm|客户关系管理|实施|项目|\bimplement(s|ed|ing|ations?)?\b|\bprojects?\b|\brollouts?\b|\bgo-?lives?\b",
    re.IGNORECASE,
)
# Words for the knowledge base itself ("文章里说…", "作者认为…"): where the asker read it, not what it says.
# jieba cuts 那篇文章 as 那 + 篇文章.
ABOUT_THE_SOURCES = frozenset("文章 篇文章 作者 文中 本文 原文 笔者 这篇 那篇 文里".split())
# "百分之几" asks for a share as 多少 asks for a number (wants_quantity reads it from the question's form)
QUESTION_WORD = re.compile(r"^(哪|什么|怎么|怎样|为什么|为何|多少|咋|啥|如何|百分之|百分比)")
# Nouns that name the kind of answer wanted (its consequences, reasons, steps), not what it is about.
ANSWER_KINDS = frozenset(
    "后果 原因 影响 作用 意义 好处 坏处 区别 效果 结果 方法 办法 步骤 注意事项 条件 标准 因素 要点 建议 "
    "经验 教训 做法 方面 内容 情况 前提 重点 技巧 角色 职责".split()
)
# jieba's tags for names: Latin-script words, places, organisations, transliterations. Not its person tag
# "nr" (it tags 谢谢, 顾问 and 许可证 so), nor its "other proper noun" nz: of its 10,441 nz words most are
# ordinary (太紧, 普通, 汇报, 安全帽, 申请经费), and "工期太紧,试点能不能跳过?" was refused as naming one.
_NAME_FLAGS = frozenset({"eng", "ns", "nt", "nrt"})
_FUNCTION_FLAGS = frozenset({"r", "d", "f", "c", "p", "df"})
# Names jieba does not tag: a law (…法, …条例), a title in 《》, a versioned product ("Dynamics 365",
# "ISO 27001", "S/4HANA", "R/3", "5G"), but not a numbered step or phase ("Step 2"), a quarter ("Q3") or an
# ordinal ("2nd"), which count, and name nothing.
_LAW = re.compile(r"..(法|法规|条例|法案)$")
_NAMED = re.compile(
    r"《[^》]{1,30}》|(?<![A-Za-z])[A-Z][A-Za-z\-]*\s?\d+(\.\d+)*\b|"
    r"(?<![A-Za-z0-9])[A-Za-z]+/\d+[A-Za-z]*\b|(?<![A-Za-z0-9/])\d+[A-Za-z]{1,}\b"
)
_ORDINAL_SUFFIX = re.compile(r"\d+(st|nd|rd|th|[kmbx%])", re.IGNORECASE)
_COUNTING = re.compile(
    r"^(step|phase|stage|part|top|item|point|chapter|section|no|number|q|h|fy)(\b|(?=\d))", re.IGNORECASE
)
# "哪几个" asks which ones (a list), "几个" how many.
# 几 asks after nothing but itself: 哪几 asks which, and 好几周, 这几天, 十几个 say some (an indefinite count).
_QUANTITY_ZH = re.compile(
    r"多少|(?<![哪好这那十前头])几[个天年月周次人位种步家倍成%％]|多久|多长(?:时间)?|百分之|比例|价格|费用"
    r"|率[^,,。??]{0,6}(多高|多大|高不高)"  # "失败率有多高?" asks for the rate
)
# Only a calendar ask needs a date in the evidence; "什么时候切换" asks about timing, which guidance answers.
_DATE_ZH = re.compile(r"哪一年|哪年|哪个月|日期|哪天|几月|几号")
# A price is money asked for: a word for what is paid (价, 费, 租金, 薪…), or one near "how much", but not
# the share it takes ("软件成本占多少?" asks a proportion), nor a price that only describes what is asked about
# ("挑了个报价最低的小供应商,…有啥风险吗?" asks about risk).
_PRICE_ZH = re.compile(
    r"多少钱|(价格|价钱|报价|收费|薪|工资)(?![^,,。??]{0,3}(低|高|便宜|贵)的)|"
    r"(费|租金|成本|价)[^占,,。??]{0,6}(多少|几)|(多少|几)[^,,。??]{0,3}(费|租金|成本)|"
    # "每个用户每月多少?": what a seat or licence is charged
    r"每[个位]?(用户|账号|帐号|席位|许可|授权)[^,,。??]{0,6}多少(?![^,,。??]{0,3}(人|次|天|小时|分钟|条|个))"
)
# English asks for a share that are also asks for a figure ("what %", "the ratio of…", "what is a healthy weekly
# active-user rate?", the words qualifying the rate between); _FIGURE_ASKED reads them as a share.
_SHARE_ASKED_EN = (
    r"\bwhat(?: rate\b|(?:'s| is| are| was| should be| would be) (?:a |an |the |our )?(?:[a-z-]+ ){0,3}"
    r"(?:rate|percentage|ratio)\b)|\bwhat ?%|\bratio\b"
)
# "how much should we vet…", "how much does data quality matter?" ask how far, not for a figure: "how much"
# with a verb of its own, not a noun ("how much time"), weighs something; what it costs is a price (_PRICE_EN)
_QUANTITY_EN = re.compile(
    rf"\bhow (many|much(?!\s+(should|do|does|did|can|could|will|would|must)\b)|long|often)\b|\bwhat (percentage|percent|price)\b|{_SHARE_ASKED_EN}|\bprice\b",
    re.IGNORECASE,
)
_DATE_EN = re.compile(
    r"^\W*when (did|was|were|is|will|do|does)\b|\b(what|which|in what) (year|date|day|month)\b", re.IGNORECASE
)
_PRICE_EN = re.compile(
    r"\bhow much (does|do|did|is|are|was|were|will|would)\b.*\b(cost|charge|pay|spend|rent)|\bprices?\b"
    r"|\bfees?\b|\bsalar(y|ies)\b|\bpay rates?\b|\bday rates?\b|\bhourly\b|\bcost per\b|\bhow expensive\b"
    # what is charged per seat or per period is a price, though no word for cost is used: "how much is it
    # per user per month?"
    r"|\bhow much\b(?! (time|effort|work|training|data|storage|space)\b).*\b(per|a|an|each)[ -]"
    r"(user|seat|licen[cs]e|head|person|month|year)\b",
    re.IGNORECASE,
)
# A figure: digits, a Chinese numeral with a unit ("三个月"; "一个" alone is an article, not a quantity), or a share
# said in words ("大约一半的CRM项目", "大多数企业", "about half").
_SHARE_IN_WORDS = r"一半|半数|(绝)?大(多数|部分)|\b(half|majority)\b"
_NUMBER = re.compile(
    rf"\d|[一二两三四五六七八九十百千万半]+\s*个?\s*(年|月|天|周|次|倍|成|人|小时|分钟|%)|分之|{_SHARE_IN_WORDS}",
    re.IGNORECASE,
)
# Item numbers ("3、", "2.", "(1)", "一、") count items; they are not figures.
_ITEM_NUMBER = re.compile(
    r"(^|(?<=[\s。;:!?]))(\d{1,2}|[一二三四五六七八九十]{1,3})[、.)](?!\d)|[((]\d{1,2}[))]"
)
_DATE = re.compile(r"\d{4}|\d{1,2}\s*[月日]")
# Asks whose answer is a name (which vendor, who leads a ranking, who wrote it): guidance is no answer to
# them, only evidence that names something the question does not.
_NAME_ZH = re.compile(
    r"哪几?[家款]|哪(个|一个|些)?(厂商|供应商|公司|品牌|软件|产品|工具|平台|顾问公司)|排名第|排第|谁写|作者是"
    # "有没有厂商推荐?" asks for one; "厂商推荐的方案" is the vendor's recommendation, no name asked
    r"|推荐.{0,12}(公司|厂商|软件|工具|产品)|(公司|厂商|软件|工具|产品)推荐(?!的)"
    # "哪个CRM比较好用?" asks for a product, "哪个CRM项目阶段…" does not
    r"|哪(个|一个|款|些)\s*crm(?!\s*(项目|实施|阶段|工作|团队))",
    re.IGNORECASE,
)
_NAME_EN = re.compile(
    r"\bwhich (vendor|company|product|tool|brand|software|platform|firm|consultancy|supplier|si|integrator"
    r"|partner|implementer)s?\b"
    r"|\bwho(?:'s| is| was)? (wrote|the (leader|author|vendor|best))|\branked? (first|#?1|top)|\b(recommend|suggest) an? "
    r"(vendor|company|product|tool|brand|platform|firm|consultancy|crm)"
    # a product asked for: "whats the best crm for a 20 person sales team", "which crm has the best mobile app"
    r"|\bbest crm(?: system| software| tool| platform)?s? (for|to)\b"
    r"|\b(which|what) crm(?: system| software| product| tool| platform)?s? (is|are|should|would|has|have|do|does)\b",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"\d[\d,.]*\s*(元|块|美元|欧元|英镑|卢布|rmb|usd|eur|dollars?|rubles?)|[$€£¥]\s*\d", re.IGNORECASE
)
_ENGLISH_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_COMMON_EN = frozenset(
    """what how which who why when where should can could would will we you i our my your it its this that
    these those after before during about from at by if not no first best way ways need needs must any all
    most more than make get do does did is are was were be been being the a an of to and or in on for with
    us they them their there here tell give explain help good well up out into over under between
    happen happens happened go going keep kept take avoid prevent set settle settled leave leaves left
    right wrong work works working start started starting end ends ending ask asked might may stop
    down really actually many much long often""".split()
)


def names_the_domain(question: str) -> bool:
    """Whether ``question`` names what the whole knowledge base is about (CRM, its implementation)."""
    return _DOMAIN.search(question) is not None


@cache
def posseg() -> object:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


@dataclass(frozen=True)
class Ask:
    """The informative terms of a question (Chinese, as the articles write them) with weights, the
    specific names among them, and whether a figure or date is asked for."""

    terms: dict[str, float]
    specific: tuple[str, ...]
    wants_quantity: bool
    unknown_english: tuple[str, ...] = field(default=())
    wants_date: bool = False
    wants_price: bool = False
    wants_name: bool = False
    figure: Figure | None = None  # the kind of figure asked for, when the question says (see figure_asked)
    # Other spellings of a term (an English phrase's glossary renderings, the English word itself): evidence
    # holding any of them covers it, whichever language the document is in.
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Terms that say how the question is asked ("具体", "详细"), not what about (see ``topical``).
    manner: frozenset[str] = frozenset()
    # Verbs whose object points back ("怎么避免这个?", "how do we avoid that?"): what to do about a topic the
    # question does not name, a follow-up's previous one.
    acting: frozenset[str] = frozenset()

    def topical(self) -> bool:
        """Whether the question names a topic of its own: "具体怎么做?" does not, and a follow-up so
        phrased is about the previous question's topic."""
        return any(term not in self.manner for term in self.terms)

    def holds(self, term: str, lowered: str) -> bool:
        """Whether lower-cased text ``lowered`` holds ``term`` in any of its spellings."""
        return term in lowered or any(other in lowered for other in self.alternatives.get(term, ()))

    def spellings(self) -> list[str]:
        """Every spelling of every term, for matching words in text (BM25, the query's bridge)."""
        return list(dict.fromkeys(s for t in self.terms for s in (t, *self.alternatives.get(t, ()))))


LONG_QUESTION = 200
COMMON_ZIPF = 4.0  # a word used ten times per million words or more is a common word


def analyse(
    question: str, language: Language, glossary: Glossary, vocabulary: Vocabulary | None = None
) -> Ask:
    """``question`` is already normalised (Simplified). ``vocabulary``: the knowledge base's words, which
    an English question can also be matched by (an English document)."""
    if language == "en":
        return _analyse_english(question, glossary, vocabulary)
    terms: dict[str, float] = {}
    alternatives: dict[str, tuple[str, ...]] = {}
    manner: list[str] = []
    acting: list[str] = []
    specific = _named(question)
    # A synonym jieba does not keep whole ("教育训练" is 教育 + 训练) is replaced in the text before it is cut.
    for phrase in sorted(glossary.synonyms, key=len, reverse=True):
        if phrase in question and len(list(posseg().cut(phrase))) > 1:  # type: ignore[attr-defined]
            first, *others = glossary.synonyms[phrase]
            question = question.replace(phrase, first)
            if others:
                alternatives[first] = tuple(others)
    # jieba's HMM guesses words among unknown characters at about 2 ms each: past LONG_QUESTION characters
    # (no real question is that long) the dictionary alone segments, so junk cannot buy seconds of CPU.
    hmm = len(question) <= LONG_QUESTION
    pairs = list(posseg().cut(question, HMM=hmm))  # type: ignore[attr-defined]
    for at, pair in enumerate(pairs):
        word, flag = pair.word.strip().lower(), pair.flag
        # An adjective used as an adverb ("详细说说", "具体(要)怎么做?") says how much is wanted, not what
        # about: it still matches the text that gives it ("具体的说,…"), but names no topic of its own.
        if flag == "ad" or (flag == "a" and _asks_next(pairs[at + 1 :])):
            manner.append(word)
        if flag.startswith("v") and at + 1 < len(pairs) and pairs[at + 1].word in _POINTING_BACK_ZH:
            acting += [word, *glossary.synonyms.get(word, ())]
        if len(word) < 2 or word in STOPWORDS or word in GENERIC_TERMS or not re.search(r"\w", word):
            continue
        # A word the articles put differently (选型 → 选择) is asked about in theirs, whatever jieba tags it
        # ("翻倍" an adverb, "一倍" a numeral: the articles' 加倍)
        if word in glossary.synonyms:
            # 导入 → 实施 is as generic as 实施 written so; the articles' words for one thing (高管 is their
            # 高层 or 管理层) are spellings of one term, as an English phrase's renderings are
            theirs = [synonym for synonym in glossary.synonyms[word] if synonym not in GENERIC_TERMS]
            if theirs:
                terms[theirs[0]] = min(len(theirs[0]), 4)
                if theirs[1:]:
                    alternatives[theirs[0]] = tuple(theirs[1:])
            continue
        # A count ("七个", "8") says how many, never what about; a figure asked for is read from the
        # question's form (wants_quantity). An ordinal can be content ("第二次实施") and stays.
        if (flag == "m" and not word.startswith("第")) or word in ABOUT_THE_SOURCES:
            continue
        if QUESTION_WORD.match(word):  # "哪几个", "什么样": the form of the question, not its topic
            continue
        if (flag in _FUNCTION_FLAGS and not _asked_of(pairs, at)) or flag.startswith("u"):
            continue
        if word in ANSWER_KINDS:  # weighs little, and is never the unknown thing that makes a near miss
            terms[word] = 1
            continue
        terms[word] = min(len(word), 4)
        if (stem := _rate_of(word, vocabulary)) is not None:
            alternatives[word] = (stem,)
        # What is counted ("两个礼拜", "三家厂商") is a common noun, whatever jieba's dictionary tags it: a
        # name is not counted.
        counted = at > 0 and pairs[at - 1].flag == "m"
        cut_from = pairs[at - 1] if at > 0 else None
        if (_is_name(pair.word, flag) and not counted) or _LAW.search(word) or _law_tail(word, cut_from):
            specific.append(word)
    return Ask(
        terms,
        tuple(specific),
        _asks_quantity_zh(question),
        figure=figure_asked(question),
        wants_date=bool(_DATE_ZH.search(question)),
        wants_price=bool(_PRICE_ZH.search(question)),
        wants_name=bool(_NAME_ZH.search(question)),
        manner=frozenset(manner),
        acting=frozenset(acting),
        alternatives=alternatives,
    )


def _rate_of(word: str, vocabulary: Vocabulary | None) -> str | None:
    """What a rate the articles never name is the rate of, when they name that: 失败率 is the share that
    fails, which "20%到60%的CRM项目失败" gives. A rate ("X率") is the one compound whose head adds only "the
    share of", so its stem stands for it; other compounds are things of their own (see Vocabulary.unknown)."""
    if vocabulary is None or len(word) < 3 or not word.endswith("率") or vocabulary.knows(word):
        return None
    stem = word[:-1]
    return stem if vocabulary.knows(stem) else None


_YES_NO = frozenset("吗 么 嘛".split())  # the particles that close a yes/no question
# Pronouns that point back to what was said before: the object of "怎么避免这个?", "how do we fix that?".
_POINTING_BACK_ZH = frozenset("这 这个 这种 这样 这些 它 它们 那 那个 那种 那些 此".split())
_POINTING_BACK_EN = re.compile(r"\b([a-z][a-z-]+)\s+(?:that|it|this|these|those|them)\b")

# Auxiliaries (能愿动词) that may stand between an adverbial adjective and what it modifies: 具体要怎么做,
# 具体该如何操作, 具体是怎么做的.
_AUXILIARIES = frozenset(
    {"要", "该", "应", "应该", "应当", "需", "需要", "得", "能", "能够", "可以", "会", "是"}
)


def _asked_of(pairs: list[Any], at: int) -> bool:
    """Whether the adverb at ``at`` is what a yes/no question asks of its subject: jieba tags predicate
    adjectives such as 正常 as adverbs, and "这样算正常吗?" asks whether it is normal."""
    after = [pair.word for pair in pairs[at + 1 : at + 3]]
    if after[:1] == ["的"]:  # "是正常的吗?"
        after = after[1:]
    return pairs[at].flag == "d" and bool(after) and after[0] in _YES_NO


def _asks_next(rest: list[Any]) -> bool:
    """Whether an adjective modifies what follows it as an adverb would: a pronoun ("具体怎么") or a verb
    ("具体做哪些", "详细说说"), past any auxiliaries ("具体要怎么")."""
    for pair in rest:
        if pair.word not in _AUXILIARIES:
            return pair.flag == "r" or pair.flag.startswith("v")
    return False


def _analyse_english(question: str, glossary: Glossary, vocabulary: Vocabulary | None) -> Ask:
    groups, unknown = glossary.translate(question)
    # One English phrase is one thing asked, whichever of its renderings the evidence uses ("rollout" is
    # 推广 or 上线): its renderings are spellings of one term, so a passage need not hold them all.
    concepts: list[list[str]] = []
    for group in groups:
        _join(concepts, [t.lower() for t in group if t.lower() not in GENERIC_TERMS])
    # The question's own words that the knowledge base uses (an English document does) are spellings too,
    # in the form it uses, of the same thing as their glossary renderings.
    for word in dict.fromkeys(_ENGLISH_WORD.findall(question.lower())):
        if len(word) < 3 or word in _COMMON_EN or word in STOPWORDS or word in GENERIC_TERMS:
            continue
        form = vocabulary.form(word) if vocabulary is not None else None
        if form is not None:
            renderings = [t.lower() for group in glossary.translate(word)[0] for t in group]
            _join(concepts, [form, *(t for t in renderings if t not in GENERIC_TERMS)])
    # A two-letter acronym the knowledge base uses that the glossary renders is one more spelling of what it
    # renders ("SI" is the articles' 供应商 or 乙方, and once "SI供应商"); it weighs as a term of its own only
    # when it is the one spelling (see below).
    acronyms = [
        acronym
        for acronym in dict.fromkeys(re.findall(r"\b[A-Z]{2}\b", question))
        if vocabulary is not None and vocabulary.knows(acronym)
    ]
    alone = []
    for acronym in acronyms:
        if renderings := [t.lower() for group in glossary.translate(acronym)[0] for t in group]:
            _join(concepts, [*renderings, acronym.lower()])
        else:
            alone.append(acronym)
    terms: dict[str, float] = {}
    alternatives: dict[str, tuple[str, ...]] = {}
    for spellings in concepts:
        # the spelling the knowledge base uses leads, so that a term it never uses is one it never uses
        used = [t for t in spellings if vocabulary is None or vocabulary.knows(t)] or spellings
        head = used[0]
        # an answer's kind ("reason" is 原因, "steps" 步骤) weighs as little as it does asked in Chinese
        terms[head] = 1.0 if head in ANSWER_KINDS else float(min(len(head), 4))
        if others := tuple(t for t in spellings if t != head):
            alternatives[head] = others
    # A two-letter acronym the knowledge base uses ("IT" in IT部门) is a term; a name it is not.
    for acronym in alone:
        terms.setdefault(acronym.lower(), 3.0)
    # Names (capitalised inside a sentence, or acronyms) the glossary does not know are the specific things
    # asked; the first word of a sentence is capitalised whatever it is.
    names = [
        m.group(0)
        for m in re.finditer(r"[A-Za-z][A-Za-z0-9\-]+", question)
        if _written_as_name(m.group(0), question[: m.start()])
    ]
    named = [w.lower() for w in names if w.lower() in unknown and not _COUNTING.match(w)]
    specific = tuple(dict.fromkeys(named + _named(question)))
    leftover = tuple(w for w in unknown if w not in _COMMON_EN and w not in specific and len(w) > 2)
    for name in specific:
        terms[name] = 3.0
    acting = [
        t.lower()
        for verb in _POINTING_BACK_EN.findall(question.lower())
        for group in glossary.translate(verb)[0]
        for t in group
    ]
    return Ask(
        terms,
        specific,
        bool(_QUANTITY_EN.search(question)),
        leftover,
        wants_date=bool(_DATE_EN.search(question)),
        wants_price=bool(_PRICE_EN.search(question)),
        wants_name=bool(_NAME_EN.search(question)),
        alternatives=alternatives,
        figure=figure_asked(question),
        acting=frozenset(acting),
    )


def _asks_quantity_zh(question: str) -> bool:
    """Whether a Chinese question asks for a figure. 几 with a measure word asks how many only in a clause
    that asks ("要配几个人?"): in one that goes on to a comma it says "some" ("把几家候选厂商的底摸清楚,具体可以怎么
    做?", "当初有几个一个月才发生一两次的特殊业务,…"), and the question asks something else."""
    for match in _QUANTITY_ZH.finditer(question):
        if not match.group().startswith("几"):
            return True
        rest = re.search(r"[,,。;;!!??]", question[match.end() :])
        if rest is None or rest.group() in "??":
            return True
    return False


_SETS_ASIDE = re.compile(r"\W*(除了|除开|除去|除)")  # "除了软件报价," names what the question is not about
# jieba's verb tags; a verbal noun ("vn": 培训, 管理) names a thing
_VERB_FLAGS = frozenset({"v", "vd", "vi", "vg", "vq", "vf", "vx"})


def topic_clause(clause: str) -> bool:
    """Whether a Chinese clause only names a topic, a noun phrase with no verb ("技术层面的风险,", "关于系统维护,"):
    what the clause after it asks is asked about it. A clause with a verb, or that tells what has happened
    (了, 过), sets a scene ("上次CRM搞砸了,", "上线三个月了,"); one that opens with 除了 sets its topic aside."""
    if _SETS_ASIDE.match(clause) or not re.search(r"[\u4e00-\u9fff]", clause):
        return False
    words = [pair for pair in posseg().cut(clause) if re.search(r"\w", pair.word)]  # type: ignore[attr-defined]
    return any(pair.flag.startswith("n") for pair in words) and not any(
        pair.flag in _VERB_FLAGS or pair.word in ("了", "过") for pair in words
    )


def _law_tail(word: str, before: Any) -> bool:
    """Whether ``word`` ends a law's short name that jieba cut apart: "个资法" and "个保法" come out as 个 +
    资法 / 保法, words its dictionary does not hold; 办法, 做法 and 方法 it does. What was cut off is a
    character of the name standing alone, not a particle: "常见的偏法" coins a word for a way of going
    wrong, and names no law."""
    if len(word) != 2 or not word.endswith("法") or jieba_knows(word):
        return False
    return (
        before is not None and len(before.word.strip()) == 1 and not before.flag.startswith(("u", "p", "c"))
    )


@cache
def jieba_knows(word: str) -> bool:
    posseg()  # jieba quiet, as everywhere
    import jieba

    jieba.dt.check_initialized()
    return bool(jieba.dt.FREQ.get(word))


def _join(concepts: list[list[str]], spellings: list[str]) -> None:
    """Add ``spellings`` of one thing to ``concepts``, as part of the concept that shares one of them."""
    if not spellings:
        return
    same = next((c for c in concepts if set(c) & set(spellings)), None)
    if same is None:
        concepts.append(list(dict.fromkeys(spellings)))
    else:
        same.extend(t for t in spellings if t not in same)


def _written_as_name(word: str, before: str) -> bool:
    """An acronym of three letters or more (GDPR), or a capitalised word inside a sentence (Salesforce),
    that is not a common English word: people capitalise roles and departments ("our Finance team", "the
    CEO") as they do names. Two capitals ("PM", "IT") abbreviate ordinary words wherever they stand. A
    capital inside a word (HubSpot, NetSuite) writes a name wherever it stands, first in a sentence too."""
    if re.search(r"[a-z][A-Z]", word):
        return True
    if word.isupper():
        return not abbreviates(word) and not common_english(word)
    if re.fullmatch(r"[A-Z]{2,}s", word):  # SMEs, KPIs: an acronym in the plural is a kind of thing
        return False
    written = word[0].isupper() and re.search(r"[A-Za-z0-9,;)\"'-]\s*$", before) is not None
    return written and not common_english(word)


def abbreviates(word: str) -> bool:
    """Whether ``word`` is two capitals, which abbreviate an ordinary word (PM, IT, HR), not a name."""
    return len(word) == 2 and word.isupper()


@cache
def common_english(word: str) -> bool:
    """Whether ``word`` is a common English word: used ten times per million words or more (Zipf 4),
    as "finance", "board", "director" and "CEO" are and product and company names mostly are not."""
    from wordfreq import zipf_frequency

    return bool(zipf_frequency(word.lower(), "en") >= COMMON_ZIPF)


def merged(ask: Ask, topic: Ask) -> Ask:
    """``ask`` about ``topic`` as well: the topic's terms and names join the question's."""
    terms = dict(topic.terms)
    terms.update(ask.terms)
    alternatives = {**topic.alternatives, **ask.alternatives}
    return replace(
        ask,
        terms=terms,
        specific=tuple(dict.fromkeys(ask.specific + topic.specific)),
        alternatives=alternatives,
        manner=ask.manner | topic.manner,
    )


def _named(question: str) -> list[str]:
    found = (m.group(0).strip().lower() for m in _NAMED.finditer(question))
    return [name for name in found if not _COUNTING.match(name) and not _ORDINAL_SUFFIX.fullmatch(name)]


class Vocabulary:
    """Which words the knowledge base uses at all."""

    def __init__(self, texts: list[str]) -> None:
        lowered = [text.lower() for text in texts]
        self._texts = Substrings(lowered)
        self._latin = {fold(w) for text in lowered for w in re.findall(r"[a-z0-9]+", text)}

    def knows(self, word: str) -> bool:
        """Chinese is matched anywhere in the text; Latin script as whole words, any inflection ("SAP" is
        not known because "disappear" is, "sandboxes" is because "sandbox" is)."""
        word = word.lower()
        if re.search(r"[\u3400-\u9fff]", word) or not re.search(r"[a-z0-9]", word):
            return self._texts.contains(word)
        if re.fullmatch(r"[a-z0-9]+", word):
            return fold(word) in self._latin
        return self._texts.search(word, re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])"))

    def form(self, word: str) -> str | None:
        """``word`` as a term that finds the knowledge base's spelling of it (its uninflected stem, which
        "refreshed" and "refreshing" contain), or None when the knowledge base never uses it."""
        if not self.knows(word):
            return None
        return fold(word) if re.fullmatch(r"[a-z0-9]+", word.lower()) else word.lower()

    def unknown(self, ask: Ask) -> list[str]:
        """The names the question gives that the knowledge base never uses (a name is matched exactly:
        个人信息保护法 is not known because 保护 is)."""
        return [w for w in ask.specific if not self.knows(w)]

    def known_terms(self, ask: Ask) -> Ask:
        """``ask`` with only the terms the knowledge base uses: a word it never uses can match no evidence,
        so it must not count against the evidence that is found."""
        return replace(
            ask,
            terms={
                t: w
                for t, w in ask.terms.items()
                if self.knows(t) or any(self.knows(a) for a in ask.alternatives.get(t, ()))
            },
        )


def coverage(ask: Ask, text: str) -> float:
    """Weighted share of the question's terms that appear in ``text``."""
    total = sum(ask.terms.values())
    if not total:
        return 0.0
    lowered = text.lower()
    return sum(weight for term, weight in ask.terms.items() if ask.holds(term, lowered)) / total


Figure = Literal["share", "duration", "people"]
_DURATION_UNIT = "(天|周|星期|礼拜|月|年|小时|钟头|分钟|工作日)"
# A figure asked for in a unit ("转化率是多少", "排几个小时", "配几个人", "how long", "what percentage") is
# answered only by a figure in that unit: "6个月" does not say how many people, nor "99%" how long.
_FIGURE_ASKED: tuple[tuple[Figure, re.Pattern[str]], ...] = (
    ("share", re.compile(
        r"百分之(几|多少)|百分比|比例|占比|占[^,,。??]{0,4}多少|几成|(几|多少) ?[%％]|率[^??]{0,12}(多少|几|多高|多大|高不高)|\bpercent(age)?\b|\bshare of\b|\bwhat fraction\b"
        rf"|{_SHARE_ASKED_EN}|\brate (is|was)\b", re.IGNORECASE)),
    ("duration", re.compile(
        rf"多久|多长(?:时间)?|几个?{_DURATION_UNIT}|多少个?{_DURATION_UNIT}|\bhow long\b"
        r"|\bhow many (days|weeks|months|years|hours|minutes)\b", re.IGNORECASE)),
    ("people", re.compile(
        r"几[个名位]?(人|全职|专职)|多少(个)?(人|名)|人力|人手|\bhow many (people|staff|employees|consultants|users)\b"
        r"|\bheadcount\b|\bftes?\b", re.IGNORECASE)),
)  # fmt: skip
# "几个月" is a few months, no figure; "十几个人", "几十天" are rough figures all the same.
_NUMERAL = r"(\d+(\.\d+)?|(几(?=[十百千万]))?[一二两三四五六七八九十百千万半]+几?)"
_FIGURE_GIVEN: dict[Figure, re.Pattern[str]] = {
    "share": re.compile(
        rf"%|％|百分之|分之|{_NUMERAL}\s*成|{_SHARE_IN_WORDS}|\bpercent\b",
        re.IGNORECASE,
    ),
    "duration": re.compile(
        rf"{_NUMERAL}\s*个?\s*{_DURATION_UNIT}|"
        r"\b(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+"
        r"(years?|months?|weeks?|days?|hours?|minutes?)\b",
        re.IGNORECASE,
    ),
    "people": re.compile(
        rf"{_NUMERAL}\s*[个名位]?\s*(全职|专职|兼职)?\s*(人|名|位|员工|顾问)|\b\d+\s+(people|staff|employees|users|consultants)\b",
        re.IGNORECASE,
    ),
}


def figure_asked(question: str) -> Figure | None:
    """The unit a figure is asked in (a share, a duration, a number of people), or None (any figure)."""
    return next((figure for figure, pattern in _FIGURE_ASKED if pattern.search(question)), None)


_CLAUSE = re.compile(r"[^,,。??!!;;::\n]+")


def measured(question: str) -> list[str]:
    """The nouns of the clause that asks for a figure in a unit, outside the words that ask for it: what the
    figure is of ("系统使用率要达到几%" → 使用率, "保固期通常是多久" → 保固期). The ask can run across a comma
    ("转化率,行业平均大概是多少?"): then its sentence is read. Empty when nothing asks for one."""
    clauses = _CLAUSE.findall(question) + re.findall(r"[^。??!!\n]+", question)
    for clause in clauses:
        asking = [m.span() for _, pattern in _FIGURE_ASKED for m in pattern.finditer(clause)]
        if not asking:
            continue
        nouns, at = [], 0
        for pair in posseg().cut(clause):  # type: ignore[attr-defined]
            end = at + len(pair.word)
            noun = pair.flag.startswith("n") or pair.flag in ("vn", "j")  # j: an abbreviation (维保)
            if noun and not any(start <= at and end <= stop for start, stop in asking):
                nouns.append(pair.word.lower())
            at = end
        return nouns
    return []


# "how many days of hypercare", "how many hours of training": a count of a unit of something, named after "of"
_MEASURED_EN = re.compile(
    r"\bhow many (?:minutes|hours|days|weeks|months|years|people|users|licen[cs]es|seats) of ([a-z][a-z-]+)",
    re.IGNORECASE,
)


def measured_english(question: str) -> str | None:
    """What an English question asks a figure of, in the one form that names it ("how many days of hypercare"
    → hypercare), lower-cased; None in any other."""
    of = _MEASURED_EN.search(question)
    return of.group(1).lower() if of is not None else None


def has_quantity(text: str, figure: Figure | None = None) -> bool:
    """Whether ``text`` gives a figure (in the unit ``figure`` names, when one is asked for)."""
    text = _ITEM_NUMBER.sub(" ", text)
    if figure is not None:
        return bool(_FIGURE_GIVEN[figure].search(text))
    return bool(_NUMBER.search(text))


def has_date(text: str) -> bool:
    return bool(_DATE.search(text))


def _is_name(word: str, flag: str) -> bool:
    """Whether jieba tagged ``word`` as a name; a Latin-script word is one when written as one
    (Salesforce, GDPR), "demo" is a word. jieba's two-character transliterations are mostly common words
    (多谢, 拜托, 崇拜, 保姆); a transliterated name it knows is longer (阿里巴巴)."""
    if flag == "nrt" and len(word) < 3:
        return False
    if flag == "eng" and abbreviates(word):  # in a Chinese question as in an English one
        return False
    return flag in _NAME_FLAGS and (flag != "eng" or word[:1].isupper())


def names_other_than(text: str, question: str) -> bool:
    """Whether ``text`` names something (an organisation, product, place or Latin-script name) that
    ``question`` does not."""
    given = question.lower()
    for pair in posseg().cut(text):  # type: ignore[attr-defined]
        word = pair.word.strip()
        # In the articles an acronym (IT, CRM, DBMS) is a common noun; a name is capitalised, not shouted.
        acronym = word.isupper() and len(word) <= 4
        if _is_name(word, pair.flag) and not acronym and len(word) > 1 and word.lower() not in given:
            return True
    return False


def has_money(text: str) -> bool:
    return bool(_MONEY.search(text))
