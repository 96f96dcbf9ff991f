"""The admin console's dashboard figures: per day and per channel, how many questions, answered or refused
(not covered by the knowledge base: a reply to a greeting or thanks is neither),
curated-answer hits, 👍 and 👎, and the p50/p95 answer time.

Counts are summed by SQLite (one grouped query over the period, served by the index on ``created``); the
percentiles need the times themselves, which are read as one float column and ranked by numpy.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np

from crmkb.feedback_store import REFUSED_SQL, FeedbackStore

DAY_S = 86_400
_COUNTS = f"""
SELECT CAST((a.created - ?) / 86400 AS INTEGER) AS day, a.channel, COUNT(*), SUM(a.answerable),
       SUM({REFUSED_SQL}), SUM(a.curated),
       SUM(EXISTS (SELECT 1 FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'up')),
       SUM(EXISTS (SELECT 1 FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'down'))
FROM answers a WHERE a.created >= ? AND a.created < ? GROUP BY day, a.channel
"""
_TIMES = (
    "SELECT a.channel, a.latency_ms FROM answers a "
    "WHERE a.created >= ? AND a.created < ? AND a.latency_ms IS NOT NULL"
)


@dataclass
class Tally:
    questions: int = 0
    answered: int = 0
    refused: int = 0
    curated: int = 0
    up: int = 0  # answers with at least one 👍
    down: int = 0  # answers with at least one 👎

    def add(self, other: Tally) -> None:
        for name in ("questions", "answered", "refused", "curated", "up", "down"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class ChannelSummary:
    channel: str
    tally: Tally = field(default_factory=Tally)
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass
class Dashboard:
    start: float  # epoch seconds of the first day's midnight (UTC)
    days: list[Tally]  # one per day from ``start``, all channels
    daily_by_channel: dict[str, list[Tally]]
    channels: list[ChannelSummary]  # each channel over the period, then "all"


def _percentiles(times: list[float]) -> tuple[float | None, float | None]:
    if not times:
        return None, None
    p50, p95 = np.percentile(np.asarray(times, dtype=np.float64), [50, 95])
    return round(float(p50), 1), round(float(p95), 1)


def dashboard(store: FeedbackStore, *, start: float, days: int) -> Dashboard:
    """The figures for ``days`` days from ``start`` (a UTC midnight)."""
    end = start + days * DAY_S

    def work(
        db: sqlite3.Connection,
    ) -> tuple[list[tuple[int, str, int, int, int, int, int, int]], list[tuple[str, float]]]:
        return db.execute(_COUNTS, (start, start, end)).fetchall(), db.execute(
            _TIMES, (start, end)
        ).fetchall()

    counts, times = store.transaction(work)
    total = [Tally() for _ in range(days)]
    by_channel: dict[str, list[Tally]] = {}
    for day, channel, questions, answered, refused, curated, up, down in counts:
        tally = Tally(questions, answered, refused, curated, up, down)
        by_channel.setdefault(channel, [Tally() for _ in range(days)])[day].add(tally)
        total[day].add(tally)
    channel_times: dict[str, list[float]] = {}
    for channel, ms in times:
        channel_times.setdefault(channel, []).append(ms)
    summaries = []
    for channel in sorted(by_channel):
        summary = ChannelSummary(channel)
        for tally in by_channel[channel]:
            summary.tally.add(tally)
        summary.p50_ms, summary.p95_ms = _percentiles(channel_times.get(channel, []))
        summaries.append(summary)
    overall = ChannelSummary("all")
    for tally in total:
        overall.tally.add(tally)
    overall.p50_ms, overall.p95_ms = _percentiles([ms for _, ms in times])
    return Dashboard(start=start, days=total, daily_by_channel=by_channel, channels=[*summaries, overall])
