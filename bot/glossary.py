"""The bilingual CRM glossary (kb/glossary.toml): English terms → the Chinese terms the articles use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
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
# Irregular past forms, read as the verb they inflect when the glossary uses that verb ("went live" is
# "go live", "the consultant left" is "leave"); regular ones are stripped by _SUFFIXES.
_IRREGULAR = {
    "went": "go", "gone": "go", "did": "do", "done": "do", "got": "get", "gotten": "get", "took": "take",
    "taken": "take", "made": "make", "came": "come", "ran": "run", "began": "begin", "begun": "begin",
    "brought": "bring", "bought": "buy", "built": "build", "kept": "keep", "left": "leave", "held": "hold",
    "fell": "fall", "fallen": "fall", "broke": "break", "broken": "break", "sent": "send", "spent": "spend",
    "lost": "lose", "paid": "pay", "sold": "sell", "told": "tell", "thought": "think", "chose": "choose",
    "chosen": "choose", "wrote": "write", "written": "write", "gave": "give", "given": "give",
    "drove": "drive", "driven": "drive", "saw": "see", "seen": "see", "felt": "feel", "met": "meet",
    "understood": "understand",
}  # fmt: skip


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
        tokens = [
            part
            for word in re.sub(r"[^a-z0-9\- ]+", " ", text.lower()).split()
            # a compound the glossary does not hold is its words ("kicked-off" is "kick off"), and one
            # written closed is the phrase it closes up ("closeout" is "close-out", "golive" is "go live")
            for part in (
                [word] if word in self.terms else self._closed_up(word) or [p for p in word.split("-") if p]
            )
        ]
        # a word alone is the key it is read as ("users" → "user", "preparatory" → "preparation"); in a
        # phrase, any form it may inflect ("kicked off" → "kick off", "went live" → "go live")
        alone = [self._known_form(token) for token in tokens]
        forms = [{*self._base_forms(token), known} for token, known in zip(tokens, alone, strict=True)]
        present = set().union(*forms)  # a phrase none of whose first word's forms is here is skipped at once
        taken = [False] * len(tokens)
        found: list[tuple[str, ...]] = []
        for phrase, words in self._phrases:
            if words[0] not in present:
                continue
            at = [
                i
                for i in range(len(tokens) - len(words) + 1)
                if not any(taken[i : i + len(words)])
                and (
                    alone[i] == phrase
                    if len(words) == 1
                    else all(w in forms[i + j] for j, w in enumerate(words))
                )
            ]
            if not at:
                continue
            found.append(self.terms[phrase])
            for i in at:
                taken[i : i + len(words)] = [True] * len(words)
        unknown = [known for known, used in zip(alone, taken, strict=True) if not used]
        return found, unknown

    def _closed_up(self, word: str) -> list[str] | None:
        return next((self._closed[form] for form in self._base_forms(word) if form in self._closed), None)

    @cached_property
    def _closed(self) -> dict[str, list[str]]:
        """Each key of more than one word written closed up ("closeout", "golive"), with the tokens it is
        read as: a hyphenated key whole, a spaced one as its words."""
        closed: dict[str, list[str]] = {}
        for phrase in self.terms:
            written = re.sub(r"[\s\-]+", "", phrase)
            if written != phrase and written and written not in self.terms:
                closed.setdefault(written, [phrase] if " " not in phrase else phrase.split())
        return closed

    @cached_property
    def _phrases(self) -> list[tuple[str, list[str]]]:
        """The keys with their words, longest first: a longer phrase takes its words before a shorter one. A
        blank key (an admin's slip) has no words and matches nothing."""
        return [
            (phrase, phrase.split()) for phrase in sorted(self.terms, key=len, reverse=True) if phrase.split()
        ]

    @staticmethod
    def _base_forms(word: str) -> list[str]:
        """``word`` and what it may inflect: "wrapping" → wrapp(e), wrap; "went" → go. A stem of two letters
        is kept only for a phrase's word ("going live")."""
        forms = [word]
        if word in _IRREGULAR:
            forms.append(_IRREGULAR[word])
        for suffix, replacement in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 2:
                stem = word[: -len(suffix)] + replacement
                forms.append(stem)
                if len(stem) > 3 and stem[-1] == stem[-2]:  # the inflection doubled it
                    forms.append(stem[:-1])
        return forms

    def _known_form(self, word: str) -> str:
        """``word`` as the glossary lists it on its own: inflection or derivation stripped."""
        forms = self._base_forms(word)
        # "its" is not "it" (IT): a stem of two letters is only a phrase's word
        found = next((form for form in forms if form in self.terms and (form == word or len(form) > 2)), None)
        if found is not None:
            return found
        for ending in _DERIVED:
            stem = word[: len(word) - len(ending)]
            if ending and word.endswith(ending) and len(stem) >= MIN_STEM:
                relative = next((stem + e for e in _DERIVED if stem + e in self.terms), None)
                if relative is not None:
                    return relative
        return word
