"""Editing kb/catalog.toml without disturbing what an admin wrote there: adding missing English titles
(``crmkb catalog``), and setting one entry's fields (the admin console's Documents page).

The file is edited through tomlkit, which keeps comments, order and formatting. Adding English titles only
adds keys that are missing: an English title already in the file is never replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit
from pydantic import ValidationError
from tomlkit.items import Table

from crmkb.core.files import write_atomically
from crmkb.ingest.catalog import CATALOG_FILE, CatalogEntry, CatalogError


@dataclass(frozen=True)
class EnglishTitles:
    """English titles to add for one document: its title (or "") and section name → English."""

    title_en: str = ""
    sections_en: Mapping[str, str] = field(default_factory=dict)


def add_english_titles(kb_dir: Path, titles: Mapping[str, EnglishTitles]) -> str:
    """kb/catalog.toml with ``titles`` added where the file has none, as text (written by the caller or
    shown by a dry run). Documents without an entry are left out: an entry needs a kind an admin chose."""
    path = kb_dir / CATALOG_FILE
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError) as exc:
        raise CatalogError(f"{path}: {exc}") from None
    for source, english in titles.items():
        entry = document.get(source)
        if not isinstance(entry, Table):
            continue
        if english.title_en and "title_en" not in entry:
            if "title" in entry:
                entry.value._insert_after("title", "title_en", english.title_en)
            else:
                _append(entry, "title_en", english.title_en)
        new = {k: v for k, v in english.sections_en.items() if v}
        if not new:
            continue
        sections = entry.get("sections_en")
        if sections is None:
            sections = tomlkit.table()
            sections.trivia.indent = "\n"  # a blank line above the new [" … ".sections_en] header
            _append(entry, "sections_en", sections)
        if not isinstance(sections, Table):
            raise CatalogError(
                f"{path} [{source}]: sections_en must be a table of section name = English title"
            )
        for name, title in new.items():
            if name not in sections:
                _append(sections, name, title)
    return tomlkit.dumps(document)


def set_entry(kb_dir: Path, source: str, fields: Mapping[str, str | None]) -> str:
    """kb/catalog.toml with ``source``'s entry given ``fields`` (a ``None`` or empty value removes the key),
    as text; the entry is created when missing, and refused (CatalogError) unless it is a valid one. Other
    keys of the entry (``sections_en``) and every other entry stay as they were."""
    path = kb_dir / CATALOG_FILE
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError) as exc:
        raise CatalogError(f"{path}: {exc}") from None
    entry = document.get(source)
    if entry is None:
        entry = tomlkit.table()
        document.append(source, entry)
    if not isinstance(entry, Table):
        raise CatalogError(f"{path} [{source}]: not a table")
    for key, value in fields.items():
        if value:
            entry[key] = value
        elif key in entry:
            del entry[key]
    try:
        CatalogEntry.model_validate(entry.unwrap())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors())
        raise CatalogError(f"[{source}]: {problems}") from None
    return tomlkit.dumps(document)


def write_catalog(kb_dir: Path, text: str) -> None:
    write_atomically(kb_dir / CATALOG_FILE, lambda handle: handle.write(text))


def _append(table: Table, key: str, value: object) -> None:
    """Add after the table's last key. tomlkit counts the comment lines above the next table as the end of
    this one, so a plain append would put the new key under the next entry's comment; inserting after the
    last key (tomlkit's own container method) keeps that comment where the admin wrote it."""
    body = table.value.body
    last = max((i for i, (k, _) in enumerate(body) if k is not None), default=-1)
    if last + 1 < len(body):
        table.value._insert_at(last + 1, key, value)
    else:
        table.append(key, value)
