"""Prompt templates from ``prompts/`` (package data of :mod:`crmkb.prompts`), with their declared variables
checked on load.

Each file starts with a front-matter line ``variables: [a, b]``; a template that uses a variable it does
not declare, or declares one it never uses, is refused at load time rather than failing mid-answer.
The refusal sentinel and the citation format are defined here once and shared by prompt, parser and tests.
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from string import Formatter

from langchain_core.prompts import ChatPromptTemplate

from crmkb.core.errors import UserError

REFUSAL_SENTINEL = "NOT_IN_KB"
CITATION = re.compile(r"\[(\d{1,3})\]")
PROMPTS_DIR = files("crmkb.prompts")
_FRONT_MATTER = re.compile(r"\A---\nvariables:\s*\[([^\]]*)\]\n---\n", re.MULTILINE)

LANGUAGE_INSTRUCTIONS = {
    "zh-Hans": "Answer in Simplified Chinese.",
    "zh-Hant": "Answer in Traditional Chinese.",
    "en": "Answer in English; the passages are Chinese, so translate what they say faithfully.",
}


class PromptError(UserError):
    """A prompt file is missing, malformed, or its variables do not match its declaration."""


def load_template(path: Traversable) -> tuple[str, set[str]]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"{path}: {exc.strerror}") from None
    match = _FRONT_MATTER.match(raw)
    if not match:
        raise PromptError(f"{path}: must start with a '---\\nvariables: [...]\\n---' block")
    declared = {v.strip() for v in match.group(1).split(",") if v.strip()}
    body = raw[match.end() :]
    used = {name for _, name, _, _ in Formatter().parse(body) if name}
    if used != declared:
        raise PromptError(
            f"{path}: uses {sorted(used - declared) or 'none'} undeclared, declares {sorted(declared - used) or 'none'} unused"
        )
    return body, declared


def chat_prompt(folder: Traversable = PROMPTS_DIR) -> ChatPromptTemplate:
    """The system + user prompt of the LLM answerer."""
    system, _ = load_template(folder / "system.md")
    user, _ = load_template(folder / "user.md")
    return ChatPromptTemplate.from_messages([("system", system), ("human", user)])


def titles_prompt(folder: Traversable = PROMPTS_DIR) -> ChatPromptTemplate:
    """The prompt that drafts English titles for kb/catalog.toml (``crmkb catalog translate``)."""
    body, _ = load_template(folder / "catalog_titles.md")
    return ChatPromptTemplate.from_messages([("human", body)])
