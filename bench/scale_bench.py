"""Scale benchmark: how loading and answering grow with the knowledge base, beside the old load path.

For each size, a synthetic KB of renamed copies of the real kb/ articles (each copy's title and one of its
paragraphs carry its number; the rest repeats, so BM25 and vector scores tie far more often than in a real
KB of that size) is ingested with the hashing embedder
(``HashEmbeddings``, 384 dimensions: the model is out of the picture), and a fresh process then measures:

  * cold load: ``Bot.load()`` (index files, chunks, sentences and the lookups answering needs);
  * the sentence → chunk map alone, new (per-document intervals + bisect) beside the old scan of every
    chunk for every sentence (``old_containing`` below, the code this replaced), on the same data. The
    old scan is quadratic, so above ``--old-full`` chunks it is timed on a sample of sentences and scaled
    up (marked ``~``);
  * the old cold load, estimated: the new one with the new map swapped for the old, plus the jieba
    tokenisation of every sentence the old load did for a field nothing read (timed on the same sample);
  * answer p50/p95 in-process over 20 questions, warm, the query embedding excluded (answered once to
    warm up, then from the embedder's cache);
  * peak RSS of that process.

Usage: python bench/scale_bench.py [--sizes 1000,10000,30000] [--old-full 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from crmkb.core.settings import get_settings
from crmkb.ingest.chunking import Chunk
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


def old_containing(chunks: dict[str, Chunk], source: str, start: int, end: int) -> list[str]:
    """The load path this benchmark replaced: every chunk read for every sentence."""
    return [c.id for c in chunks.values() if c.source == source and c.start <= start and end <= c.end]


def measure(kb: Path, data: Path, old_full: int, rounds: int) -> dict[str, float]:
    """Run in a fresh process: cold load, the two sentence → chunk maps, answer latency, peak RSS."""
    from crmkb.bot.service import Bot
    from crmkb.bot.spans import ChunkSpans
    from crmkb.ingest.sparse import tokenize

    settings = get_settings(kb_dir=kb, data_dir=data)
    bot = Bot(settings, embeddings=embedder())
    began = time.perf_counter()
    knowledge = bot.load().knowledge
    load_s = time.perf_counter() - began

    chunks = knowledge.chunks
    units = knowledge.sentences.units
    began = time.perf_counter()
    spans = ChunkSpans(chunks.values())
    new_map = [spans.containing(u.source, u.start, u.end) for u in units]
    new_s = time.perf_counter() - began

    sample = range(len(units)) if len(chunks) <= old_full else random.Random(1).sample(range(len(units)), 300)
    began = time.perf_counter()
    for i in sample:
        unit = units[i]
        if old_containing(chunks, unit.source, unit.start, unit.end) != new_map[i]:
            raise SystemExit(f"maps differ at sentence {i}")
    old_s = (time.perf_counter() - began) * len(units) / len(sample)
    tokenize("预热")  # jieba loads its dictionary on the first call: not a cost per sentence
    began = time.perf_counter()
    for i in sample:
        frozenset(tokenize(units[i].text))
    tokens_s = (time.perf_counter() - began) * len(units) / len(sample)

    for q in QUESTIONS:  # warm: jieba, OpenCC, the query cache
        bot.ask(q)
    timings = []
    for _ in range(rounds):
        for q in QUESTIONS:
            began = time.perf_counter()
            bot.ask(q)
            timings.append((time.perf_counter() - began) * 1000)
    return {
        "chunks": len(chunks),
        "sentences": len(units),
        "load_s": load_s,
        "map_new_s": new_s,
        "map_old_s": old_s,
        "load_old_s": load_s - new_s + old_s + tokens_s,
        "old_sampled": float(len(chunks) > old_full),
        "p50_ms": float(np.percentile(timings, 50)),
        "p95_ms": float(np.percentile(timings, 95)),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,30000", help="target chunk counts, comma-separated")
    parser.add_argument("--old-full", type=int, default=2000, help="time the old map in full up to here")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", nargs=2, metavar=("KB", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kb, data = (Path(p) for p in args.measure)
        print(json.dumps(measure(kb, data, args.old_full, args.rounds)))
        return
    from crmkb.ingest.pipeline import run_ingest

    print(
        f"{'chunks':>7} {'sentences':>9} {'ingest':>9} {'cold load':>10} {'old load':>10} {'map new':>9} "
        f"{'map old':>10} "
        f"{'answer p50':>11} {'p95':>9} {'peak RSS':>9}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix="crmkb-scale-bench-"))
        try:
            synthetic_kb(work / "kb", size)
            began = time.perf_counter()
            run_ingest(get_settings(kb_dir=work / "kb", data_dir=work / "data"), embeddings=embedder())
            ingest_s = time.perf_counter() - began
            child = [sys.executable, __file__, "--measure", str(work / "kb"), str(work / "data")]
            child += ["--old-full", str(args.old_full), "--rounds", str(args.rounds)]
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            m = json.loads(out.strip().splitlines()[-1])
            mark = "~" if m["old_sampled"] else ""
            old, old_load = f"{mark}{m['map_old_s']:.1f} s", f"~{m['load_old_s']:.1f} s"
            print(
                f"{m['chunks']:7d} {m['sentences']:9d} {ingest_s:7.1f} s {m['load_s']:8.2f} s {old_load:>10} "
                f"{m['map_new_s']:7.2f} s {old:>10} {m['p50_ms']:8.1f} ms {m['p95_ms']:6.1f} ms "
                f"{m['rss_mb']:6.0f} MB",
                flush=True,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
