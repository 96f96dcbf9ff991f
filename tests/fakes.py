"""Deterministic fakes for tests: an embedder that needs no model and can be told to fail."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np

from crmkb.ingest.embeddings import IdentifiedEmbeddings


class HashEmbeddings(IdentifiedEmbeddings):
    """Bag of character bigrams hashed into a fixed-width unit vector: similar texts get similar vectors,
    so retrieval behaves sensibly, and every call is counted."""

    def __init__(self, dimension: int = 64, *, name: str = "fake/hash-bigrams", fail_after: int | None = None,
                 interrupt: bool = False) -> None:  # fmt: skip
        self.name = name
        self._dimension = dimension
        self.fail_after = fail_after
        self.interrupt = interrupt
        self.embedded = 0

    @property
    def dimension(self) -> int:
        return self._dimension

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dimension, dtype=np.float32)
        for a, b in itertools.pairwise(text):
            h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
            vec[h % self._dimension] += 1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if self.fail_after is not None and self.embedded + len(texts) > self.fail_after:
            if self.interrupt:
                raise KeyboardInterrupt
            raise RuntimeError("embedder failed")
        self.embedded += len(texts)
        return (
            np.vstack([self._vector(t) for t in texts])
            if texts
            else np.zeros((0, self._dimension), np.float32)
        )

    def embed_query(self, text: str) -> list[float]:
        result: list[float] = self._vector(text).tolist()
        return result
