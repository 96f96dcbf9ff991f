"""Hybrid retrieval: dense (the index's vectors, e5 query embedding) and BM25 (jieba) fused by reciprocal rank.

``retrieve`` is the engine; :class:`HybridRetriever` exposes it as a LangChain retriever so the LLM chain
uses exactly the same retrieval as the extractive answerer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from crmkb.bot.knowledge import Knowledge
from crmkb.bot.spans import top
from crmkb.ingest.chunking import Chunk
from crmkb.ingest.embeddings import IdentifiedEmbeddings

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
    knowledge: Knowledge, query_vector: list[float], keyword_query: str, k: int, fusion: Fusion = "rrf"
) -> list[Hit]:
    """Top ``k`` chunks by fusing the dense and BM25 rankings (reciprocal rank, or a weighted sum of
    min-max normalised scores)."""
    n = min(CANDIDATES, len(knowledge.chunks))
    dense = knowledge.index.nearest(query_vector, n)
    scores = knowledge.sparse.scores(keyword_query)
    sparse = {knowledge.sparse_ids[i]: float(scores[i]) for i in top(scores, n) if scores[i] > 0}

    fused: dict[str, float] = {}
    if fusion == "rrf":
        for ranking in (sorted(dense, key=dense.__getitem__, reverse=True), list(sparse)):
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
    else:
        for scores_, weight in ((_minmax(dense), DENSE_SHARE), (_minmax(sparse), 1.0 - DENSE_SHARE)):
            for cid, value in scores_.items():
                fused[cid] = fused.get(cid, 0.0) + weight * value
    best = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
    return [Hit(knowledge.chunks[c], dense.get(c, 0.0), sparse.get(c, 0.0), fused[c]) for c in best]


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
        hits = retrieve(self.knowledge, embeddings.embed_query(query), query, self.k, self.fusion)
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
