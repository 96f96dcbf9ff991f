"""The knowledge base's catalog: per-document title, kind, original script and subject (kb/catalog.toml)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CATALOG_FILE = "catalog.toml"
Kind = Literal["best-practice", "failure-case"]

# An uncatalogued document whose title speaks of failure, risk or rescue reads as a failure case.
_FAILURE_WORDS = re.compile(r"失败|风险|挽救|教训|踩坑|failure|fail|risk|rescue|lesson", re.IGNORECASE)


class CatalogEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    kind: Kind
    script: Literal["zh-Hans", "zh-Hant", "mixed", "en"] = "mixed"
    subject: str = ""


class CatalogError(ValueError):
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
