"""The bilingual CRM glossary (kb/glossary.toml): English terms → the Chinese terms the articles use."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

GLOSSARY_FILE = "glossary.toml"


class GlossaryError(ValueError):
    """kb/glossary.toml cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Glossary:
    terms: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, kb_dir: Path) -> Glossary:
        path = kb_dir / GLOSSARY_FILE
        if not path.exists():
            return cls({})
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            terms = {str(k).lower(): tuple(str(v) for v in vs) for k, vs in data.get("terms", {}).items()}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError, AttributeError) as exc:
            raise GlossaryError(f"{path}: {exc}") from None
        return cls(terms)

    def translate(self, text: str) -> tuple[list[str], list[str]]:
        """Chinese terms for the English phrases in ``text`` (longest phrase first), and the English words
        the glossary does not know."""
        lowered = " " + re.sub(r"[^a-z0-9\- ]+", " ", text.lower()) + " "
        found: list[str] = []
        for phrase in sorted(self.terms, key=len, reverse=True):
            pattern = f" {phrase} "
            if pattern in lowered:
                found.extend(t for t in self.terms[phrase] if t not in found)
                lowered = lowered.replace(pattern, " | ")
        unknown = [w for w in lowered.split() if w not in {"|"}]
        return found, unknown
