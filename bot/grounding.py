"""Does a sentence say what its cited passage says? One checker, used by the LLM-mode guard and the evals.

Support is judged two ways, because answers come in two shapes:
- character-bigram containment: the share of the sentence's bigrams (after normalising script, width and
  punctuation) found in the passage. Chinese answers that restate a passage score high; invented clauses
  bring bigrams the passage does not have.
- embedding similarity: the e5 similarity of the sentence to the passage's closest sentence. It is used
  only for sentences not written in Chinese (an English rendering of Chinese evidence, where bigrams cannot
  match): between two Chinese sentences on the same topic e5 scores high even when one invents a claim.
A sentence is supported when the measure that applies clears its threshold.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from crmkb.bot.prompts import CITATION
from crmkb.ingest.chunking import CHINESE_SENTENCE_END
from crmkb.ingest.normalise import normalise

MIN_CONTAINMENT = 0.5
MIN_SIMILARITY = 0.86
_KEEP = re.compile(r"[\w\u3400-\u9fff]")


def bigrams(text: str) -> set[str]:
    chars = [ch for ch in normalise(text).lower() if _KEEP.match(ch)]
    return {a + b for a, b in itertools.pairwise(chars)}


def containment(sentence: str, passage: str) -> float:
    """Share of the sentence's character bigrams that occur in the passage."""
    wanted = bigrams(CITATION.sub("", sentence))
    if not wanted:
        return 0.0
    return len(wanted & bigrams(passage)) / len(wanted)


@dataclass(frozen=True)
class Support:
    containment: float
    similarity: float
    chinese: bool

    @property
    def supported(self) -> bool:
        if self.chinese:
            return self.containment >= MIN_CONTAINMENT
        return self.containment >= MIN_CONTAINMENT or self.similarity >= MIN_SIMILARITY


def support(
    sentence: str, passage: str, sentence_vector: np.ndarray | None, passage_vectors: np.ndarray
) -> Support:
    """How well ``passage`` supports ``sentence``; ``passage_vectors`` are its sentences' embeddings."""
    similarity = 0.0
    if sentence_vector is not None and len(passage_vectors):
        similarity = float(np.max(passage_vectors @ sentence_vector))
    return Support(containment(sentence, passage), similarity, is_chinese(sentence))


Embed = Callable[[str], list[float]]


def supported(claim: str, quote: str, embed: Embed | None = None) -> bool:
    """Whether one quote supports one claim: ``support`` with the vectors computed here when the claim is
    not Chinese (and an ``embed`` function is given)."""
    if embed is None or is_chinese(claim):
        return support(claim, quote, None, np.zeros((0, 1), np.float32)).supported
    vector = np.asarray(embed(claim), dtype=np.float32)
    return support(claim, quote, vector, np.asarray([embed(quote)], dtype=np.float32)).supported


def is_chinese(text: str) -> bool:
    """Mostly Chinese characters (at least a third of the letters)."""
    letters = [ch for ch in text if _KEEP.match(ch)]
    cjk = sum(1 for ch in letters if "\u3400" <= ch <= "\u9fff")
    return bool(letters) and cjk * 3 >= len(letters)


# As the articles' sentences end (crmkb.ingest.chunking); "1." numbers a list item and ends nothing.
_END = re.compile(rf"{CHINESE_SENTENCE_END}|(?<!\d)\.(?=\s|$|\[)|\n")
_MARKERS = re.compile(rf"\s*(?:{CITATION.pattern})+")


def answer_sentences(text: str) -> list[str]:
    """An answer split into sentences, each keeping the [n] markers written right after it."""
    sentences: list[str] = []
    start = 0
    for m in _END.finditer(text):
        end = m.end()
        markers = _MARKERS.match(text, end)
        if markers:
            end = markers.end()
        sentences.append(text[start:end])
        start = end
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip() and _KEEP.search(s)]


@dataclass(frozen=True)
class Claim:
    text: str  # the sentence without its markers
    markers: tuple[int, ...]  # the citations it must be supported by


def claims(text: str) -> list[Claim]:
    """The answer's sentences with the citations each one answers to. A marker covers the uncited
    sentences before it on the same line, as a citation at the end of a passage covers the passage; a
    sentence with no marker after it on its line has none."""
    out: list[Claim] = []
    for line in text.split("\n"):
        pending: list[str] = []
        for sentence in answer_sentences(line):
            markers = tuple(int(n) for n in CITATION.findall(sentence))
            claim = CITATION.sub("", sentence).strip()
            if not markers:
                pending.append(claim)
                continue
            out.extend(Claim(p, markers) for p in pending)
            out.append(Claim(claim, markers))
            pending = []
        out.extend(Claim(p, ()) for p in pending)
    return out


def framing(claim: Claim) -> bool:
    """An uncited lead-in ("Best-practice guidance …:", "…如下:") introduces what follows; it claims nothing."""
    return not claim.markers and claim.text.endswith(":")


def grounded(claim: Claim, quotes: Mapping[int, str], embed: Embed | None = None) -> bool:
    """The claims check: a quote the claim cites (``quotes`` by marker number) supports it."""
    return any(supported(claim.text, quotes[n], embed) for n in claim.markers if n in quotes)
