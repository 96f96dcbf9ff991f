"""The knowledge base's catalog: per-document title, kind, original script and subject (kb/catalog.toml),
and the English titles an admin gives a document and its sections for English askers."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from crmkb.core.errors import UserError
from crmkb.ingest.chunking import SECTION_SEPARATOR

CATALOG_FILE = "catalog.toml"
Kind = Literal["best-practice", "failure-case"]

# What every channel calls the kinds, per language; the web pages read it from the API (kind_label).
KIND_LABELS: dict[str, dict[str, str]] = {
    "zh-Hans": {"best-practice": "最佳实践", "failure-case": "失败案例"},
    "zh-Hant": {"best-practice": "最佳實踐", "failure-case": "失敗案例"},
    "en": {"best-practice": "Best practice", "failure-case": "Failure case"},
}


def kind_label(kind: str, language: str) -> str:
    """ "Best practice", "失败案例" …: the kind in ``language`` (English for any other); "" for an unknown kind."""
    return KIND_LABELS.get(language, KIND_LABELS["en"]).get(kind, "")


def place_label(title: str, section: str) -> str:
    """Where a passage comes from as a reader sees it: "title › section", or the title alone."""
    return f"{title} › {section}" if section else title


# An uncatalogued document whose title speaks of failure, risk or rescue reads as a failure case.
_FAILURE_WORDS = re.compile(r"失败|风险|挽救|教训|踩坑|failure|fail|risk|rescue|lesson", re.IGNORECASE)


EnglishTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CatalogEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    kind: Kind
    script: Literal["zh-Hans", "zh-Hant", "mixed", "en"] = "mixed"
    subject: str = ""
    # Who wrote it, as a reader would name them ("RegionSoft, a CRM vendor"): askers name an article by its
    # author as often as by its subject ("the vendor article", "顾问写的那篇").
    author: str = ""
    title_en: EnglishTitle | None = None
    # Keyed by section name exactly as the chunker names it ("分析而不是责备 > 找出错误,但不要责备当事人"), or
    # by a heading above sections ("分析而不是责备"); each value is the English of that name's last heading.
    sections_en: dict[str, EnglishTitle] = Field(default_factory=dict)


class CatalogError(UserError):
    """kb/catalog.toml cannot be used; the message says where and why."""


def load_catalog(kb_dir: Path) -> dict[str, CatalogEntry]:
    """Entries keyed by file name; an absent catalog is an empty one."""
    path = kb_dir / CATALOG_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: {exc}") from None
    entries = {}
    for name, raw in data.items():
        try:
            entries[name] = CatalogEntry.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors()
            )
            raise CatalogError(f"{path} [{name}]: {problems}") from None
    return entries


def guess_kind(title: str) -> Kind:
    return "failure-case" if _FAILURE_WORDS.search(title) else "best-practice"


def heading_names(sections: Iterable[str]) -> list[str]:
    """Every name a ``sections_en`` key may take for these chunk sections: each section and the heading
    chains above it, in first-seen order."""
    names: dict[str, None] = {}
    for section in sections:
        parts = section.split(SECTION_SEPARATOR) if section else []
        for i in range(1, len(parts) + 1):
            names[SECTION_SEPARATOR.join(parts[:i])] = None
    return list(names)


def unknown_sections(source: str, entry: CatalogEntry, sections: Iterable[str]) -> list[str]:
    """One warning per ``sections_en`` key that names no heading of the document, with the nearest real
    name: a typo in an English title must not stop an ingest, but the admin should hear of it."""
    names = heading_names(sections)
    warnings = []
    for key in entry.sections_en:
        if key in names:
            continue
        near = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        warnings.append(f"{CATALOG_FILE} [{source}] sections_en: no section named {key!r}{hint}")
    return warnings


def english_section(section: str, sections_en: Mapping[str, str]) -> str:
    """A section's English title: each heading of its chain in English, in Chinese where the catalog has
    none; empty when none of the chain has an English title."""
    parts = section.split(SECTION_SEPARATOR) if section else []
    english = [sections_en.get(SECTION_SEPARATOR.join(parts[: i + 1]), "") for i in range(len(parts))]
    if not any(english):
        return ""
    return SECTION_SEPARATOR.join(e or part for e, part in zip(english, parts, strict=True))
