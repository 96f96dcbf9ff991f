"""Hybrid retrieval: dense (the index's vectors, e5 query embedding) and BM25 (jieba) fused by reciprocal
rank, with the model's latent terms (``ingest/latent.py``) as a third ranking for English questions.

``retrieve`` is the engine; :class:`HybridRetriever` exposes it as a LangChain retriever so the LLM chain
uses exactly the same retrieval as the extractive answerer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from crmkb.bot.knowledge import Knowledge
from crmkb.bot.language import detect_language
from crmkb.bot.spans import top
from crmkb.ingest.chunking import Chunk
from crmkb.ingest.embeddings import IdentifiedEmbeddings
from crmkb.ingest.latent import Terms, packed, unpacked

log = logging.getLogger(__name__)

RRF_K = 60  # the usual constant: damps the head of each ranking so neither list dominates
CANDIDATES = 20
DENSE_SHARE = 0.6  # weighted fusion only
Fusion = Literal["rrf", "weighted"]


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    dense: float  # cosine similarity to the question (0 when the chunk came from BM25 only)
    sparse: float  # BM25 score
    fused: float


def retrieve(
    knowledge: Knowledge, query_vector: list[float], keyword_query: str, k: int, fusion: Fusion = "rrf",
    latent: Terms | None = None,
) -> list[Hit]:  # fmt: skip
    """Top ``k`` chunks by fusing the dense and BM25 rankings (reciprocal rank, or a weighted sum of
    min-max normalised scores); reciprocal rank also fuses the ranking by the question's ``latent`` terms
    (:func:`latent_query`) when given."""
    n = min(CANDIDATES, len(knowledge.chunks))
    dense = knowledge.index.nearest(query_vector, n)
    scores = knowledge.sparse.scores(keyword_query)
    sparse = {knowledge.sparse_ids[i]: float(scores[i]) for i in top(scores, n) if scores[i] > 0}
    rankings = [sorted(dense, key=dense.__getitem__, reverse=True), list(sparse)]
    if latent is not None and knowledge.index.latent is not None:
        shared = knowledge.index.latent.scores(latent)
        rankings.append([knowledge.sparse_ids[i] for i in top(shared, n) if shared[i] > 0])

    fused: dict[str, float] = {}
    if fusion == "rrf":
        # each ranking counts alike: the latent one at half weight was no better on any set (dev 0.713, not 0.716)
        for ranking in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
    else:
        for scores_, weight in ((_minmax(dense), DENSE_SHARE), (_minmax(sparse), 1.0 - DENSE_SHARE)):
            for cid, value in scores_.items():
                fused[cid] = fused.get(cid, 0.0) + weight * value
    best = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
    return [Hit(knowledge.chunks[c], dense.get(c, 0.0), sparse.get(c, 0.0), fused[c]) for c in best]


def latent_query(
    knowledge: Knowledge, embeddings: IdentifiedEmbeddings, text: str, language: str
) -> Terms | None:
    """The latent terms of an English question, when the model and the version have them. An English
    question shares no BM25 word with the Chinese passages that answer it; its latent terms can, which
    lifted English answers on the dev split (0.652 → 0.688) and refused more of its near misses. A Chinese
    question's own words already rank by BM25, and a third ranking of mostly the same terms diluted the
    dense one: Simplified fell 0.792 → 0.764 with it, so Chinese questions go without."""
    if language != "en" or knowledge.index.latent is None or not embeddings.latent_width:
        return None
    try:  # remembered as the question's vector is: a follow-up gathers the question before it again
        row = embeddings.remembered(
            f"\x00latent {text}", lambda _: packed(embeddings.latent_terms([text])[0]).tolist()
        )
        return unpacked(np.asarray(row, np.float32))
    except (RuntimeError, OSError) as exc:  # the head failing costs this question its third ranking, no more
        log.warning("latent terms unavailable for a question (%s); answering without them", exc)
        return None


def _minmax(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    return {k: (v - low) / (high - low) if high > low else 1.0 for k, v in scores.items()}


class HybridRetriever(BaseRetriever):
    """LangChain face of :func:`retrieve`; documents carry the chunk's citation metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    knowledge: Any
    embeddings: Any
    k: int = 5
    fusion: Fusion = "rrf"

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        embeddings: IdentifiedEmbeddings = self.embeddings
        latent = latent_query(self.knowledge, embeddings, query, detect_language(query))
        hits = retrieve(self.knowledge, embeddings.embed_query(query), query, self.k, self.fusion, latent)
        return [
            Document(
                page_content=h.chunk.text,
                id=h.chunk.id,
                metadata={
                    "source": h.chunk.source,
                    "title": h.chunk.title,
                    "section": h.chunk.section,
                    "kind": h.chunk.kind,
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                    "score": round(h.fused, 5),
                },
            )
            for h in hits
        ]
