"""Scale benchmark: how loading, answering and memory grow with the knowledge base, beside the old load path.

For each size, a synthetic KB of renamed copies of the real kb/ articles (each copy's title and one of its
paragraphs carry its number; the rest repeats, so BM25 and vector scores tie far more often than in a real
KB of that size) is ingested with the hashing embedder
(``HashEmbeddings``, 384 dimensions: the model is out of the picture). Then, for each load path, two
worker processes load the same version one after the other, as the workers of ``crmkb serve`` on one host
would:

  * ``mapped`` (today's): the sentence vectors, the sentences' columns and text, and the BM25 postings
    are mapped read-only from the version's files, so the two workers share those pages;
  * ``before`` (the path it replaced, reproduced here on the same version): the sentences read from one
    JSON list into a Python object per sentence, the vectors and BM25 arrays read into each process.

The first worker measures the cold load (``Bot.load()``), answer p50/p95 in-process over 20 questions,
warm, the query embedding excluded (served from the embedder's cache), and its peak RSS; the second loads
and answers the 20 questions once. With both alive, each one's USS (memory no other process shares) and
PSS (its share of what it maps, a page shared by two counted half in each) are read from
``/proc/<pid>/smaps_rollup``; their sum is what the two workers cost the host together.

Usage: python bench/scale_bench.py [--sizes 1000,10000,30000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from crmkb.core.settings import get_settings
from crmkb.ingest.embeddings import HashEmbeddings

ROOT = Path(__file__).resolve().parent.parent
DIMENSION = 384  # e5-small's, so the arrays are the size a real index holds
CHUNKS_PER_COPY = 84  # the five real articles make 84 chunks

QUESTIONS = [
    "项目失败后应该先做什么?", "CRM项目团队应该包括哪些人?", "实施顾问离开前企业要做好哪些收尾工作?",
    "项目预算中软件成本占多少?", "业务范围不断扩大有什么风险?", "實施顧問離開前要整理哪些問題?",
    "What risks come up in CRM implementation?", "Salesforce的许可证多少钱?", "没有业务流程能实施CRM吗?",
    "CRM实施包括哪些阶段?", "如何重新设置对CRM项目的期望?", "失败的项目留下的数据有什么用?",
    "标准化作业流程怎么推行?", "项目上线后谁来负责系统维护?", "选择CRM供应商要看哪些素质?",
    "项目经理需要具备什么能力?", "系统切换什么时候做不合适?", "员工不接受新系统怎么办?",
    "培训可以省掉吗?", "Who should be on the CRM project team?",
]  # fmt: skip


class CachedHash(HashEmbeddings):
    """The hashing embedder with the query cache the real backends have, so repeated questions measure
    answering, not embedding."""

    def embed_query(self, text: str) -> list[float]:
        return self.remembered(text, super().embed_query)


def embedder() -> CachedHash:
    return CachedHash(DIMENSION)


def synthetic_kb(target: Path, chunks: int) -> None:
    """Renamed copies of the real articles, about ``chunks`` chunks in all."""
    originals = sorted((ROOT / "kb").glob("*.txt"))
    target.mkdir(parents=True)
    shutil.copy(ROOT / "kb" / "glossary.toml", target / "glossary.toml")
    rng = random.Random(7)
    for copy in range(max(1, round(chunks / CHUNKS_PER_COPY))):
        for path in originals:
            lines = path.read_text(encoding="utf-8").split("\n")
            lines[0] = f"{lines[0]}(第{copy}版)"
            # a copy-specific sentence in a random paragraph: the copies' chunks differ beyond their titles
            body = [i for i, line in enumerate(lines) if len(line) > 40]
            if body:
                at = rng.choice(body)
                lines[at] = f"{lines[at]}本段见第{copy}版。"
            (target / f"{path.stem}_{copy:05d}.txt").write_text("\n".join(lines), encoding="utf-8")


def legacy_units(data: Path, target: Path) -> None:
    """The active version's sentences as the one JSON list the old load path parsed."""
    from crmkb.ingest import artifacts
    from crmkb.ingest.index import make_store

    settings = get_settings(data_dir=data)
    table = artifacts.read_sentences(data, make_store(settings).require_active().name)
    rows = [
        dict(zip(UNIT_FIELDS, (u.source, u.start, u.end, u.chunk_id, u.text), strict=True))
        for u in table.units
    ]
    target.write_text(json.dumps(rows, ensure_ascii=False))


UNIT_FIELDS = ("source", "start", "end", "chunk_id", "text")


def use_old_path(legacy: Path) -> None:
    """Load as before the mapping: the units from ``legacy`` (JSON), every array read into this process,
    the chunks read from Chroma."""
    from crmkb.ingest import artifacts, sentences, sparse

    def load_table(cls: type, folder: Path) -> sentences.SentenceTable:
        units = [sentences.SentenceUnit(**u) for u in json.loads(legacy.read_text())]
        return sentences.SentenceTable(units, np.load(folder / "sentences.npy"))

    def load_sparse(cls: type, folder: Path) -> sparse.SparseIndex:
        return cls(bm25s.BM25.load(str(folder)), int((folder / "size").read_text()))

    import bm25s

    sentences.SentenceTable.load = classmethod(load_table)  # type: ignore[method-assign, assignment]
    sparse.SparseIndex.load = classmethod(load_sparse)  # type: ignore[method-assign, assignment]
    artifacts.read_chunks = lambda *_: None  # as for a version without chunk files


def work(kb: Path, data: Path, legacy: Path | None, rounds: int) -> None:
    """One worker: load, answer, report, then stay alive (memory still mapped) until stdin closes."""
    from crmkb.bot.service import Bot

    if legacy is not None:
        use_old_path(legacy)
    bot = Bot(get_settings(kb_dir=kb, data_dir=data), embeddings=embedder())
    began = time.perf_counter()
    knowledge = bot.load().knowledge
    load_s = time.perf_counter() - began
    for q in QUESTIONS:  # warm: jieba, OpenCC, the query cache
        bot.ask(q)
    timings = []
    for _ in range(rounds):
        for q in QUESTIONS:
            began = time.perf_counter()
            bot.ask(q)
            timings.append((time.perf_counter() - began) * 1000)
    report = {
        "chunks": len(knowledge.chunks),
        "sentences": len(knowledge.sentences.units),
        "load_s": load_s,
        "p50_ms": float(np.percentile(timings, 50)) if timings else 0.0,
        "p95_ms": float(np.percentile(timings, 95)) if timings else 0.0,
        "rss_mb": peak_rss_mb(),
    }
    print(json.dumps(report), flush=True)
    sys.stdin.read()


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ``ru_maxrss``: that survives ``exec``, so a worker started by the
    process that has just ingested 100,000 chunks would report the ingest's peak as its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def rollup(pid: int) -> dict[str, float]:
    """USS and PSS of a live process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    return {"uss": fields["Private_Clean"] + fields["Private_Dirty"], "pss": fields["Pss"]}


def two_workers(kb: Path, data: Path, legacy: Path | None, rounds: int) -> dict[str, Any]:
    """The first worker's figures, and both workers' USS and PSS while both are loaded."""
    workers, reports = [], []
    for n in range(2):
        child = [sys.executable, __file__, "--work", str(kb), str(data), str(legacy or "")]
        child += ["--rounds", str(rounds if n == 0 else 0)]
        proc = subprocess.Popen(child, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        workers.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and not line.startswith("{"):  # anything a library printed before the report
            line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"worker {n} failed (exit {proc.wait()})")
        reports.append(json.loads(line))
    memory = [rollup(proc.pid) for proc in workers]
    for proc in workers:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    first = reports[0]
    return first | {
        "uss": [m["uss"] for m in memory], "pss": [m["pss"] for m in memory],
        "pair_mb": sum(m["pss"] for m in memory),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,30000", help="target chunk counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", nargs=3, metavar=("KB", "DATA", "LEGACY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.work:
        kb, data, legacy = args.work
        work(Path(kb), Path(data), Path(legacy) if legacy else None, args.rounds)
        return
    from crmkb.ingest.pipeline import run_ingest

    print(
        f"{'chunks':>7} {'sentences':>9} {'ingest':>9} {'path':>7} {'cold load':>10} {'answer p50':>11} "
        f"{'p95':>9} {'peak RSS':>9} {'USS 1 + 2':>16} {'PSS 1 + 2':>16} {'2 workers':>10}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        work_dir = Path(tempfile.mkdtemp(prefix="crmkb-scale-bench-"))
        try:
            kb, data = work_dir / "kb", work_dir / "data"
            synthetic_kb(kb, size)
            began = time.perf_counter()
            run_ingest(get_settings(kb_dir=kb, data_dir=data), embeddings=embedder())
            ingest_s = time.perf_counter() - began
            legacy_units(data, work_dir / "sentences.json")
            for path, legacy in (("mapped", None), ("before", work_dir / "sentences.json")):
                m = two_workers(kb, data, legacy, args.rounds)
                uss, pss = (f"{a:6.0f} + {b:4.0f} MB" for a, b in (m["uss"], m["pss"]))
                print(
                    f"{m['chunks']:7d} {m['sentences']:9d} {ingest_s:7.1f} s {path:>7} {m['load_s']:8.2f} s "
                    f"{m['p50_ms']:8.1f} ms {m['p95_ms']:6.1f} ms {m['rss_mb']:6.0f} MB {uss:>16} {pss:>16} "
                    f"{m['pair_mb']:7.0f} MB",
                    flush=True,
                )
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
