"""The ``openai`` embedding backend: an OpenAI-compatible embeddings endpoint (text-embeddings-inference,
Infinity, vLLM) through LangChain's ``OpenAIEmbeddings``, for ingests too big to embed on the CPU here.

Texts go out as plain strings (no tiktoken, no tokenizer download: the endpoint tokenizes for its own
model), in batches of ``batch_size`` with up to ``concurrency`` batches in flight. Replies are checked and
L2-normalised to float32, like the local backends, so the index and the answerer cannot tell them apart.
The index records the backend's ``name`` (``openai/<model>``, ``+e5`` when e5 prefixes are sent): the host
is left out so that moving the service to another address does not force a rebuild.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from crmkb.core.errors import first_line
from crmkb.core.settings import EmbeddingSettings
from crmkb.ingest.embeddings import EmbeddingError, IdentifiedEmbeddings

# A dropped connection or a 503 while the service scales should not end a four-hour ingest.
RETRIES = 2


def is_e5(model: str) -> bool:
    """Whether ``model`` names an e5 model, which expects "query: " / "passage: " before texts."""
    return "e5" in re.split(r"[^a-z0-9]+", model.lower())


class OpenAIEndpointEmbeddings(IdentifiedEmbeddings):
    """Passages and questions embedded by an OpenAI-compatible endpoint; nothing is sent until asked."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        if settings.base_url is None or settings.model is None:
            raise EmbeddingError(
                "CRMKB_EMBEDDING_BACKEND=openai needs CRMKB_EMBEDDING_BASE_URL (e.g. http://host:8080/v1) "
                "and CRMKB_EMBEDDING_MODEL (the model the endpoint serves)"
            )
        self._url = settings.base_url
        self._model_name = settings.model
        prefixed = is_e5(settings.model) if settings.e5_prefixes is None else settings.e5_prefixes
        self._query_prefix = settings.query_prefix if prefixed else ""
        self._passage_prefix = settings.passage_prefix if prefixed else ""
        self._batch_size = settings.batch_size
        self._concurrency = settings.concurrency
        self._timeout = settings.timeout_s
        self._api_key = settings.api_key
        self._dimension = settings.dimension
        self._client: Any = None
        self._lock = threading.Lock()
        self.name = f"openai/{settings.model}" + ("+e5" if prefixed else "")

    @property
    def cache_identity(self) -> str:
        return f"{self.name} passage_prefix={self._passage_prefix!r}"

    @property
    def passages_per_call(self) -> int:
        return self._batch_size * self._concurrency

    def _get(self) -> Any:
        with self._lock:
            if self._client is None:
                from langchain_openai import OpenAIEmbeddings

                self._client = OpenAIEmbeddings(
                    model=self._model_name,
                    base_url=self._url,
                    api_key=self._api_key,
                    timeout=self._timeout,
                    max_retries=RETRIES,
                    chunk_size=self._batch_size,
                    # Token ids and tiktoken are OpenAI's own models' business; other servers want text.
                    check_embedding_ctx_length=False,
                    # The client's default asks for base64, which not every compatible server speaks.
                    model_kwargs={"encoding_format": "float"},
                )
            return self._client

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._batch(["dimension"])
        assert self._dimension is not None
        return self._dimension

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        prefixed = [self._passage_prefix + t for t in texts]
        batches = [prefixed[i : i + self._batch_size] for i in range(0, len(prefixed), self._batch_size)]
        if not batches:
            return np.zeros((0, self.dimension), np.float32)
        if len(batches) == 1 or self._concurrency == 1:
            return np.vstack([self._batch(b) for b in batches])
        with ThreadPoolExecutor(min(self._concurrency, len(batches)), "crmkb-embed") as pool:
            return np.vstack(list(pool.map(self._batch, batches)))

    def embed_query(self, text: str) -> list[float]:
        return self.remembered(text, self._query)

    def _query(self, text: str) -> list[float]:
        result: list[float] = self._batch([self._query_prefix + text])[0].tolist()
        return result

    def _batch(self, texts: list[str]) -> np.ndarray:
        import openai

        where = f"the embeddings endpoint {self._url} (CRMKB_EMBEDDING_BASE_URL)"
        try:
            reply = self._get().embed_documents(texts)
        except openai.APIConnectionError as exc:  # also the timeout, its subclass
            raise EmbeddingError(
                f"cannot reach {where}: {first_line(exc)}; check that the service runs and the URL ends "
                "in /v1"
            ) from exc
        except openai.APIStatusError as exc:
            raise EmbeddingError(
                f"{where} refused model {self._model_name!r} (HTTP {exc.status_code}: {first_line(exc)}); "
                "check CRMKB_EMBEDDING_MODEL and CRMKB_EMBEDDING_API_KEY"
            ) from exc
        except (openai.OpenAIError, KeyError, TypeError, ValueError) as exc:
            raise EmbeddingError(
                f"{where} sent a reply that is not an embeddings response ({first_line(exc)}); check that "
                "it is an OpenAI-compatible /v1/embeddings"
            ) from exc
        return self._checked(reply, len(texts), where)

    def _checked(self, reply: object, expected: int, where: str) -> np.ndarray:
        """The reply as unit float32 rows, after making sure it is one finite vector per text, all as wide
        as the index expects."""
        try:
            vectors = np.asarray(reply, dtype=np.float32)
        except (TypeError, ValueError):
            vectors = np.zeros((0,), np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != expected or vectors.shape[1] == 0:
            raise EmbeddingError(
                f"{where} returned {len(reply) if isinstance(reply, list) else 'no'} vectors of one width for "
                f"{expected} texts; check that it serves an embedding model"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(np.isfinite(vectors)) or not np.all(norms > 0):
            raise EmbeddingError(f"{where} returned empty or non-finite vectors; check the model it serves")
        with self._lock:
            if self._dimension is None:
                self._dimension = int(vectors.shape[1])
            width = self._dimension
        if vectors.shape[1] != width:
            raise EmbeddingError(
                f"{where} returned {vectors.shape[1]}-dimensional vectors, {width} expected; check "
                "CRMKB_EMBEDDING_MODEL and CRMKB_EMBEDDING_DIMENSION"
            )
        return (vectors / norms).astype(np.float32, copy=False)
