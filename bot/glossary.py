"""The bilingual CRM glossary (kb/glossary.toml): English terms → the Chinese terms the articles use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from crmkb.core.errors import Unavailable
from crmkb.ingest.glossary_file import glossary_path, parse_glossary


class GlossaryError(Unavailable):
    """A glossary cannot be used; the message says where and why. It is read when the index loads, so to an
    asker it is a part unavailable until an admin fixes it, not a fault in the question."""


# English inflections tried, in order, when a word is not in the glossary as written (rescuing → rescue).
_SUFFIXES = (("ies", "y"), ("ing", "e"), ("ing", ""), ("ed", "e"), ("ed", ""), ("es", ""), ("s", ""))


# Derivational endings: a word the glossary does not hold may share its stem with one it does, the stem then
# taking another of these endings (preparatory → preparation, organizational → organization). A stem of
# fewer than MIN_STEM letters is too short to be one word's ("integr-ity" is not "integr-ation").
_DERIVED = (
    "ations",
    "ation",
    "atory",
    "ative",
    "ments",
    "ment",
    "ions",
    "ion",
    "ive",
    "ory",
    "ally",
    "al",
    "",
)
MIN_STEM = 7


@dataclass(frozen=True)
class Glossary:
    terms: dict[str, tuple[str, ...]]
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, kb_dir: Path) -> Glossary:
        """The glossary in ``kb_dir``: what a version published before glossaries were is answered with."""
        path = glossary_path(kb_dir)
        if not path.exists():
            return cls({})
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GlossaryError(f"{path}: {exc}") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, where: str) -> Glossary:
        """The glossary written in ``text``; ``where`` names it in the error when it is not one."""
        try:
            return cls(*parse_glossary(text))
        except (ValueError, TypeError, AttributeError) as exc:
            raise GlossaryError(f"{where}: {exc}") from None

    def translate(self, text: str) -> tuple[list[tuple[str, ...]], list[str]]:
        """The Chinese renderings of each English phrase in ``text`` (longest phrase first), one group per
        phrase, and the English words the glossary does not know."""
        words = [self._known_form(w) for w in re.sub(r"[^a-z0-9\- ]+", " ", text.lower()).split()]
        lowered = " " + " ".join(words) + " "
        found: list[tuple[str, ...]] = []
        for phrase in sorted(self.terms, key=len, reverse=True):
            pattern = f" {phrase} "
            if pattern in lowered:
                found.append(self.terms[phrase])
                lowered = lowered.replace(pattern, " | ")
        unknown = [w for w in lowered.split() if w not in {"|"}]
        return found, unknown

    def _known_form(self, word: str) -> str:
        """``word`` as the glossary lists it: inflection stripped, or a hyphenated compound split."""
        if word in self.terms:
            return word
        for suffix, replacement in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                stem = word[: -len(suffix)] + replacement
                if stem in self.terms:
                    return stem
        for ending in _DERIVED:
            stem = word[: len(word) - len(ending)]
            if ending and word.endswith(ending) and len(stem) >= MIN_STEM:
                relative = next((stem + e for e in _DERIVED if stem + e in self.terms), None)
                if relative is not None:
                    return relative
        return word.replace("-", " ") if "-" in word else word
