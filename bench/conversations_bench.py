"""Conversations and Dashboard benchmark: the admin console's reads over a feedback store of 100,000
answers, beside a naive baseline that loads every answer and filters and pages in Python, in one run.

Figures (median of 5 runs, seconds): the first page unfiltered; the first page of a channel filter; a text
search; a 👎 filter; a deep page (offset 90,000); the CSV of the whole store; the 30-day dashboard.

Usage: python bench/conversations_bench.py [--answers 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crmkb.feedback_store import FeedbackStore  # noqa: E402
from crmkb.insights.conversations import DAY_S, ConversationLog, Filters  # noqa: E402
from crmkb.insights.dashboard import dashboard  # noqa: E402

CHANNELS = ("web", "web", "web", "slack", "cli")


def fill(store: FeedbackStore, answers: int) -> None:
    now = time.time()
    rows = [(uuid.uuid4().hex, now - i * 60 * DAY_S / answers, CHANNELS[i % 5], f"问题{i}:数据迁移怎么做?",
             "答:先清洗数据。[1]" * 5, int(i % 7 != 0), "zh-Hans", "extractive", "[]", i % 11 == 0, 20.0 + i % 50)
            for i in range(answers)]  # fmt: skip
    insert = ("INSERT INTO answers (id, created, channel, question, answer, answerable, language, mode, citations, "
              "curated, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")  # fmt: skip
    ratings = [(now, r[0], "down" if n % 3 else "up", "", "web", "r") for n, r in enumerate(rows[::50])]
    rate = (
        "INSERT INTO feedback (created, answer_id, rating, comment, channel, rater) VALUES (?, ?, ?, ?, ?, ?)"
    )

    def work(db: sqlite3.Connection) -> None:
        db.executemany(insert, rows)
        db.executemany(rate, ratings)

    store.transaction(work)


def median(work: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def naive(store: FeedbackStore, keep: Callable[[tuple[object, ...]], bool], offset: int = 0) -> list[object]:
    """The baseline: every answer with its ratings read, then filtered and paged in Python."""
    rows = store.transaction(
        lambda db: db.execute(
            "SELECT a.*, (SELECT group_concat(rating) FROM feedback f WHERE f.answer_id = a.id) FROM answers a "
            "ORDER BY created DESC"
        ).fetchall()
    )
    return [r for r in rows if keep(r)][offset : offset + 50]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = FeedbackStore(Path(tmp) / "feedback.sqlite3")
        fill(store, args.answers)
        log = ConversationLog(store)
        today = int(time.time() // DAY_S) * DAY_S
        cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            ("first page", lambda: log.page(Filters()), lambda: naive(store, lambda r: True)),
            ("channel = slack", lambda: log.page(Filters(channel="slack")), lambda: naive(store, lambda r: r[2] == "slack")),
            ("text search", lambda: log.page(Filters(text="问题4242")), lambda: naive(store, lambda r: "问题4242" in str(r[3]))),
            ("rated 👎", lambda: log.page(Filters(rating="down")), lambda: naive(store, lambda r: "down" in str(r[-1]))),
            ("page at offset 90,000", lambda: log.page(Filters(), offset=90_000),
             lambda: naive(store, lambda r: True, offset=90_000)),
            ("CSV of everything", lambda: sum(len(c) for c in log.csv_chunks(Filters())), lambda: None),
            ("dashboard, 30 days", lambda: dashboard(store, start=today - 29 * DAY_S, days=30), lambda: None),
        ]  # fmt: skip
        print(f"{args.answers} answers, {args.answers // 50} ratings; median of 5 runs, seconds")
        print(f"{'':26}{'crmkb':>10}{'naive':>10}")
        for name, ours, theirs in cases:
            base = median(theirs, 3)
            shown = f"{base:>10.3f}" if base > 1e-4 else f"{'–':>10}"
            print(f"{name:26}{median(ours):>10.3f}{shown}")


if __name__ == "__main__":
    main()
