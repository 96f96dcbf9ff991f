"""Deterministic fakes for tests: the ``hash`` backend, counting what it embeds and able to fail."""

from __future__ import annotations

import numpy as np

from crmkb.ingest.embeddings import HashEmbeddings


class CountingEmbeddings(HashEmbeddings):
    """The ``hash`` backend, counting the passages it embeds, and failing (or interrupted, as by Ctrl-C)
    once it would pass ``fail_after`` of them. ``name`` makes it another model (with the same vectors, so
    only the count tells whether another model's cached vectors were taken)."""

    def __init__(
        self, *, fail_after: int | None = None, interrupt: bool = False, name: str = "hash/char-bigrams"
    ) -> None:
        super().__init__(name=name)
        self.fail_after = fail_after
        self.interrupt = interrupt
        self.embedded = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if self.fail_after is not None and self.embedded + len(texts) > self.fail_after:
            if self.interrupt:
                raise KeyboardInterrupt
            raise RuntimeError("embedder failed")
        self.embedded += len(texts)
        return super().embed_passages(texts)
