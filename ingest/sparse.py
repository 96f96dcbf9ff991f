"""Keyword retrieval: BM25 over jieba tokens of the normalised text (bm25s), saved beside the index.

jieba passes Latin text through as lower-cased words; English inflections are folded ("sandboxes",
"refreshed" → "sandbox", "refresh") the same way in documents and questions, so an English question finds
an English document however either inflects the word.
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import cache
from pathlib import Path

import bm25s
import numpy as np

from crmkb.ingest.normalise import normalise

# Function words that match everywhere and only dilute BM25 for the short questions staff ask.
_STOPWORD_TEXT = """
的 了 是 在 和 与 及 或 也 都 就 而 对 对于 把 被 让 给 为 以 之 其 这 那 这个 那个 这些 那些 一个 一些
我们 你们 他们 它 它们 您 你 我 他 她 吗 呢 吧 啊 么 什么 怎么 如何 哪些 是否 可以 应该
the a an of to and or in on for is are be with what how which do does
was were been this that these those we you our your they their i my me by at as can could should
would will when where who why there has have had
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"\w")
_LATIN = re.compile(r"^[a-z]+$")
# Suffixes folded, longest first; a stem keeps at least three letters ("used" stays whole).
_SUFFIXES = (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"), ("ing", ""),
             ("ed", ""), ("s", ""))  # fmt: skip


@cache
def _jieba() -> object:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # jieba announces its dictionary load on stderr otherwise
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens of the normalised, lower-cased text, without punctuation and stopwords."""
    jieba = _jieba()
    tokens = jieba.lcut_for_search(normalise(text).lower())  # type: ignore[attr-defined]
    kept = (t for t in (tok.strip() for tok in tokens) if t and _WORD.search(t) and t not in STOPWORDS)
    return [fold(t) if _LATIN.match(t) else t for t in kept]


@cache
def tokenizer_identity() -> str:
    """Names the code and dictionary behind :func:`tokenize`, so cached tokens are reused only while both
    are unchanged (an edited stopword list or a new jieba is a different tokeniser)."""
    import jieba

    from crmkb.ingest import normalise as normalise_module

    digest = hashlib.sha256(Path(__file__).read_bytes() + Path(normalise_module.__file__).read_bytes())
    return f"jieba {jieba.__version__} {digest.hexdigest()[:16]}"


def fold(word: str) -> str:
    """An English word without its inflection: plural, -ed, -ing (a light stemmer, not a lemmatiser)."""
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith(("ss", "us", "is")):
            return word[: -len(suffix)] + replacement
    return word


class SparseIndex:
    """BM25 scores for every chunk, in the order the chunks were indexed."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: list[str], tokens: list[list[str]] | None = None) -> SparseIndex:
        """The index of ``texts``; ``tokens`` (their :func:`tokenize`, e.g. cached) spares tokenising."""
        model = bm25s.BM25()
        tokens = tokens if tokens is not None else [tokenize(t) for t in texts]
        # bm25s cannot index an empty document; a placeholder token keeps positions aligned.
        model.index([t or ["\u2205"] for t in tokens], show_progress=False)
        return cls(model, len(texts))

    def save(self, folder: Path) -> None:
        self._model.save(str(folder))
        (folder / "size").write_text(str(self.size))

    @classmethod
    def load(cls, folder: Path) -> SparseIndex:
        # mapped: the postings are files every worker of a host shares, not a copy in each
        model = bm25s.BM25.load(str(folder), mmap=True)
        return cls(model, int((folder / "size").read_text()))

    def scores(self, query: str) -> np.ndarray:
        tokens = [t for t in tokenize(query) if t in self._model.vocab_dict]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)
