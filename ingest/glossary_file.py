"""kb/glossary.toml as ingest takes it: checked, then published with each index version, so that a server
answers English questions with the glossary of the version it serves, wherever it was started.

The glossary maps English terms to the Chinese terms the articles use (``[terms]``) and other Chinese
wordings to the articles' own (``[synonyms]``); :mod:`crmkb.bot.glossary` reads it when a question comes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from crmkb.core.errors import UserError

GLOSSARY_FILE = "glossary.toml"

Entries = dict[str, tuple[str, ...]]


class GlossaryFileError(UserError):
    """kb/glossary.toml cannot be used; the message says where and why."""


def glossary_path(kb_dir: Path) -> Path:
    """Where the glossary of the knowledge base in ``kb_dir`` is (it may not exist: none is optional)."""
    return kb_dir / GLOSSARY_FILE


def parse_glossary(text: str) -> tuple[Entries, Entries]:
    """The ``[terms]`` (keys lower-cased) and ``[synonyms]`` of a glossary's text. Raises ValueError (a
    TOML error is one) or TypeError when the text is not a glossary."""
    data = tomllib.loads(text)
    terms = {_key(k, "terms").lower(): _strings(vs) for k, vs in data.get("terms", {}).items()}
    synonyms = {_key(k, "synonyms"): _strings(vs) for k, vs in data.get("synonyms", {}).items()}
    return terms, synonyms


def read_glossary(kb_dir: Path) -> str | None:
    """The text of the glossary in ``kb_dir``, checked; None when there is none."""
    path = glossary_path(kb_dir)
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        parse_glossary(text)
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError) as exc:
        raise GlossaryFileError(f"{path}: {exc}") from None
    return text


def _key(key: object, table: str) -> str:
    # a blank key or term is a slip (a key left to fill in): it would stand for nothing and be found in
    # every question and every passage
    if not str(key).strip():
        raise ValueError(f"[{table}] has a blank key")
    return str(key)


def _strings(values: object) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise TypeError(f"expected a list of terms, got {values!r}")
    terms = tuple(str(v) for v in values)
    if any(not term.strip() for term in terms):
        raise ValueError(f"a blank term in {values!r}")
    return terms
