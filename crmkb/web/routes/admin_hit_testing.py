"""The admin console's Hit testing page (/admin/hit-testing): one question, and how it was answered.

The answer is the one the bot serves (``Bot.ask``, curated answers and the configured mode included),
not recorded as a conversation. Beside it, the extractive answerer's evidence for the same question,
gathered again with a :class:`~crmkb.bot.trace.Trace`: the chunks retrieval found (dense, BM25 and fused
scores), the sentences scored and the parts of each score, the ones chosen, and the refusal reason with
the thresholds it is judged against.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from crmkb.bot.extractive import (
    CONTEXT_WEIGHT,
    DENSE_FLOOR,
    DENSE_SPAN,
    DENSE_WEIGHT,
    RANK_WEIGHT,
    TERM_WEIGHT,
)
from crmkb.bot.service import Bot, clean_question, recent_history
from crmkb.bot.trace import Trace
from crmkb.web.admin_auth import AdminRoute
from crmkb.web.deps import BotDep
from crmkb.web.schemas import AskResponse

router = APIRouter(prefix="/api/admin/hit-testing", tags=["admin"], route_class=AdminRoute)
SHOWN_SENTENCES = 15
FORMULA = (
    f"score = {DENSE_WEIGHT} × dense (mapped from {DENSE_FLOOR}–{DENSE_FLOOR + DENSE_SPAN:.2f} onto 0–1) "
    f"+ {TERM_WEIGHT} × the mean of terms and terms under heading + {CONTEXT_WEIGHT} × chunk "
    f"+ {RANK_WEIGHT} / rank"
)


class HitTest(BaseModel):
    question: str
    history: list[str] = Field(
        default_factory=list, max_length=20, description="Earlier questions, oldest first."
    )

    @field_validator("question")
    @classmethod
    def _clean(cls, value: str) -> str:
        return clean_question(value)

    @field_validator("history")
    @classmethod
    def _recent(cls, value: list[str]) -> list[str]:
        return recent_history(value)


class ChunkHit(BaseModel):
    rank: int
    chunk_id: str
    source: str
    title: str
    section: str
    text: str
    dense: float = Field(description="Cosine similarity to the question (0: found by BM25 only).")
    bm25: float = Field(description="BM25 score (0: found by the dense search only).")
    fused: float = Field(description="The fused score that ranked it (reciprocal rank or weighted).")


class SentenceRow(BaseModel):
    text: str
    source: str
    section: str
    score: float
    dense: float
    terms: float
    heading_terms: float
    context: float
    rank: int
    chosen: bool = Field(
        description="Quoted in the extractive answer; with a refusal, what it would have quoted, judged not to answer."
    )


class HitTestResult(BaseModel):
    question: str
    served: AskResponse = Field(description="The answer the bot serves for this question (not recorded).")
    curated: bool
    language: str
    terms: dict[str, float] = Field(description="The question's informative terms and their weights.")
    unknown: list[str] = Field(description="Terms the knowledge base never uses (a refusal when any).")
    known: list[str] = Field(description="The terms the knowledge base uses: only these can match evidence.")
    query_text: str
    keywords: str
    fusion: str
    hits: list[ChunkHit]
    sentences: list[SentenceRow] = Field(description=f"The {SHOWN_SENTENCES} best-scored sentences.")
    sentences_scored: int
    formula: str = Field(default=FORMULA, description="How a sentence's score is made of its parts.")
    refusal_reason: str | None = Field(
        description="Why the extractive answerer refuses; null when it answers."
    )
    thresholds: dict[str, float]


def _hit_test(bot: Bot, body: HitTest) -> HitTestResult:
    served = bot.ask(body.question, history=body.history)
    answerer = bot.load()
    trace = Trace()
    evidence = answerer.gather(body.question, body.history, trace=trace)
    knowledge = answerer.knowledge
    units = knowledge.sentences.units
    quoted = [(q.source, q.start, q.end) for q in evidence.chosen]

    def chosen(i: int) -> bool:
        unit = units[i]
        return any(s == unit.source and a <= unit.start and unit.end <= b for s, a, b in quoted)

    best = sorted(trace.sentences, key=lambda s: s.score, reverse=True)
    settings = bot.settings.answer
    return HitTestResult(
        question=body.question,
        served=AskResponse.from_answer(served),
        curated=served.curated,
        language=evidence.language,
        terms=dict(evidence.ask.terms),
        unknown=list(answerer.vocabulary.unknown(evidence.ask)),
        known=list(answerer.vocabulary.known_terms(evidence.ask).terms),
        query_text=trace.query_text,
        keywords=trace.keywords,
        fusion=settings.fusion,
        hits=[ChunkHit(rank=n, chunk_id=h.chunk.id, source=h.chunk.source, title=h.chunk.title, section=h.chunk.section,
                       text=h.chunk.text, dense=h.dense, bm25=h.sparse, fused=h.fused)
              for n, h in enumerate(evidence.hits, 1)],
        sentences=[SentenceRow(text=units[s.index].text, source=units[s.index].source,
                               section=knowledge.chunks[units[s.index].chunk_id].section, score=s.score, dense=s.dense,
                               terms=s.terms, heading_terms=s.heading_terms, context=s.context, rank=s.rank,
                               chosen=chosen(s.index))
                   for s in best[:SHOWN_SENTENCES]],
        sentences_scored=len(best),
        refusal_reason=evidence.refusal_reason,
        thresholds={"min_dense": settings.min_dense, "min_coverage": settings.min_coverage,
                    "meaning_only_dense": settings.meaning_only_dense, "strong_dense": settings.strong_dense},
    )  # fmt: skip


@router.post("", response_model=HitTestResult)
async def hit_test(body: HitTest, bot: BotDep) -> HitTestResult:
    return await run_in_threadpool(_hit_test, bot, body)
