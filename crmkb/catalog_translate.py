"""Drafting the English titles kb/catalog.toml lacks with the configured LLM endpoint
(``crmkb catalog translate``).

The model only drafts: its reply is parsed, cut down to what was asked, cleaned, and added only where the
catalog has no English title yet, so nothing an admin wrote is replaced. The admin reviews the file like
any other edit, then runs ``crmkb ingest``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from crmkb.bot.prompts import titles_prompt
from crmkb.core.errors import Unavailable
from crmkb.core.settings import Settings
from crmkb.ingest.catalog import heading_names, load_catalog
from crmkb.ingest.catalog_edit import EnglishTitles
from crmkb.ingest.loaders import SkipFile
from crmkb.ingest.pipeline import discover, prepare

MAX_TITLE = 200  # as the catalog allows
# The answer puts an English title on a line of its own, ending in ":", above a quote; a title ending in
# "." or "?" would read there as a sentence of its own (the prompt asks for none inside either).
_TRAILING = ".。?？!！;；:： "
NO_ENDPOINT = (
    "crmkb catalog translate drafts titles with an LLM: set CRMKB_LLM_BASE_URL to an OpenAI-compatible "
    "endpoint (e.g. http://host:8000/v1), and CRMKB_LLM_API_KEY and CRMKB_LLM_MODEL if it needs them"
)


class DraftError(Unavailable):
    """The model's reply for one document is not the JSON asked for."""


@dataclass(frozen=True)
class Missing:
    """What one catalogued document lacks: its Chinese title when it has no English one (else ""), and
    the section names without an English title, in reading order."""

    source: str
    title: str
    sections: list[str]


def missing_titles(settings: Settings) -> tuple[list[Missing], list[str]]:
    """The documents in kb/ whose English titles are incomplete, and notes on files that cannot have any
    (no catalog entry: an entry needs a kind an admin chose)."""
    kb_dir = settings.kb_dir
    catalog = load_catalog(kb_dir)
    files, _ = discover([kb_dir], kb_dir, follow_links_out=settings.ingest.follow_links_out)
    missing: list[Missing] = []
    notes: list[str] = []
    for path in files:
        entry = catalog.get(path.name)
        if entry is None:
            notes.append(f"{path.name}: no entry in catalog.toml; add one (title, kind) first")
            continue
        try:
            prepared = prepare(path, kb_dir=kb_dir, catalog=catalog, settings=settings)
        except SkipFile as exc:
            notes.append(f"{path.name}: not ingested ({exc})")
            continue
        names = heading_names(c.section for c in prepared.chunks)
        sections = [name for name in names if name not in entry.sections_en]
        title = "" if entry.title_en else entry.title
        if title or sections:
            missing.append(Missing(path.name, title, sections))
    return missing, notes


def draft(model: BaseChatModel, item: Missing) -> EnglishTitles:
    """The model's English titles for what ``item`` lacks; raises DraftError on a reply it cannot use."""
    request = {"title": item.title, "sections": item.sections} if item.title else {"sections": item.sections}
    reply = (titles_prompt() | model).invoke({"request": json.dumps(request, ensure_ascii=False, indent=1)})
    data = _json_object(str(reply.content))
    if data is None:
        raise DraftError(f"{item.source}: the model's reply is not the JSON object asked for")
    sections = data.get("sections")
    drafted = sections if isinstance(sections, dict) else {}
    return EnglishTitles(
        title_en=_clean(data.get("title")) if item.title else "",
        sections_en={name: t for name in item.sections if (t := _clean(drafted.get(name)))},
    )


def _json_object(reply: str) -> dict[str, object] | None:
    """The JSON object in a reply, which models like to wrap in a code fence or a sentence."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(reply[start : end + 1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _clean(value: object) -> str:
    if not isinstance(value, str):
        return ""
    text = " ".join(value.split()).rstrip(_TRAILING)
    return text if len(text) <= MAX_TITLE else ""
