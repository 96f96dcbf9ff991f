"""How much of a question's wording each section of the knowledge base uses.

A question's words are often spread over a section rather than held by one sentence of it ("上线以后没人用,
领导也不管" is the subject of a whole section on user adoption), and jieba cuts a question and the articles
apart differently, Taiwan wording mapped onto mainland words most of all. So each section (its heading, which
names its subject, counted twice, and its sentences) is indexed by BM25 over character pairs, which match
however either side was cut, and a question gets each section's score as a share of the best section's.
"""

from __future__ import annotations

from crmkb.bot.knowledge import Knowledge, SectionKey
from crmkb.ingest.sparse import SparseIndex, character_pairs

# Characters that ask, point or join: a pair of two of them ("的是", "有哪", "如何", "我们") names no subject and
# would match every section.
_FUNCTION_CHARACTERS = frozenset(
    "的了是在和与及或也都就而对把被让给为以之其这那个些我你他她它们您吗呢吧啊呀嘛么什怎如何哪谁几多少否可能会"
    "应该要有没不很还再又才将从到于时候样得地着过一"
)


class SectionWords:
    """BM25 over the character pairs of every section, built once from a loaded knowledge base."""

    def __init__(self, knowledge: Knowledge) -> None:
        texts: dict[SectionKey, list[str]] = {}
        for source, start, end, chunk_id in knowledge.sentences.positions():
            key = (source, knowledge.chunks[chunk_id].section)
            if key not in texts:
                texts[key] = [key[1], key[1]]
            texts[key].append(knowledge.documents[source].text[start:end])
        self._keys = list(texts)
        tokens = [character_pairs(" ".join(parts), _FUNCTION_CHARACTERS) for parts in texts.values()]
        self._index = SparseIndex.build([""] * len(tokens), tokens)

    def shares(self, question: str) -> dict[SectionKey, float]:
        """Each section's BM25 score for ``question`` as a share of the best section's (1.0 for the best;
        empty when no section uses any of its character pairs)."""
        scores = self._index.matching(character_pairs(question, _FUNCTION_CHARACTERS))
        best = float(scores.max()) if len(scores) else 0.0
        if best <= 0:
            return {}
        return {key: float(score) / best for key, score in zip(self._keys, scores, strict=True) if score > 0}
