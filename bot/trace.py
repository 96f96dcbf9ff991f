"""A record of how the extractive answerer reached an answer, for the admin console's hit testing.

Pass a :class:`Trace` to :meth:`ExtractiveAnswerer.gather` and it is filled in as answering goes; without
one nothing is recorded. Recording only copies what answering computes anyway, so it never changes what is
answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SentenceScore:
    """One sentence as the answerer scored it: ``score`` and the parts it was made of."""

    index: int  # in the knowledge's sentence table
    score: float
    dense: float  # cosine similarity of the sentence to the question
    terms: float  # share of the question's terms in the sentence
    heading_terms: float  # share in the sentence read under its document's title and section
    context: float  # the best similarity (scaled to 0..1) of a retrieved chunk holding it
    rank: int  # the best rank of such a chunk; the number of hits when only its own similarity found it


@dataclass
class Trace:
    query_text: str = ""  # what was embedded for dense retrieval
    keywords: str = ""  # what BM25 was asked
    sentences: list[SentenceScore] = field(default_factory=list)
