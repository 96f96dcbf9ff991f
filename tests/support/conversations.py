"""Recorded answers for the admin console's Conversations, Gaps and Dashboard tests: written into a feedback
store as the channels write them, then dated where the test says."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from functools import partial

from crmkb.bot.schemas import Answer, Declined
from crmkb.feedback_store import FeedbackStore, Rating

DAY_S = 86_400


@dataclass(frozen=True)
class Served:
    question: str
    answered: bool = True
    channel: str = "web"
    language: str = "zh-Hans"
    curated: bool = False
    latency_ms: float = 100.0
    rating: Rating | None = None
    comment: str = ""
    days_ago: float = 0.0
    user_id: str | None = None
    answer: str = ""
    declined: Declined | None = None  # why it was not answered; None: not covered, when unanswered


def seed(store: FeedbackStore, served: list[Served], *, now: float | None = None) -> list[str]:
    """Record each answer (its rating too), asked ``days_ago`` before ``now``; their ids, in order."""
    now = time.time() if now is None else now
    ids = []
    for s in served:
        answer = Answer(question=s.question, answer=s.answer or (f"答:{s.question}" if s.answered else "无法回答"),
                        answerable=s.answered, language=s.language, mode="extractive", curated=s.curated,  # type: ignore[arg-type]
                        latency_ms=s.latency_ms, declined=s.declined)  # fmt: skip
        answer_id = store.record(answer, s.channel, user_id=s.user_id)
        if s.rating:
            store.rate(answer_id, s.rating, s.comment, channel=s.channel, rater="r1")
        created = now - s.days_ago * DAY_S
        store.transaction(partial(_date, answer_id=answer_id, created=created))
        ids.append(answer_id)
    return ids


def _date(db: sqlite3.Connection, *, answer_id: str, created: float) -> None:
    db.execute("UPDATE answers SET created = ? WHERE id = ?", (created, answer_id))
