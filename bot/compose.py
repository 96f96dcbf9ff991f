"""Compose an extractive answer section first: the section that answers best (and, for a question two
articles answer, the best section of the other), then from it the heading when it states the guidance, the
key sentences made whole, or the list or outline a list question asks for.

Scored sentences come from crmkb.bot.extractive; what comes out are quotes, each a verbatim span of a cleaned
document, in the order they are to be read.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from crmkb.bot.evidence import Ask, analyse, coverage, has_quantity, posseg
from crmkb.bot.glossary import Glossary
from crmkb.bot.knowledge import Knowledge, SectionKey
from crmkb.bot.question import Kind, count_asked, numeral
from crmkb.ingest.chunking import SECTION_SEPARATOR, split_sentences

# A sentence that opens by pointing back ("这样…", "因此…") is read together with the one before it.
# So is one that opens with a copula without its subject ("是没找到好的SI供应商,还是两方面都有责任。" goes on asking the
# question before it), though not 是否 (a checklist's "whether") or 是的
_POINTS_BACK = re.compile(r"^\W*(这|此|因此|所以|那么|于是|其中|它们|他们|是(?!否|的))")
LEAD_IN = re.compile(r"([::]|如下|以下|下列|下面的)\W*$")
_QUESTION = re.compile(r"[??]\W*$")
_OPENS_WITH_QUESTION = re.compile(r"^[^。!?;!?;]{2,40}[??]")
# A sentence that gives a reason: it opens with a causal connective or names a cause.
# What happens otherwise is a reason too ("一旦系统切换失败,不是一天两天能挽回", "否则…"): why a thing
# matters is what it costs when it goes wrong.
_CAUSE = re.compile(
    r"^\W*(因为|由于|这是因为|之所以|这就是|原因)|原因|造成|导致|否则|不然|一旦|以免|\b(because|otherwise)\b",
    re.IGNORECASE,
)
REASON_REACH = 2  # a statement's reason is looked for this many sentences on, within its paragraph
_ITEM = re.compile(r"^\s*(\d{1,2}[、.)]|[((]\d{1,2}[))]|[•·*\-])")
_CLAUSE = re.compile(r"[,,;;]")
_SERIES = re.compile(r"[;;][”’\"')」』]*\s*$")  # a sentence the next one continues
SERIES_CHARS = 160
_BULLET = re.compile(r"^\s*[•·]")
_NUMBERING = re.compile(r"^[一二三四五六七八九十\d]{1,3}[、.]\s*")
# A sentence that announces what follows ("包括如下七个战略阶段:", "以下8个基本步骤可以帮助您。").
_FOLLOWING = re.compile(r"如下|以下|下列|下面|\bfollowing\b", re.IGNORECASE)
# The steps an article gave, pointed back at from its conclusion ("这几条简单的规则可以帮助你…", "these steps")
_THOSE_STEPS = re.compile(
    r"这(些|几\s*[条个点项步])\s*(简单|基本)?的?(规则|步骤|建议|方法|原则|要点)|\b(these|those) (\w+ )?(rules|steps)\b",
    re.IGNORECASE,
)

SECOND_DOCUMENT = 0.92  # a section of another article joins when it scores this close to the best one
CONTINUED_GAIN = 0.01  # a sentence runs on into the next when the pair matches the question this much better
POINTED = 2  # sentences of what was said pointed at, when a follow-up asks about it again
CLOSE = 0.8  # a further sentence of a chosen section joins when it scores this close to the section's best
OTHER_SECTION = 0.9  # a sentence of a section not chosen joins only this close to the best sentence
LIST_BUDGET = 450  # a list or outline may run longer than other answers: its items are the answer
ITEM_CHARS = 60  # a list item longer than this is quoted up to its first clause
# a clause shorter than this ("认真思索后") is a phrase leading into what follows, no statement
STATEMENT_CHARS = 8
HEADING_WEIGHT = 0.4  # a section whose heading names everything asked gains this much (sentence scores ~1)
# headings naming at least this share of a list question, the same terms each, answer it together
SIBLING_COVERAGE = 0.5
# an article whose lead names at least this share of a list question is what it asks about (_about_article)
LEAD_COVERAGE = 0.5
# ... and a sentence holding this share of it is the answer, not the article's outline
HOLDS_MOST = 0.5
HEADING_WHOLE = 0.2  # and this much more, over a sibling heading that names part of it
NAMED_ITEM_REACH = 3  # the best sentences looked at for a list item the question names
GUIDING_HEADING = 4  # a heading shorter than this (numbering aside) is a label
# A heading is guidance when it says what to do or what is wrong: it opens with a verb, adverb or pronoun
# ("核对数据", "重新设置期望", "这次请遵守下列规则"), or asks or denies ("是否…", "没有…", "无法…"). One that
# names a topic ("CRM执行计划", "管理层面的风险") is a label, and the sentences under it say more.
_PREDICATE_FLAGS = ("v", "d", "a", "r", "c")
_VERDICT = re.compile(r"是否|有没有|没有|无法|不要|不是|[,,]")


@dataclass(frozen=True)
class Scored:
    index: int
    score: float
    dense: float
    terms: float


@dataclass(frozen=True)
class Quote:
    source: str
    start: int
    end: int
    section: str
    score: float
    dense: float
    terms: float
    # where the quote may be cut back to when the answer runs out of room: the end of its own sentence, when
    # it runs on into the next only because the pair matches the question better
    core_end: int | None = None


class Composer:
    def __init__(self, knowledge: Knowledge, budget: int, most: int) -> None:
        self.knowledge = knowledge
        self.budget = budget
        self.most = most

    def compose(
        self,
        scored: list[Scored],
        ask: Ask,
        kind: Kind,
        exclude: frozenset[tuple[str, int, int]],
        count: int | None,
        query: np.ndarray,
        articles: frozenset[str] = frozenset(),
    ) -> list[Quote]:
        """``ask``: the question's terms the knowledge base uses. ``exclude``: spans already given (a
        follow-up's previous answer), quoted again only when nothing else answers. ``count``: how many
        items a list question expects. ``query``: the question's vector, which tells whether a sentence's
        neighbour adds to what it says about the question. ``articles``: the articles the question names ("what
        do the vendor article and the closing article say?"), each of which answers when it names two."""
        fresh = [s for s in scored if not self.said(s.index, exclude)]
        if scored and not fresh:
            # all of it was said ("why is that so bad?" after a list that holds the reason): the sentences
            # of it that answer the new ask, on their own
            return self._pointed(scored, exclude)
        scored = fresh
        if not scored:
            return []
        sections = self._rank_sections(scored, ask)
        best = scored[0]
        given = ask.wants_quantity and has_quantity(
            self.knowledge.sentences.units[best.index].text, ask.figure
        )
        if given and best.score >= OTHER_SECTION * max(s.score for s in scored):
            # a figure asked for is answered from where it is given (Extractive._choose leads with the best
            # sentence that holds one), when that sentence matches as closely as another section's must
            where = self.key(best.index)
            sections = [where, *(key for key in sections if key != where)]
        first = sections[0]
        picked = [first]
        other = next((key for key in sections[1:] if key[0] != first[0]), None)
        compared = len(articles) > 1 and other is not None and {first[0], other[0]} <= articles
        if other and (
            compared
            or self._section_score(scored, other, ask)
            >= SECOND_DOCUMENT * self._section_score(scored, first, ask)
        ):
            picked.append(other)
        quotes: list[Quote] = []
        if kind == "list":
            # "What are the three parts of a complete CRM solution?": when the best sentence says there are as
            # many as asked ("CRM全面解决方案应由三部分组成?软件、技术以及供应商") and no list follows it, it is
            # the answer, not the article's outline or another list
            stated = (
                count is not None and count_asked(self.knowledge.sentences.units[best.index].text) == count
            )
            listed = (
                self._named_item(scored, ask)
                or (self._announced(scored, count) if count else [])
                or ([] if stated else self._elsewhere(scored, ask, first, best, count))
            )
            if listed:
                return listed
        # "特殊流程和特殊业务该怎么处理?" names one item of a list as a list question can
        if kind == "how" and (named := self._named_item(scored, ask)):
            return named
        # "如何挽救一个失败的CRM项目?" asks what an article as a whole answers: its title names all of it
        titled = kind == "how" and self._restates_title(first[0], ask)
        if titled and (outline := self._outline(scored, first, best)):
            return outline
        for key in picked:
            in_section = [s for s in scored if self.key(s.index) == key]
            top = in_section[0]
            heading = self._heading(key, top)
            if heading is not None and (heading.source, heading.start, heading.end) not in exclude:
                quotes.append(heading)
            for item in in_section:
                if item is not top and item.score < CLOSE * top.score:
                    break
                quote = self._whole(item, kind, query)
                # a sentence inside or beside one already taken only widens it (_fit joins the two): it is
                # no further quote of the section's three
                joins = any(_overlap(q, quote) for q in quotes)
                quotes.append(quote)
                if not joins and len([q for q in quotes if q.section == key[1]]) >= 3:
                    break
        for item in scored:
            if item.score < OTHER_SECTION * best.score:
                break
            quotes.append(self._whole(item, kind, query))
        return self._with_items(quotes, best)

    def _elsewhere(
        self, scored: list[Scored], ask: Ask, first: SectionKey, best: Scored, count: int | None
    ) -> list[Quote]:
        """A list question's answer from its best article's structure: its sections, sibling headings, or the
        list of its best section."""
        return (
            # "哪三件事?" when the best article has exactly three sections asks for those sections
            (self._outline(scored, first, best) if count and len(self._heads(first[0])) == count else [])
            or self._siblings(first, ask, best)
            # "上CRM之前要做哪些准备工作?" restates the preparation article's title: its sections answer
            or (self._outline(scored, first, best) if self._restates_title(first[0], ask) else [])
            or self._list(first, scored)
            or (self._outline(scored, first, best) if self._about_article(scored, first[0], ask) else [])
        )

    def _pointed(self, scored: list[Scored], said: frozenset[tuple[str, int, int]]) -> list[Quote]:
        """The best sentences, each alone and not a quote already given as it is: the part of what was said
        that answers."""
        units = self.knowledge.sentences.units
        top = scored[0]
        quotes: list[Quote] = []
        for item in scored[:POINTED]:
            unit = units[item.index]
            if item.score < CLOSE * top.score or self._span(item.index) in said:
                continue
            if LEAD_IN.search(unit.text):  # "…的风险如下:" points at nothing without its items
                continue
            quotes.append(self._alone(item))
        return self._fit(quotes)

    def _alone(self, item: Scored) -> Quote:
        """Sentence ``item`` quoted as it is, nothing before or after it."""
        unit = self.knowledge.sentences.units[item.index]
        return Quote(
            unit.source, unit.start, unit.end, self.key(item.index)[1], item.score, item.dense, item.terms
        )

    def _with_items(self, quotes: list[Quote], best: Scored) -> list[Quote]:
        """``quotes`` fitted, where one that announces the items after it ("…需要注意以下几个方面的内容。",
        then 1、2、… on their own lines; a paragraph that bullets follow) is followed by them, each up to
        its first sentence: an announcement
        quoted alone tells the asker nothing. The items take only the room a list has beyond the quotes
        (they never push out a quote that was chosen for the question); an announcement none of whose items
        fits, or one from another section than the answer's first, is left out."""
        announced = {q: self._announced_items(q, best) for q in quotes}
        # a lead-in whose items the text lost keeps what it says before them, if anything
        said = [q if announced[q] else self._without_lost_lead_in(q) for q in quotes]
        quotes = [q for q in said if q is not None]
        lead_section = (quotes[0].source, quotes[0].section) if quotes else None
        kept = self._fit([q for q in quotes if (q.source, q.section) == lead_section or not announced.get(q)])
        for position, quote in enumerate(kept):
            items = self._announced_items(quote, best)  # _fit may have cut a run-on back: read it as kept
            # a conclusion that points back at the article's steps, leading the answer, is followed by them,
            # and they are the answer (as an outline is); it says something of its own ("…如果你在第一次就注意
            # 这些规则,也许就可以避免失败"), and stays where they do not fit or it does not lead
            recalled = not items and position == 0
            if recalled:
                items = self._recalled_items(quote, best)
            if not items:
                continue
            room = LIST_BUDGET - sum(q.end - q.start for q in kept)
            fitting: list[Quote] = []
            for item in items:
                if any(_overlap(q, item) for q in kept):
                    continue
                if item.end - item.start > room:
                    break  # a list is given in its order, or not past the point where it stops fitting
                fitting.append(item)
                room -= item.end - item.start
            if not fitting:
                return kept if recalled else kept[:position] + kept[position + 1 :]
            if recalled:
                return [quote, *fitting]
            return [*kept[: position + 1], *fitting, *kept[position + 1 :]]
        return kept

    def _without_lost_lead_in(self, quote: Quote) -> Quote | None:
        """``quote`` up to the clause that leads in to items the text lost ("项目经理是很重要的一个角色,本人认为
        必须具备3方面的能力:" and nothing after): what it says before that clause stands on its own; the
        lead-in promises what the asker will not find. None when nothing comes before it."""
        text = self._text(quote.source, quote.start, quote.end)
        lead = LEAD_IN.search(text)
        if lead is None:
            return quote
        cut = _last_clause_before(text, lead.start())
        if cut < 0 or len(text[:cut].strip()) < STATEMENT_CHARS:
            return None  # "认真思索后,总结出以下几方面的风险:": what comes before is no statement
        end = quote.start + len(text[:cut].rstrip())
        core_end = quote.core_end if quote.core_end is not None and quote.core_end < end else None
        return replace(quote, end=end, core_end=core_end)

    def lost_items(self, item: Scored) -> bool:
        """Whether sentence ``item`` announces items the text lost: "…必须具备3方面的能力:" and then the next
        question of its checklist. A lead-in that ends its section announces the sections after it
        ("总结出以下几方面的风险:"), which are there."""
        quote = self._alone(item)
        if not LEAD_IN.search(self._text(quote.source, quote.start, quote.end)):
            return False
        following = item.index + 1
        if following >= len(self.knowledge.sentences.units) or self.key(following) != self.key(item.index):
            return False
        return not self._announced_items(quote, item)

    def _announced_items(self, quote: Quote, best: Scored) -> list[Quote]:
        text = self._text(quote.source, quote.start, quote.end)
        sentences = split_sentences(text)
        last = text[sentences[-1][0] : sentences[-1][1]] if sentences else ""
        lines = self._list_lines(quote.source, quote.end)
        # copied text loses a lead-in's colon ("…最简单的规则,以解决…的大多数问题。" then • items): a
        # paragraph that marked items (•, 1.) follow at once introduces them all the same
        marked = len(lines) >= 2 and self._opens_list(quote, lines[0])
        if not (LEAD_IN.search(text) or _FOLLOWING.search(last) or marked):
            return []
        key = (quote.source, quote.section)
        if len(lines) >= 2:
            return [self._item(key, start, end, best) for start, end in lines]
        # "以下8个基本步骤可以帮助您。" announces the article's next eight headings: each step is a section
        count = count_asked(last)
        return self._heading_quotes(quote.source, self._announced_heads(quote, count), best) if count else []

    def _recalled_items(self, quote: Quote, best: Scored) -> list[Quote]:
        """The steps a conclusion points back at: "这几条简单的规则可以帮助你…挽救一个失败的CRM项目" closes the
        rescue article, and quoted alone promises rules it does not give. They are the article's sections
        before the last, which the quote is in."""
        if not _THOSE_STEPS.search(self._text(quote.source, quote.start, quote.end)):
            return []
        heads = self._heads(quote.source)
        if len(heads) <= 3 or heads[-1][0] != quote.section:
            return []
        return self._heading_quotes(quote.source, heads[:-1], best)

    def _opens_list(self, quote: Quote, first: tuple[int, int]) -> bool:
        """Whether marked items start at ``first`` (bullets, or numbers from 1) after a paragraph of
        ``quote``'s own: an item's last sentence followed by the next item is inside a list, not before it."""
        text = self.knowledge.documents[quote.source].text
        own_line = text[text.rfind("\n", 0, quote.start) + 1 : quote.end]
        head = text[first[0] : first[1]]
        if _ITEM.match(own_line) or not _ITEM.match(head):
            return False
        return item_number(head) in (None, 1)

    # -- sections -------------------------------------------------------------------------------------

    def key(self, index: int) -> SectionKey:
        source, chunk_id = self.knowledge.sentences.located(index)
        return source, self.knowledge.chunks[chunk_id].section

    def said(self, index: int, spans: frozenset[tuple[str, int, int]]) -> bool:
        """Whether sentence ``index`` was quoted in ``spans``."""
        return _within(self._span(index), spans)

    def unsaid(self, index: int, spans: frozenset[tuple[str, int, int]]) -> frozenset[tuple[str, int, int]]:
        """``spans`` without those that quoted sentence ``index``, which may then be quoted again."""
        return frozenset(span for span in spans if not _within(self._span(index), frozenset([span])))

    def same_paragraph(self, index: int, other: int) -> bool:
        """Whether sentences ``index`` and ``other`` are in one paragraph."""
        return self._in_paragraph(*sorted((index, other)))

    def _span(self, index: int) -> tuple[str, int, int]:
        unit = self.knowledge.sentences.units[index]
        return unit.source, unit.start, unit.end

    def _section_score(self, scored: list[Scored], key: SectionKey, ask: Ask) -> float:
        """A section's best sentence, helped a little by a second one (a section that answers holds more
        than one sentence on the point) and by a heading that names what is asked ("那技术层面呢?" is
        about "技术层面的风险", though another section's sentence mentions 技术层面 in passing)."""
        mine = [s.score for s in scored if self.key(s.index) == key][:2]
        # A heading that names all of it counts most: one that names part ("业务层面的风险" for "技术层面的风险
        # 有哪些?") is often a sibling of the section asked about.
        content = _content(ask)
        named = self._heading_names(key, content) if content.terms else 0.0
        whole = HEADING_WHOLE if content.terms and coverage(content, key[1]) >= 1.0 else 0.0
        return mine[0] + 0.2 * (mine[1] if len(mine) > 1 else 0.0) + HEADING_WEIGHT * named + whole

    def _heading_names(self, key: SectionKey, content: Ask) -> float:
        """The share of what is asked that the section's heading names, each term counting less the more of
        its article's headings name it: in "技术层面要检查哪些风险?" 层面 and 风险 are in every heading of the
        risks article and say nothing of which section is asked about; 技术 is in one."""
        headings = [section.split(SECTION_SEPARATOR)[-1].lower() for section, _ in self._heads(key[0])]
        heading = key[1].lower()
        weights = {
            term: weight / max(1, sum(content.holds(term, other) for other in headings))
            for term, weight in content.terms.items()
        }
        return sum(w for term, w in weights.items() if content.holds(term, heading)) / sum(weights.values())

    def _rank_sections(self, scored: list[Scored], ask: Ask) -> list[SectionKey]:
        keys = list(dict.fromkeys(self.key(s.index) for s in scored))
        return sorted(keys, key=lambda k: self._section_score(scored, k, ask), reverse=True)

    def _heading(self, key: SectionKey, top: Scored) -> Quote | None:
        span = self.knowledge.headings.get(key)
        if span is None:
            return None
        start, end = span
        text = self.knowledge.documents[key[0]].text[start:end]
        if not states_guidance(_NUMBERING.sub("", text.split("\n")[-1]).strip("。 ")):
            return None
        return Quote(key[0], start, end, key[1], top.score, top.dense, top.terms)

    def item_detail(
        self, item: Quote, exclude: frozenset[tuple[str, int, int]], whole: bool = False
    ) -> list[Quote]:
        """The sentences of a list item's line after those already given, in order; none for an item that
        is a heading (its section answers) or says nothing more. ``whole``: the item is what a list question
        asks for, and has a list's room."""
        if self.knowledge.headings.get((item.source, item.section), (-1, -1))[0] == item.start:
            return []
        line_end = _line_end(self.knowledge.documents[item.source].text, item.start)
        quotes = [
            q for q in self.sentences_in(item, line_end) if not _within((q.source, q.start, q.end), exclude)
        ]
        return self._fit(quotes, LIST_BUDGET, len(quotes)) if whole else self._fit(quotes)

    def sentences_in(self, quote: Quote, end: int | None = None) -> list[Quote]:
        """Each sentence from ``quote``'s start to ``end`` (the quote's own end by default), quoted alone
        under the quote's section and scores."""
        end = quote.end if end is None else end
        units = self.knowledge.sentences.units
        return [
            Quote(unit.source, unit.start, unit.end, quote.section, quote.score, quote.dense, quote.terms)
            for unit in (units[i] for i in self.knowledge.source_sentences.get(quote.source, []))
            if quote.start <= unit.start and unit.end <= end
        ]

    def items_in_full(self, items: list[Quote], said: frozenset[tuple[str, int, int]]) -> list[Quote]:
        """What "具体怎么做?" asks of a list whose items were cut short (``said``: the spans quoted): each
        numbered item up to the end of its line ("2. 项目方案是否可行?是否有应用案例?…"), and for an outline
        of headings, each heading's section as it opens ("设置客户流" → "重做CRM项目之前,应从客户群体的角度来
        体验客户的感受。"). None unless at least two say more, or when the sections' openings were given
        already."""
        units = self.knowledge.sentences.units
        whole = []
        for item in items:
            if self.knowledge.headings.get((item.source, item.section)) == (item.start, item.end):
                opening = self._opening(item)
                if opening is None:
                    continue
                if self.said(opening, said):
                    return []
                unit = units[opening]
                whole.append(replace(item, start=unit.start, end=unit.end, core_end=None))
                continue
            text = self.knowledge.documents[item.source].text
            line_end = _line_end(text, item.end)
            if item_number(text[item.start : item.end]) is None or not text[item.end : line_end].strip():
                continue
            whole.append(replace(item, end=line_end, core_end=None))
        # the article the list was from: an outline's stray section from another says nothing of its steps
        article = Counter(q.source for q in whole).most_common(1)[0][0] if whole else ""
        whole = [q for q in whole if q.source == article]
        return self._fit(whole, LIST_BUDGET, len(whole)) if len(whole) >= 2 else []

    # -- a quote made whole ---------------------------------------------------------------------------

    def _whole(self, item: Scored, kind: Kind, query: np.ndarray) -> Quote:
        """The sentence with what it needs to stand alone: the sentence before it when it points back, the
        answer after it when it is a question the article asks, the items after it when it leads a list,
        for a why question the reason the next sentences of its paragraph give for it, and otherwise the
        next sentence of its paragraph when the two together say more about the question than it alone."""
        units = self.knowledge.sentences.units
        first, last = self._series(item.index)
        opening, unit = units[first], units[last]
        start, end = opening.start, unit.end
        if (
            _POINTS_BACK.search(opening.text)
            and first > 0
            and self._in_paragraph(first - 1, first)
            and self.key(first - 1) == self.key(first)
        ):
            start = units[first - 1].start
        if _QUESTION.search(unit.text):
            end = self._reply_end(last) or end
        elif LEAD_IN.search(unit.text):
            end = self._items_end(last) or end
        elif kind == "why" and not _CAUSE.search(unit.text):
            end = self._reason_end(last) or end
        core_end = None
        if end == unit.end and (continued := self._continued_end(last, query)):
            end, core_end = continued, unit.end
        key = self.key(item.index)
        return Quote(unit.source, start, end, key[1], item.score, item.dense, item.terms, core_end)

    def _series(self, index: int) -> tuple[int, int]:
        """The first and last sentence of the series a sentence belongs to: the splitter ends a sentence at
        a semicolon, but "如通过…;如通过培训…;如…等等。" is one sentence, and a piece of it quoted alone stops
        mid-enumeration. A series longer than SERIES_CHARS is left in its pieces."""
        units = self.knowledge.sentences.units
        first = last = index
        while first > 0 and self._in_paragraph(first - 1, first) and _SERIES.search(units[first - 1].text):
            first -= 1
        while (
            last + 1 < len(units) and self._in_paragraph(last, last + 1) and _SERIES.search(units[last].text)
        ):
            last += 1
        if units[last].end - units[first].start > SERIES_CHARS:
            return index, index
        return first, last

    def _text(self, source: str, start: int, end: int) -> str:
        return self.knowledge.documents[source].text[start:end]

    def _in_paragraph(self, index: int, later: int) -> bool:
        """Whether sentence ``later`` follows sentence ``index`` in the same paragraph: same document, no
        line break between them."""
        units = self.knowledge.sentences.units
        unit, following = units[index], units[later]
        return following.source == unit.source and "\n" not in self._text(
            unit.source, unit.end, following.start
        )

    def _reason_end(self, index: int) -> int | None:
        """Where the reason for a statement ends, when one of the next two sentences of its paragraph gives
        it ("…注定要失败。因为从来没有…", "…越用越糟。这就是…原因…造成的。")."""
        units = self.knowledge.sentences.units
        for position in range(index + 1, min(index + 1 + REASON_REACH, len(units))):
            following = units[position]
            if not self._in_paragraph(index, position):
                return None
            if _CAUSE.search(following.text) or (
                position == index + 1 and _POINTS_BACK.search(following.text)
            ):
                return following.end
        return None

    def _continued_end(self, index: int, query: np.ndarray) -> int | None:
        """The end of the next sentence of the paragraph when the pair matches the question better than the
        sentence alone ("…责任。其实指责对任何人都没有好处。"): the statement and what it goes on to say."""
        units = self.knowledge.sentences.units
        if index + 1 >= len(units) or not self._in_paragraph(index, index + 1):
            return None
        if self.key(index + 1) != self.key(index):
            return None
        following = units[index + 1]
        # The mean of two e5 vectors stands in for the vector of the two sentences read together.
        vectors = self.knowledge.sentences.vectors
        pair = vectors[index] + vectors[index + 1]
        together = float(pair @ query) / float(np.linalg.norm(pair))
        return following.end if together > float(vectors[index] @ query) + CONTINUED_GAIN else None

    def _reply_end(self, index: int) -> int | None:
        """Where the answer the article gives its own question ends: the first following sentence on the
        same line, or opening the next one, that is not itself a question."""
        units = self.knowledge.sentences.units
        unit = units[index]
        for position in range(index + 1, min(index + 4, len(units))):
            following = units[position]
            gap = self._text(unit.source, units[position - 1].end, following.start)
            if following.source != unit.source or gap.count("\n") > 1:
                return None
            if "\n" in gap and position > index + 1:
                return None
            if not _QUESTION.search(following.text):
                return following.end
        return None

    def _items_end(self, index: int) -> int | None:
        """The end of the list a lead-in introduces: the lines after it up to a blank or a heading."""
        unit = self.knowledge.sentences.units[index]
        items = self._list_lines(unit.source, unit.end)
        return items[-1][1] if len(items) >= 2 and items[-1][1] - unit.start <= self.budget else None

    def _list_lines(self, source: str, after: int) -> list[tuple[int, int]]:
        """The item lines following ``after`` (the end of a lead-in) within its section."""
        text = self.knowledge.documents[source].text
        line_end = text.find("\n", after)
        if line_end < 0 or text[after:line_end].strip():
            return []
        headings = {s for s, _ in self.knowledge.source_headings.get(source, {}).values()}
        lines: list[tuple[int, int]] = []
        pos = line_end + 1
        numbered: bool | None = None
        asking: str | None = None
        while pos < len(text):
            stop = _line_end(text, pos)
            line = text[pos:stop]
            if not line.strip() or pos in headings:
                break
            is_item = bool(_ITEM.match(line))
            numbered = is_item if numbered is None else numbered
            # Marked items run until an unmarked line. Unmarked ones are lines alike: short lines that all
            # ask or all state (a question and its reply are prose), or paragraphs that each open with a
            # question ("您应该问以下这些问题:" and a paragraph on each).
            opens = _OPENS_WITH_QUESTION.match(line) is not None and len(line) > ITEM_CHARS
            asks = "opens" if opens else "asks" if _QUESTION.search(line) else "states"
            asking = asks if asking is None else asking
            if is_item != numbered or (
                not numbered and ((len(line) > ITEM_CHARS and not opens) or asks != asking)
            ):
                break
            lines.append((pos, stop))
            pos = stop + 1
        # A lead-in inside item 2 of a list, followed by item 3, lost its own items (copied text drops
        # them): what follows continues the enclosing list.
        own = item_number(text[text.rfind("\n", 0, after) + 1 : after])
        if lines and own is not None and item_number(text[lines[0][0] : lines[0][1]]) == own + 1:
            return []
        return lines

    # -- lists and outlines ---------------------------------------------------------------------------

    def _list(self, key: SectionKey, scored: list[Scored]) -> list[Quote]:
        """The list in the section, each item's first sentence under the sentence that leads it: the
        section's numbered items (1、2、3…) or else the lines after a lead-in ("…如下:")."""
        units = self.knowledge.sentences.units
        in_section = [i for i in self.knowledge.source_sentences.get(key[0], []) if self.key(i) == key]
        if not in_section:
            return []
        best = next(s for s in scored if self.key(s.index) == key)
        # the best sentence that lists on its own line answers, though it is an item of a longer list
        if own := self._inline_items(best.index):
            unit = units[best.index]
            lead_span = Quote(
                key[0], unit.start, unit.start + _colon(unit.text) + 1, key[1], best.score, best.dense,
                best.terms,
            )  # fmt: skip
            items = [self._item(key, start, end, best) for start, end in own]
            return self._fit([lead_span, *items], LIST_BUDGET, len(own) + 1)
        lines = self._numbered(key[0], units[in_section[0]].start, units[in_section[-1]].end)
        lead = None
        if lines:  # led by the best sentence before the items (the one that says what they are)
            before = [
                s.index for s in scored if self.key(s.index) == key and units[s.index].end <= lines[0][0]
            ]
            lead = before[0] if before else None
        lead_end = None
        if not lines:
            score_of = {s.index: s.score for s in scored}
            candidates = []
            for i in in_section:
                # the lines after a lead-in, or the items after its colon on its own line ("包括四个方面:一是…;
                # 二是…;三是…")
                inline = self._inline_items(i)
                if inline:
                    found, stop = inline, units[i].start + _colon(units[i].text) + 1
                elif LEAD_IN.search(units[i].text):
                    found, stop = self._list_lines(key[0], units[i].end), units[i].end
                else:
                    continue
                if len(found) >= 2:
                    inside = [
                        score_of.get(j, 0.0) for j in in_section if units[j].start < found[-1][1] and j >= i
                    ]
                    candidates.append((max(inside), i, found, stop))
            # Only a list on the point: the section's best sentence (or one close to it) leads it or is in it.
            if candidates and (chosen := max(candidates))[0] >= CLOSE * best.score:
                _, lead, lines, lead_end = chosen
        if len(lines) < 2:
            return []
        quotes = [self._item(key, start, end, best) for start, end in lines]
        if lead is not None:
            unit = units[lead]
            end = lead_end or unit.end
            quotes.insert(0, Quote(key[0], unit.start, end, key[1], best.score, best.dense, best.terms))
        return self._fit(quotes, LIST_BUDGET, len(quotes))

    def _named_item(self, scored: list[Scored], ask: Ask) -> list[Quote]:
        """The line of the one list item a question names ("专案规划与管理这个阶段要做哪些事?" and "2、项目规划和
        管理。项目规划和管理阶段…"): what it lists is that item's own sentences, not the list it belongs to.
        The item is on a line of its own, says more than its label, and the question names every word of
        the label."""
        units = self.knowledge.sentences.units
        spelled = " ".join(ask.spellings())
        for item in scored[:NAMED_ITEM_REACH]:
            unit = units[item.index]
            text = self.knowledge.documents[unit.source].text
            line_start = text.rfind("\n", 0, unit.start) + 1
            at = self._sentence_from(unit.source, line_start)
            if at is None or item_number(text[line_start : units[at].end]) is None:
                continue
            first = units[at]
            if self._inline_items(at):  # "3、销售和市场用户:…包括:是否方便学习?…" lists on its line: a list
                continue
            # "4、财务方面:财务团队人员应当…" is labelled up to its colon, and says more after it
            label_text, *after = re.split(r"[::]", _NUMBERING.sub("", first.text.strip()), maxsplit=1)
            label = _content(analyse(label_text, "zh-Hans", Glossary({})))
            if not label.terms or coverage(label, spelled) < 1.0:
                continue
            key = self.key(item.index)
            detail = self.item_detail(
                Quote(key[0], first.start, first.end, key[1], item.score, item.dense, item.terms),
                frozenset(),
                whole=True,
            )
            says_more = len(detail) >= 2 or len("".join(after).strip()) >= STATEMENT_CHARS
            return detail if says_more else []
        return []

    def _inline_items(self, index: int) -> list[tuple[int, int]]:
        """The items a sentence lists after its colon and goes on listing on its line, each a short sentence
        ("…包括:是否方便学习?是否方便使用?…"): at least three, or none."""
        units = self.knowledge.sentences.units
        unit = units[index]
        colon = _colon(unit.text)
        if colon < 0 or not unit.text[colon + 1 :].strip() or len(unit.text) - colon > ITEM_CHARS:
            return []
        items = [(unit.start + colon + 1, unit.end)]
        following = index + 1
        while (
            following < len(units)
            and units[following].source == unit.source
            and "\n" not in self._text(unit.source, units[following - 1].end, units[following].start)
            and len(units[following].text) <= ITEM_CHARS
        ):
            items.append((units[following].start, units[following].end))
            following += 1
        return items if len(items) >= 3 else []

    def _announced(self, scored: list[Scored], count: int) -> list[Quote]:
        """The items an article announces, for a list question that says how many it expects ("实施要走哪七
        个阶段?" and "…应包括如下七个战略阶段:"): the list after the best sentence that announces that many,
        or the article's next headings when the announcement leads its steps ("以下8个基本步骤…")."""
        units = self.knowledge.sentences.units
        for item in scored:
            unit = units[item.index]
            if not _FOLLOWING.search(unit.text) or count_asked(unit.text) != count:
                continue
            key = self.key(item.index)
            lead = self._alone(item)
            lines = self._list_lines(unit.source, unit.end)
            if len(lines) >= count:
                items = [self._item(key, start, end, item) for start, end in lines[:count]]
                return self._fit([lead, *items], LIST_BUDGET, count + 1)
            if steps := self._heading_quotes(unit.source, self._announced_heads(lead, count), item):
                return self._fit([lead, *steps], LIST_BUDGET, count + 1)
        return []

    def _numbered(self, source: str, start: int, end: int) -> list[tuple[int, int]]:
        """Lines between ``start`` and ``end`` numbered 1, 2, 3… in sequence (the first such run), or else
        the first run of two or more bulleted lines ("• 不要节省训练。…")."""
        text = self.knowledge.documents[source].text
        lines: list[tuple[int, int]] = []
        bullets: list[tuple[int, int]] = []
        run: list[tuple[int, int]] = []
        pos = text.rfind("\n", 0, start) + 1
        while pos < end:
            stop = _line_end(text, pos)
            line = text[pos:stop]
            span = (pos + len(line) - len(line.lstrip()), stop)
            number = re.match(r"\s*(\d{1,2})[、.)](?!\d)", line)
            if number and int(number.group(1)) == len(lines) + 1:
                lines.append(span)
            if _BULLET.match(line):
                run.append(span)
            elif line.strip():
                bullets = bullets or (run if len(run) >= 2 else [])
                run = []
            pos = stop + 1
        return lines or bullets or (run if len(run) >= 2 else [])

    def _item(self, key: SectionKey, start: int, end: int, best: Scored) -> Quote:
        """An item up to its first sentence's end; up to its first clause when that is long; and short of
        a list of its own ("3、销售和市场用户:用户将在几方面评估CRM系统,包括:是否方便学习?" stops before 包括:)."""
        line = self._text(key[0], start, end)
        stop = re.search(r"[。!?;!?;]", line)
        cut = stop.end() if stop else len(line)
        colons = [m.start() for m in re.finditer(r"[::]", line[:cut])]
        if len(colons) >= 2 and (nested := _last_clause_before(line, colons[1])) > colons[0]:
            cut = nested
        elif cut > ITEM_CHARS:
            clause = _CLAUSE.search(line, 8)
            cut = clause.start() if clause and clause.start() <= ITEM_CHARS else cut
        return Quote(
            key[0], start, start + len(line[:cut].rstrip()), key[1], best.score, best.dense, best.terms
        )

    def _titled(self, source: str, ask: Ask) -> bool:
        """Whether the question restates the article's title: the title names everything ``ask`` is about,
        and ``ask`` names all the title is about ("What should we do first after a project fails?" asks
        one thing about failure, not how to rescue a failed project)."""
        content = _content(ask)
        title = self.knowledge.documents[source].title
        if not content.terms or coverage(content, title) < 1.0:
            return False
        about = _content(analyse(title, "zh-Hans", Glossary({})))
        return coverage(about, " ".join(content.spellings())) >= 1.0

    def _restates_title(self, source: str, ask: Ask) -> bool:
        """Whether the question asks what the article as a whole answers: it restates the title, and no
        heading of the article names part of it (which would be the section asked about)."""
        return self._titled(source, ask) and not self._headed(source, ask)

    def _about_article(self, scored: list[Scored], source: str, ask: Ask) -> bool:
        """Whether a list question asks for the article's own steps rather than one section's content: no
        heading of the article names what is asked, and either its lead names most of it or no sentence
        holds all of it (a sentence that did would be the answer). The lead says what the whole article
        answers: "看看该如何对CRM项目进行收尾" opens the close-out article, so "收尾时要考虑哪些问题?" asks for its
        sections, though a passing sentence ("在项目收尾之前,需要考虑的") holds both words. A sentence holding
        most of it answers, not only one holding every word: "评估方案的时候,一个完整的CRM解决方案由几部分组成?"
        is "CRM全面解决方案应由三部分组成?软件、技术以及供应商", though no sentence says 完整."""
        if self._headed(source, ask):
            return False
        content = _content(ask)
        if content.terms and coverage(content, self._lead(source)) >= LEAD_COVERAGE:
            return True
        return all(s.terms < HOLDS_MOST for s in scored if self.key(s.index)[0] == source)

    def _lead(self, source: str) -> str:
        """The article's title and the text before its first heading, where it says what it is about."""
        document = self.knowledge.documents[source]
        heads = self._heads(source)
        return f"{document.title} {document.text[: heads[0][1][0] if heads else 0]}"

    def _headed(self, source: str, ask: Ask) -> bool:
        """Whether a heading of the article names part of what is asked."""
        content = _content(ask).terms
        headings = self.knowledge.source_headings.get(source, {})
        return any(term in heading.lower() for heading in headings for term in content)

    def _outline(self, scored: list[Scored], first: SectionKey, best: Scored) -> list[Quote]:
        """The article's own steps: each section heading in order, for a list question whose best section
        holds no list of its own; when a sentence of the article announces how many steps follow ("以下8个
        基本步骤…"), that many, under it."""
        source = first[0]
        heads = self._heads(source)
        starts = {start for _, (start, _) in heads}
        units = self.knowledge.sentences.units
        for index in self.knowledge.source_sentences.get(source, []):
            unit = units[index]
            if _FOLLOWING.search(unit.text) and (count := count_asked(unit.text)):
                announced = self._announced([replace(best, index=index)], count)
                if announced and all(q.start in starts for q in announced[1:]):
                    return announced
        if len(heads) < 3:
            return []
        return self._heading_quotes(source, heads, best)

    def _siblings(self, first: SectionKey, ask: Ask, best: Scored) -> list[Quote]:
        """The headings of the best article that each name all a list question asks about, when more than
        one does: "实施CRM有哪些风险?" is answered by 业务/管理/技术层面的风险, not by one of those lists."""
        content = _content(ask)
        if not content.terms:
            return []
        # Siblings name the same terms of the question (风险); a qualifier none of them holds ("常见") picks
        # none of them, and headings naming different terms (需求 in one, 实施 in another) are no family.
        named_by: dict[frozenset[str], list[tuple[str, tuple[int, int]]]] = {}
        for section, span in self._heads(first[0]):
            heading = section.split(SECTION_SEPARATOR)[-1].lower()
            held = frozenset(t for t in content.terms if t in heading)
            if held:
                named_by.setdefault(held, []).append((section, span))
        total = sum(content.terms.values())
        share_of = {held: sum(content.terms[t] for t in held) / total for held in named_by}
        families = [(share_of[held], heads) for held, heads in named_by.items() if len(heads) >= 2]
        share, named = max(families, default=(0.0, []), key=lambda family: family[0])
        # a heading naming more of it than the family ("管理层面的风险" for 管理上的风险) is the one asked about
        if share < SIBLING_COVERAGE or share < max(share_of.values(), default=0.0):
            return []
        return self._opened(self._fit(self._heading_quotes(first[0], named, best), LIST_BUDGET, len(named)))

    def _opened(self, heads: list[Quote]) -> list[Quote]:
        """Each heading followed by its section's first sentence, when all of them fit a list's budget: a
        bare heading ("管理层面的风险") names an item without saying anything about it. A first sentence that
        only leads into what follows adds nothing on its own, and its heading stands alone."""
        units = self.knowledge.sentences.units
        opened: list[Quote] = []
        for head in heads:
            opened.append(head)
            first = self._opening(head)
            if first is None:
                continue
            unit = units[first]
            if not LEAD_IN.search(unit.text) and not _POINTS_BACK.search(unit.text):
                opened.append(replace(head, start=unit.start, end=unit.end))
        if sum(q.end - q.start for q in opened) > LIST_BUDGET:
            return heads
        return opened

    def _opening(self, head: Quote) -> int | None:
        """The first sentence of the section a quoted heading heads; None when the section has none."""
        first = self._sentence_from(head.source, head.end)
        return first if first is not None and self.key(first) == (head.source, head.section) else None

    def _sentence_from(self, source: str, position: int) -> int | None:
        """The first sentence of ``source`` that starts at or after ``position``."""
        units = self.knowledge.sentences.units
        return next(
            (i for i in self.knowledge.source_sentences.get(source, []) if units[i].start >= position), None
        )

    def _announced_heads(self, lead: Quote, count: int) -> list[tuple[str, tuple[int, int]]]:
        """The ``count`` headings after ``lead``, which announces that many steps; none when the article has
        fewer."""
        heads = [(section, span) for section, span in self._heads(lead.source) if span[0] > lead.end]
        return heads[:count] if len(heads) >= count else []

    @staticmethod
    def _heading_quotes(
        source: str, heads: list[tuple[str, tuple[int, int]]], by: Scored | Quote
    ) -> list[Quote]:
        """Each heading of ``heads`` quoted as its section's item, scored as ``by``."""
        return [
            Quote(source, start, end, section, by.score, by.dense, by.terms)
            for section, (start, end) in heads
        ]

    def _heads(self, source: str) -> list[tuple[str, tuple[int, int]]]:
        """The article's headed sections in reading order, each with its heading's span."""
        order = self.knowledge.section_order().get(source, [])
        return [
            (section, span)
            for section in order
            if section and (span := self.knowledge.headings.get((source, section)))
        ]

    def _fit(self, quotes: list[Quote], budget: int | None = None, most: int | None = None) -> list[Quote]:
        """No quote twice or inside another, one that overlaps a kept quote widening it; within the budget
        and the count."""
        kept: list[Quote] = []
        budget = budget or self.budget
        for quote in quotes:
            room = budget - sum(q.end - q.start for q in kept)
            if overlapped := [q for q in kept if _overlap(q, quote)]:
                # a sentence quoted with the one before it that was chosen too ("…最大的误区。" running on to
                # "因为项目上线,…"): one passage, read in order, the earlier quote widened to hold both
                held = overlapped[0]
                union = replace(
                    held, start=min(held.start, quote.start), end=max(held.end, quote.end), core_end=None
                )
                grown = (union.end - union.start) - (held.end - held.start)
                if len(overlapped) == 1 and 0 < grown <= room:
                    kept[kept.index(held)] = union
                continue
            if kept and len(kept) >= (most or self.most):
                continue
            size = quote.end - quote.start
            # a quote the earlier ones ran on to make room for is worth more than their run-on
            spare = sum(q.end - q.core_end for q in kept if q.core_end is not None)
            if kept and size > room:
                if size > room + spare:
                    continue
                kept = [
                    replace(q, end=q.core_end, core_end=None) if q.core_end is not None else q for q in kept
                ]
            kept.append(quote)
        return kept


def gives_reason(text: str) -> bool:
    """Whether ``text`` states a cause or a reason ("因为…", "…导致…", "because")."""
    return bool(_CAUSE.search(text))


def _content(ask: Ask) -> Ask:
    """``ask`` without the words that only name the kind of answer wanted (原因, 步骤)."""
    return replace(ask, terms={t: w for t, w in ask.terms.items() if w > 1})


@cache
def states_guidance(heading: str) -> bool:
    if len(heading) < GUIDING_HEADING:
        return False
    if not re.search(r"[\u4e00-\u9fff]", heading):
        # English labels a topic in Title Case ("When to Refresh a Sandbox"); guidance is written as a
        # sentence ("Never refresh during a test cycle").
        long_words = [w for w in re.findall(r"[A-Za-z]+", heading) if len(w) >= 4]
        return not (len(long_words) >= 2 and all(w[0].isupper() for w in long_words))
    # "这次请遵守下列规则" says only that guidance follows, and "集中你所有的" was cut off in the source: read
    # alone, neither says anything, so the sentences under them answer instead
    if _FOLLOWING.search(heading):
        return False
    words = list(posseg().cut(heading))  # type: ignore[attr-defined]
    if words and words[-1].flag.startswith("u"):
        return False
    if _VERDICT.search(heading):
        return True
    first = words[0].flag if words else ""
    return first in _PREDICATE_FLAGS or (first == "vn" and "的" not in heading)


def _last_clause_before(text: str, position: int) -> int:
    """Where the last clause before ``position`` ends (-1 when none does)."""
    ends = [m.start() for m in _CLAUSE.finditer(text, 0, position)]
    return ends[-1] if ends else -1


def _colon(text: str) -> int:
    return max(text.rfind(":"), text.rfind(":"))


def leads_items(text: str) -> bool:
    """Whether a sentence introduces the items after it: a lead-in ("…如下:") or one that announces how
    many follow ("以下8个基本步骤可以帮助您。")."""
    return bool(LEAD_IN.search(text) or (_FOLLOWING.search(text) and count_asked(text)))


def item_number(text: str) -> int | None:
    """The number an item opens with ("5、", "(2)", "三、"), if any."""
    match = re.match(r"\s*[((]?(\d{1,2}|[一二三四五六七八九十])[、.))]", text)
    return numeral(match.group(1)) if match else None


def _line_end(text: str, position: int) -> int:
    """Where the line holding ``position`` ends (the end of ``text`` for its last line)."""
    end = text.find("\n", position)
    return len(text) if end < 0 else end


def _overlap(a: Quote, b: Quote) -> bool:
    return a.source == b.source and a.start < b.end and b.start < a.end


def _within(span: tuple[str, int, int], spans: frozenset[tuple[str, int, int]]) -> bool:
    source, start, end = span
    return any(s == source and a <= start and end <= b for s, a, b in spans)
