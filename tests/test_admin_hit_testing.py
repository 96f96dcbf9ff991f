"""Hit testing over real HTTP: sign-in and CSRF, the served answer beside the evidence that made it
(chunks with dense, BM25 and fused scores, sentences with the parts of their scores, the chosen ones, the
refusal reason), and the trace that records it leaving every answer as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crmkb.bot.extractive import CONTEXT_WEIGHT, DENSE_WEIGHT, RANK_WEIGHT, TERM_WEIGHT, _scaled
from crmkb.bot.service import Bot
from crmkb.bot.trace import Trace
from crmkb.core.settings import Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.web.admin_auth import CSRF_HEADER
from crmkb.web.app import FEEDBACK_DB
from tests.support.admin import Console, console, private

API = "/api/admin/hit-testing"
ANSWERED = "CRM项目结束时要注意什么?"
REFUSED = "火星上的天气怎么样?"
QUESTIONS = [
    ANSWERED,
    REFUSED,
    "项目预算中软件成本占多少?",
    "CRM项目失败的主要原因是什么?",
    "实施CRM需要哪些准备?",
]


def answering(settings: Settings) -> Settings:
    """The fake embedder's similarities are far below e5's: with the dense floor at 0 the bot answers."""
    return settings.model_copy(update={"answer": settings.answer.model_copy(update={"min_dense": 0.0})})


@pytest.fixture(scope="module")
def indexed(hash_index: Settings) -> Settings:
    return answering(hash_index)


@pytest.fixture
def admin(indexed: Settings, tmp_path: Path) -> Iterator[Console]:
    with console(private(indexed, tmp_path)) as signed_in:
        yield signed_in


def hit_test(admin: Console, question: str) -> dict[str, Any]:
    response = admin.change("POST", API, json={"question": question})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_hit_testing_needs_a_session_and_the_csrf_token(admin: Console) -> None:
    assert httpx.post(f"{admin.url}{API}", json={"question": ANSWERED}).status_code == 401
    for headers in ({}, {CSRF_HEADER: "0" * 64}):
        refused = admin.client.post(API, json={"question": ANSWERED}, headers=headers)
        assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert admin.change("POST", API, json={"question": "  "}).status_code == 422


def test_an_answer_is_shown_with_the_chunks_and_sentences_that_made_it(admin: Console) -> None:
    result = hit_test(admin, ANSWERED)
    asked = httpx.post(f"{admin.url}/api/ask", json={"question": ANSWERED}, timeout=30).json()
    served = result["served"]
    assert served["answerable"] is True and result["refusal_reason"] is None
    assert (served["answer"], served["citations"]) == (asked["answer"], asked["citations"])
    admin.recorded()
    store = FeedbackStore(admin.bot.settings.data_dir / FEEDBACK_DB)
    assert store.answer(served["id"]) is None and store.answer(asked["id"]) is not None  # a test, not traffic

    hits = result["hits"]
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1)) and len(hits) == 5
    assert [h["fused"] for h in hits] == sorted((h["fused"] for h in hits), reverse=True)
    assert any(h["dense"] != 0 for h in hits) and any(h["bm25"] > 0 for h in hits)
    chunks = admin.bot.load().knowledge.chunks
    assert all(chunks[h["chunk_id"]].text == h["text"] for h in hits)

    sentences = result["sentences"]
    assert result["sentences_scored"] >= len(sentences) == 15
    assert [s["score"] for s in sentences] == sorted((s["score"] for s in sentences), reverse=True)
    for s in sentences:  # the parts shown are the parts the score was made of
        made = (DENSE_WEIGHT * _scaled(s["dense"]) + TERM_WEIGHT * (s["terms"] + s["heading_terms"]) / 2
                + CONTEXT_WEIGHT * s["context"] + RANK_WEIGHT / (1 + s["rank"]))  # fmt: skip
        assert made == pytest.approx(s["score"])
    chosen = [s["text"] for s in sentences if s["chosen"]]
    assert chosen and all(any(text in c["quote"] for c in served["citations"]) for text in chosen)
    assert result["known"] and set(result["known"]) <= set(result["terms"])
    assert ANSWERED.rstrip("?") in result["keywords"]
    assert "score = 0.6 × dense" in result["formula"]


def test_a_refusal_shows_its_reason(admin: Console) -> None:
    result = hit_test(admin, REFUSED)
    assert result["served"]["answerable"] is False
    assert result["refusal_reason"] == "nothing the knowledge base says is asked about"
    assert result["hits"] and result["sentences"]  # retrieval still found what was nearest
    assert result["terms"] and result["known"] == []  # 火星, 天气: words no article uses
    assert result["thresholds"]["min_dense"] == 0.0


def test_a_trace_records_without_changing_any_answer(indexed: Settings) -> None:
    bot = Bot(indexed, embeddings=HashEmbeddings())
    answerer = bot.load()
    for question in QUESTIONS:
        plain = answerer.gather(question)
        trace = Trace()
        traced = answerer.gather(question, trace=trace)
        assert traced == plain and answerer.render(question, traced) == answerer.render(question, plain)
        assert trace.sentences and trace.query_text and trace.keywords
    follow_up = Trace()
    assert answerer.gather("为什么?", [ANSWERED], trace=follow_up) == answerer.gather("为什么?", [ANSWERED])
    assert follow_up.sentences  # the follow-up's own scoring, not the earlier question's


def test_a_follow_up_is_tested_with_the_questions_before_it(admin: Console) -> None:
    alone = hit_test(admin, "为什么?")
    response = admin.change("POST", API, json={"question": "为什么?", "history": [ANSWERED]})
    follow_up = response.json()
    assert alone["refusal_reason"] == "nothing specific asked" and alone["served"]["answerable"] is False
    assert follow_up["served"]["answer"] == admin.bot.ask("为什么?", history=[ANSWERED]).answer
    assert follow_up["served"]["answer"] != alone["served"]["answer"] and follow_up["terms"]
