"""Text that remembers where each character came from.

Cleaning deletes boilerplate, rewrites characters and converts script; citations must still point at
the original file. A :class:`Tracked` string carries, for every character, its offset in the original
text, so every cleaning step stays traceable without ad-hoc bookkeeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Tracked:
    """``text`` plus ``origin``: ``origin[i]`` is the original offset of ``text[i]``.

    ``origin`` has one extra trailing entry (the original offset just past the last character), so a
    span ``[start, end)`` of the text maps to ``[origin[start], origin_end(end))`` in the original.
    """

    text: str
    origin: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Tracked:
        return cls(text, tuple(range(len(text) + 1)))

    def __post_init__(self) -> None:
        if len(self.origin) != len(self.text) + 1:
            raise ValueError("origin must have len(text) + 1 entries")

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering the cleaned span (end is past the last mapped character)."""
        if end <= start:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.origin[end - 1] + 1

    def sub(self, pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str]) -> Tracked:
        """``pattern.sub`` that keeps the origin map.

        A replacement of the same length maps character to character (a script fix); otherwise every
        replacement character maps to the start of what it replaced.
        """
        pieces: list[tuple[str, Iterable[int]]] = []
        last = 0
        for m in pattern.finditer(self.text):
            pieces.append((self.text[last : m.start()], self.origin[last : m.start()]))
            new = repl(m) if callable(repl) else m.expand(repl)
            if len(new) == m.end() - m.start():
                pieces.append((new, self.origin[m.start() : m.end()]))
            else:
                pieces.append((new, [self.origin[m.start()]] * len(new)))
            last = m.end()
        if not pieces:
            return self
        pieces.append((self.text[last:], self.origin[last:-1]))
        return _join(pieces, self.origin[-1])

    def map_chars(self, convert: Callable[[str], str]) -> Tracked:
        """Apply a per-character conversion; characters may expand (NFKC '…' → '...') or vanish."""
        pieces: list[tuple[str, Iterable[int]]] = []
        for ch, o in zip(self.text, self.origin, strict=False):
            out = convert(ch)
            pieces.append((out, [o] * len(out)))
        return _join(pieces, self.origin[-1])

    def map_lines(self, convert: Callable[[str], str], fallback: Callable[[str], str]) -> Tracked:
        """Apply a whole-line conversion (phrase-aware script conversion).

        When a line keeps its length the map stays character-exact; when it does not, that line is
        converted character by character with ``fallback`` instead, which keeps offsets exact.
        """
        pieces: list[tuple[str, Iterable[int]]] = []
        pos = 0
        for line in self.text.splitlines(keepends=True):
            end = pos + len(line)
            converted = convert(line)
            if len(converted) == len(line):
                pieces.append((converted, self.origin[pos:end]))
            else:
                for ch, o in zip(line, self.origin[pos:end], strict=True):
                    out = fallback(ch)
                    pieces.append((out, [o] * len(out)))
            pos = end
        return _join(pieces, self.origin[-1])

    def delete_spans(self, spans: Iterable[tuple[int, int]]) -> Tracked:
        """Remove the given ``[start, end)`` spans (they may overlap or be unordered)."""
        keep = [True] * len(self.text)
        for start, end in spans:
            for i in range(max(start, 0), min(end, len(self.text))):
                keep[i] = False
        text = "".join(ch for ch, k in zip(self.text, keep, strict=True) if k)
        origin = (*(o for o, k in zip(self.origin, keep, strict=False) if k), self.origin[-1])
        return Tracked(text, origin)


def _join(pieces: list[tuple[str, Iterable[int]]], tail: int) -> Tracked:
    text = "".join(p for p, _ in pieces)
    origin: list[int] = []
    for _, o in pieces:
        origin.extend(o)
    origin.append(tail)
    return Tracked(text, tuple(origin))
