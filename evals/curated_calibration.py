"""How far apart two questions may be and still get the same curated answer: the measurement behind
``crmkb.bot.curated.MATCH``.

Two sets of question pairs, scored the way :class:`crmkb.bot.curated.CuratedAnswers` scores them:

- paraphrases (``evals/paraphrases.jsonl``): a published question and one a trainer would call the same
  question, asked another way or in the other script; these should match (rows marked
  ``"matches": false`` are ones the matcher is known to miss: a synonym swapped in, which e5 scores as low
  as different questions);
- distinct pairs from the golden set (``evals/golden.jsonl``, questions only): every two questions whose
  expected sections have none in common (near misses and follow-ups count: they are asked too), and
  every two that share a section but ask different things; none of these may match.

``python -m crmkb.evals.curated_calibration`` prints the scores and, for each candidate threshold, how many
paraphrases match and how many distinct pairs would. Vectors are cached under ``CRMKB_DATA_DIR``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np

from crmkb.evals.dataset import GOLDEN

PARAPHRASES = files("crmkb.evals") / "paraphrases.jsonl"

# Golden questions that are one question written twice (the other script, a wrapper such as "老板问:", or
# another wording of the same ask): a trainer would give both one answer, so they are not distinct pairs.
# Read by hand among the pairs scoring over 0.95; every other pair there is a different question (e.g.
# 时薪 / 日薪, "first step after failure" / "how many fail", 技术层面 / 业务层面).
SAME_QUESTION: frozenset[frozenset[str]] = frozenset(
    frozenset(pair.split("|"))
    for pair in """hans-01|ex-03 hans-32|ex-04 b-30|d-65 ex-01|ex-02 hans-42|hant-07 hans-23|hant-05
    hans-44|e-40 hans-14|hant-01 d-28|e-65 hans-50|hant-10 hans-none-06|d-04 b-31|e-42 b-28|e-08
    hans-40|hant-09 hans-16|ex-01 hans-16|ex-02 hans-44|f-45 e-40|f-45 b-08|f-44 d-28|f-70 e-65|f-70
    e-19|f-32 en-05|g30-22 en-09|g30-29 d-28|g30-88 f-70|g30-88 a-27|g30-59 b-08|g33-36 f-44|g33-36
    e-46|g33-58 g30-89|g33-28""".split()
)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    label: str  # "paraphrase", "other section" or "same section"
    matches: bool = False  # a paraphrase the matcher finds today (rows marked "matches": false it misses)


def paraphrase_pairs(path: Traversable = PARAPHRASES) -> list[Pair]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Pair(r["published"], r["asked"], "paraphrase", r.get("matches", True)) for r in rows]


def distinct_pairs(path: Traversable = GOLDEN) -> list[Pair]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = []
    for x, y in itertools.combinations(rows, 2):
        if x["question"] == y["question"] or frozenset({x["id"], y["id"]}) in SAME_QUESTION:
            continue
        shared = set(x.get("expected_sections", [])) & set(y.get("expected_sections", []))
        pairs.append(Pair(x["question"], y["question"], "same section" if shared else "other section"))
    return pairs


class CachedVectors:
    """Query vectors by text, kept in a JSON file so a second run embeds nothing."""

    def __init__(self, embed: Callable[[str], list[float]], name: str, cache: Path | None) -> None:
        self.embed, self.cache = embed, cache
        self.vectors: dict[str, list[float]] = {}
        self.key = lambda text: hashlib.sha256(f"{name}\n{text}".encode()).hexdigest()[:24]
        if cache is not None and cache.exists():
            self.vectors = json.loads(cache.read_text(encoding="utf-8"))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        for text in texts:
            if self.key(text) not in self.vectors:
                self.vectors[self.key(text)] = [round(float(v), 6) for v in self.embed(text)]
        if self.cache is not None:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            self.cache.write_text(json.dumps(self.vectors), encoding="utf-8")
        return np.asarray([self.vectors[self.key(t)] for t in texts], dtype=np.float32)


@dataclass(frozen=True)
class Scored:
    pairs: list[Pair]
    similarity: np.ndarray  # e5 similarity of the two questions as the matcher embeds them
    same: np.ndarray  # the two ask about the same content terms

    def matched(self, match: float | None = None, same_terms_match: float | None = None) -> np.ndarray:
        """Which pairs match under the matcher's rule (``crmkb.bot.curated.is_match``), or under other thresholds."""
        from crmkb.bot import curated

        high = curated.MATCH if match is None else match
        low = curated.MATCH_SAME_TERMS if same_terms_match is None else same_terms_match
        return (self.similarity >= high) | (self.same & (self.similarity >= low))


def score(pairs: list[Pair], vectors: Callable[[Sequence[str]], np.ndarray]) -> Scored:
    from crmkb.bot.curated import embedding_text, same_terms

    texts = sorted({embedding_text(t) for p in pairs for t in (p.a, p.b)})
    index = {t: i for i, t in enumerate(texts)}
    matrix = vectors(texts)
    a = matrix[[index[embedding_text(p.a)] for p in pairs]]
    b = matrix[[index[embedding_text(p.b)] for p in pairs]]
    same = np.asarray([same_terms(p.a, p.b) for p in pairs], dtype=bool)
    return Scored(pairs, np.sum(a * b, axis=1), same)


def report(scored: Scored) -> str:
    from crmkb.bot import curated

    pairs, similarity = scored.pairs, scored.similarity
    labels = np.asarray([p.label for p in pairs])
    para = labels == "paraphrase"
    lines = [f"{int(para.sum())} paraphrase pairs, {int((~para).sum())} distinct pairs"]
    for label in ("other section", "same section"):
        mask = labels == label
        top = np.argsort(-np.where(mask, similarity, -1.0))[:5]
        lines.append(f"{label}: {int(mask.sum())} pairs, highest e5 similarity:")
        lines += [f"  {similarity[i]:.4f}{' same terms' if scored.same[i] else ''}  {pairs[i].a} | {pairs[i].b}"
                  for i in top]  # fmt: skip
    idx = np.flatnonzero(para)
    lines.append("paraphrases, lowest first:")
    lines += [f"  {similarity[i]:.4f}{' same terms' if scored.same[i] else ''}  {pairs[i].a} | {pairs[i].b}"
              for i in idx[np.argsort(similarity[idx])][:10]]  # fmt: skip
    rules = [(t, None) for t in (0.95, 0.96, 0.97, 0.975)] + [(2.0, 0.95)]
    rules.append((curated.MATCH, curated.MATCH_SAME_TERMS))
    for high, low in rules:
        matched = scored.matched(high, low if low is not None else 2.0)
        rule = f"similarity >= {high:.3f}" if high <= 1 else ""
        if low is not None:
            rule += (" or " if rule else "") + f"same terms and >= {low:.3f}"
        lines.append(f"{rule}: paraphrases matched {int((matched & para).sum())}/{int(para.sum())}, "
                     f"false matches {int((matched & ~para).sum())}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    from crmkb.core.settings import get_settings
    from crmkb.ingest.embeddings import make_embeddings

    settings = get_settings()
    embeddings = make_embeddings(settings.embedding)
    cache = settings.data_dir / "cache" / "curated-calibration.json"
    vectors = CachedVectors(embeddings.embed_query, embeddings.name, cache)
    print(report(score(paraphrase_pairs() + distinct_pairs(), vectors)))


if __name__ == "__main__":
    main()
