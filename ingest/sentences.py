"""Sentence units of the indexed chunks, with their embeddings.

Answers quote sentences, not chunks, and score them against the question by embedding as well as by
terms. Embedding sentences at question time would cost a model call per sentence, so they are embedded
once, at ingest, and stored beside the index; an unchanged sentence reuses its vector.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from crmkb.ingest.chunking import split_sentences

MIN_SENTENCE_CHARS = 4  # shorter pieces ("是吗?") carry no guidance on their own


@dataclass(frozen=True)
class SentenceUnit:
    source: str
    start: int
    end: int
    chunk_id: str
    text: str

    @property
    def key(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:20]


def sentence_units(chunks: list[tuple[str, str, int, str]]) -> list[SentenceUnit]:
    """Sentences of ``(chunk_id, source, start, text)`` chunks, each once (chunks overlap), in order."""
    seen: set[tuple[str, int, int]] = set()
    units: list[SentenceUnit] = []
    for chunk_id, source, start, text in chunks:
        pos = 0
        for line in text.split("\n"):
            for s, e in split_sentences(line, start + pos):
                key = (source, s, e)
                sentence = text[s - start : e - start]
                if key in seen or len(sentence) < MIN_SENTENCE_CHARS:
                    continue
                seen.add(key)
                units.append(SentenceUnit(source, s, e, chunk_id, sentence))
            pos += len(line) + 1
    return sorted(units, key=lambda u: (u.source, u.start))


_UNIT_FIELDS = tuple(f.name for f in fields(SentenceUnit))


@dataclass(frozen=True)
class SentenceTable:
    units: list[SentenceUnit]
    vectors: np.ndarray  # (len(units), dimension), L2-normalised

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # a plain dict per unit: dataclasses.asdict's deep copy was half the cost at 600,000 sentences
        rows = [{name: getattr(u, name) for name in _UNIT_FIELDS} for u in self.units]
        (folder / "sentences.json").write_text(json.dumps(rows, ensure_ascii=False))
        np.save(folder / "sentences.npy", self.vectors)

    @classmethod
    def load(cls, folder: Path) -> SentenceTable:
        units = [SentenceUnit(**u) for u in json.loads((folder / "sentences.json").read_text())]
        return cls(units, np.load(folder / "sentences.npy"))
