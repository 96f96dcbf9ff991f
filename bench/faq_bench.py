"""FAQ build benchmark: throughput and peak memory of `crmkb faq build` on a large question file, beside a
naive baseline that keeps every answer in memory and renders at the end, in one run.

Questions are generated from the KB's own vocabulary ("{word}在CRM实施中要注意什么?" and five other
templates; about 10,000 over the five articles), so they are distinct and a realistic mix of covered and not-covered. Each variant runs in its
own process so its peak RSS is its own.

Usage: python bench/faq_bench.py [--questions 2000]   (10000 for the issue's file size; ~10 minutes)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEMPLATES = ["{w}在CRM实施中要注意什么?", "如何处理{w}相关的问题?", "{w}对CRM项目有什么影响?", "项目收尾时{w}怎么办?",
             "What about {w} in a CRM rollout?", "准备阶段怎样看待{w}?"]  # fmt: skip


def make_questions(count: int, path: Path) -> None:
    import jieba

    from crmkb.core.settings import get_settings
    from crmkb.ingest.clean import clean
    from crmkb.ingest.loaders import load_file

    settings = get_settings()
    words: list[str] = []
    for file in sorted(settings.kb_dir.glob("*.txt")):
        for word in jieba.cut(clean(load_file(file).text).text):
            if len(word) >= 2 and word not in words and any("\u4e00" <= c <= "\u9fff" for c in word):
                words.append(word)
    lines = [t.format(w=w) for w in words for t in TEMPLATES][:count]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_variant(variant: str, questions: Path, out: Path) -> dict[str, float]:
    """In a child process: build and report seconds, entries and peak RSS."""
    from crmkb.bot.service import Bot
    from crmkb.core.settings import get_settings
    from crmkb.faq.build import built, read_questions
    from crmkb.faq.entries import Entry
    from crmkb.faq.formats import write
    from crmkb.ingest.pipeline import ensure_index

    settings = get_settings()
    bot = Bot(settings)
    ensure_index(settings, bot.embeddings, bot.index_store)
    bot.load()
    began = time.perf_counter()
    if variant == "streaming":
        with built(bot, read_questions(questions)) as store:
            write(store.ordered(), "csv", out)
            entries = store.count()
    else:  # everything in memory: every answer object, then sort and render
        answers = [Entry.from_answer(i, bot.ask(q)) for i, q in enumerate(read_questions(questions), 1)]
        answers.sort(key=lambda e: (not e.covered, e.source, e.order, e.id))
        write(answers, "csv", out)
        entries = len(answers)
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "entries": entries, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--variant", choices=["streaming", "in-memory"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.file, args.file.with_suffix(f".{args.variant}.csv"))))
        return
    work = Path(tempfile.mkdtemp(prefix="crmkb-faq-bench-"))
    questions = work / "questions.txt"
    make_questions(args.questions, questions)
    count = len(questions.read_text(encoding="utf-8").splitlines())
    print(f"{count} generated questions")
    for variant in ("streaming", "in-memory"):
        child = subprocess.run(
            [sys.executable, __file__, "--variant", variant, "--file", str(questions)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        result = json.loads(child.stdout.strip().splitlines()[-1])
        label = (
            "crmkb faq build (streaming, SQLite)"
            if variant == "streaming"
            else "baseline: all answers in memory"
        )
        print(
            f"{label:<40} {result['seconds']:7.1f} s  {count / result['seconds']:6.1f} questions/s  "
            f"{result['entries']:6.0f} entries  peak RSS {result['peak_mb']:6.0f} MB"
        )


if __name__ == "__main__":
    main()
