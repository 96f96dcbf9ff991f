"""The golden question set (JSONL): what each question should retrieve and say, or that it must be refused."""

from __future__ import annotations

import json
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crmkb.core.errors import UserError

GOLDEN = files("crmkb.evals") / "golden.jsonl"  # package data, as are paraphrases.jsonl and thresholds.toml


Kind = Literal[
    "what", "how", "why", "yesno", "list", "figure", "scenario", "multidoc", "followup", "nearmiss"
]
Split = Literal["dev", "test"]


class GoldenItem(BaseModel):
    """One question and what a good answer holds. ``split`` keeps tuning honest: heuristics are tuned on
    ``dev`` questions only, and ``test`` questions are reported and gated, never tuned on."""

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str = Field(min_length=1)
    lang: Literal["zh-Hans", "zh-Hant", "en"]
    expected_sources: list[str] = Field(default_factory=list)
    expected_phrases: list[str] = Field(default_factory=list)
    answerable: bool
    kind: Kind = "what"
    style: str = "plain"
    split: Split = "dev"
    history: list[str] = Field(default_factory=list, description="Earlier questions (a follow-up's context).")
    expected_sections: list[str] = Field(
        default_factory=list, description="'<source>#<section>' where a good answer's quotes come from."
    )
    list_items: list[str] = Field(
        default_factory=list, description="A list answer's items, one snippet each."
    )

    @model_validator(mode="after")
    def _consistent(self) -> GoldenItem:
        if self.answerable and not (self.expected_sources and self.expected_phrases):
            raise ValueError("an answerable question needs expected_sources and expected_phrases")
        if not self.answerable and (self.expected_sources or self.expected_phrases or self.expected_sections):
            raise ValueError("an unanswerable question expects no sources, sections or phrases")
        if self.kind == "followup" and not self.history:
            raise ValueError("a follow-up needs the question before it in history")
        for label in self.expected_sections:
            if label.partition("#")[0] not in self.expected_sources:
                raise ValueError(f"section {label!r} is not in an expected source")
        return self

    @property
    def sections(self) -> set[tuple[str, str]]:
        return {
            (source, section) for source, _, section in (s.partition("#") for s in self.expected_sections)
        }


class DatasetError(UserError):
    """The dataset file cannot be used; the message names the line."""


def load_dataset(path: Traversable = GOLDEN) -> list[GoldenItem]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: {exc.strerror}") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(GoldenItem.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            if isinstance(exc, json.JSONDecodeError):
                first = str(exc).splitlines()[0]
            else:
                error = exc.errors()[0]
                where = ".".join(str(part) for part in error["loc"])
                first = f"{where}: {error['msg']}" if where else error["msg"]
            raise DatasetError(f"{path}:{number}: {first}") from None
    if not items:
        raise DatasetError(f"{path}: no questions")
    return items
