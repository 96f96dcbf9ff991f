"""A version's big arrays are mapped read-only from its files, so the workers of one host share them; an
index written before the mapping (sentences as one JSON list) still loads and answers the same."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crmkb.bot.knowledge import every
from crmkb.bot.service import Bot
from crmkb.core.settings import Settings, get_settings
from crmkb.evals.dataset import load_dataset
from crmkb.ingest import artifacts
from crmkb.ingest.chunk_table import ChunkTable
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.index import make_store
from crmkb.ingest.sentences import SentenceUnits

MAPPED = (
    "sentences/sentences.npy", "sentences/rows.npy", "sentences/text.npy", "sentences/offsets.npy",
    "chunks/rows.npy",
)  # fmt: skip
BM25_MAPPED = ("bm25/data.csc.index.npy", "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy")


def version_folder(settings: Settings) -> Path:
    bot = Bot(settings, embeddings=HashEmbeddings())
    return artifacts.index_root(settings.data_dir) / bot.load().knowledge.version.name


def mapped_files() -> set[str]:
    return {
        line.split(maxsplit=5)[5] for line in Path("/proc/self/maps").read_text().splitlines() if "/" in line
    }


def test_the_big_arrays_are_read_only_maps_of_the_version_files(hash_index: Settings) -> None:
    bot = Bot(hash_index, embeddings=HashEmbeddings())
    knowledge = bot.load().knowledge
    folder = artifacts.index_root(hash_index.data_dir) / knowledge.version.name
    maps = mapped_files()
    for name in MAPPED + BM25_MAPPED:
        assert str((folder / name).resolve()) in maps, f"{name} is not mapped"
    vectors = knowledge.sentences.vectors
    assert not vectors.flags.writeable
    with pytest.raises(ValueError):
        vectors[0, 0] = 1.0
    units = knowledge.sentences.units
    assert isinstance(units, SentenceUnits)


SHARE_CHECK = """
import re
import sys
from pathlib import Path
from crmkb.bot.knowledge import every
from crmkb.bot.service import Bot
from crmkb.core.settings import get_settings
from crmkb.ingest.embeddings import HashEmbeddings

bot = Bot(get_settings(data_dir=Path(sys.argv[1]), kb_dir=Path(sys.argv[2])), embeddings=HashEmbeddings())
float(bot.load().knowledge.sentences.vectors.sum())  # every page of the vectors read
header = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")
entry, shared = False, 0
for line in Path("/proc/self/smaps").read_text().splitlines():
    if header.match(line):
        entry = line.rstrip().endswith(sys.argv[3])
    elif entry and line.startswith("Shared_Clean:"):
        shared += int(line.split()[1])
print(shared)
"""


def test_two_processes_loading_one_version_share_its_vectors(hash_index: Settings) -> None:
    """With this process holding the version, a second process's pages of the sentence vectors are
    shared, not a copy of its own (as they were when each process read the file into memory)."""
    bot = Bot(hash_index, embeddings=HashEmbeddings())
    vectors = bot.load().knowledge.sentences.vectors
    float(vectors.sum())
    folder = artifacts.index_root(hash_index.data_dir) / str(bot.served_version)
    target = str((folder / "sentences" / "sentences.npy").resolve())
    out = subprocess.run(
        [sys.executable, "-c", SHARE_CHECK, str(hash_index.data_dir), str(hash_index.kb_dir), target],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    shared_kb = int(out.split()[-1])
    assert shared_kb * 1024 >= vectors.nbytes - 4096  # all of it but a partly filled last page


def test_the_chunks_read_from_the_version_files_are_the_stores(hash_index: Settings) -> None:
    knowledge = Bot(hash_index, embeddings=HashEmbeddings()).load().knowledge
    assert isinstance(knowledge.chunks, ChunkTable)
    stored = make_store(hash_index).chunks(knowledge.version)
    assert list(knowledge.chunks) == [c.id for c in stored]
    assert [knowledge.chunks[c.id] for c in stored] == stored
    assert list(every(knowledge.chunks)) == stored


def write_as_before(folder: Path) -> None:
    """Rewrite a version's files the way versions written before the mapping hold them: the sentences as
    one JSON list of units beside the vectors, no chunk files (chunks come from the store), with the
    manifest to match."""
    table = artifacts.read_sentences(folder.parent.parent, folder.name)
    rows = [
        {"source": u.source, "start": u.start, "end": u.end, "chunk_id": u.chunk_id, "text": u.text}
        for u in table.units
    ]
    vectors = np.array(table.vectors)
    shutil.rmtree(folder / "sentences")
    shutil.rmtree(folder / "chunks")
    (folder / "sentences").mkdir()
    (folder / "sentences" / "sentences.json").write_text(json.dumps(rows, ensure_ascii=False))
    np.save(folder / "sentences" / "sentences.npy", vectors)
    manifest = {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.name != artifacts.MANIFEST
    }
    (folder / artifacts.MANIFEST).write_text(json.dumps(manifest))


def test_an_index_written_before_the_mapping_loads_and_answers_the_same(
    hash_index: Settings, tmp_path: Path
) -> None:
    questions = [item.question for item in load_dataset()]
    mapped = Bot(hash_index, embeddings=HashEmbeddings())
    expected = [mapped.ask(q).model_dump(exclude={"id", "latency_ms"}) for q in questions]

    shutil.copytree(hash_index.data_dir, tmp_path / "data")
    old = get_settings(data_dir=tmp_path / "data", kb_dir=hash_index.kb_dir)
    folder = version_folder(old)
    write_as_before(folder)
    assert not artifacts.damaged(old.data_dir, folder.name)
    bot = Bot(old, embeddings=HashEmbeddings())
    knowledge = bot.load().knowledge
    assert str((folder / "sentences" / "sentences.npy").resolve()) not in mapped_files()
    assert not isinstance(knowledge.chunks, ChunkTable)
    assert len(knowledge.sentences.units) == len(mapped.load().knowledge.sentences.units)
    assert [bot.ask(q).model_dump(exclude={"id", "latency_ms"}) for q in questions] == expected
