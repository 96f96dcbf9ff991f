"""Editing a published curated answer in place: its text and its quotes, checked and saved the way
``crmkb faq publish`` checks and publishes (:mod:`crmkb.faq.review`, :func:`crmkb.bot.curated.publish`).

An edit names the entry by its id and the revision it was based on; a save of an edit based on a revision
that has changed since is refused (:class:`crmkb.bot.curated.Conflict`), so two trainers never overwrite each
other unseen. The published file is replaced atomically, and every server process picks it up on its next
question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmkb.bot import curated
from crmkb.bot.service import Bot
from crmkb.core.errors import NotFound, UserError
from crmkb.faq.entries import APPROVED, Entry
from crmkb.faq.review import Review, as_answer, refusal, review


class EditError(UserError):
    """An edit that cannot be checked as given (empty, or naming a citation the entry does not have)."""


class NotPublished(NotFound):
    """No published curated answer has this id."""


@dataclass(frozen=True)
class Checked:
    entry: Entry  # as it would be published: the edit, and the citations re-anchored where their quotes are
    review: Review


class Refused(UserError):
    """The check flagged the edit; nothing was saved. ``checked`` says where."""

    def __init__(self, reason: str, checked: Checked) -> None:
        super().__init__(reason)
        self.checked = checked


@dataclass(frozen=True)
class Edit:
    answer: str  # the whole answer text, with its [n] markers
    quotes: dict[int, str] = field(default_factory=dict)  # changed quotes, by citation number


def find(data_dir: Path, entry_id: str) -> dict[str, Any]:
    found = next((e for e in curated.published(data_dir) if curated.entry_id(e) == entry_id), None)
    if found is None:
        raise NotPublished(f"no published curated answer has the id {entry_id!r} (unpublished meanwhile?)")
    return found


def check(bot: Bot, stored: dict[str, Any], edit: Edit) -> Checked:
    """The edited entry and its check, as ``faq publish`` would check it; nothing is written."""
    entry = _edited(stored, edit)
    return Checked(entry, review(entry, bot.embeddings.embed_query, bot.load().knowledge))


def save(bot: Bot, entry_id: str, edit: Edit, revision: str) -> tuple[dict[str, Any], Checked]:
    """Check the edit and, when the check passes, publish it in place of the entry; returns the entry as
    now published. ``Refused`` when the check flags it, ``Conflict`` when the entry changed since
    ``revision``, ``NotPublished`` when it is gone."""
    stored = find(bot.settings.data_dir, entry_id)
    if curated.revision(stored) != revision:  # said before the check; publish checks again under its lock
        raise curated.Conflict(curated.CHANGED)
    checked = check(bot, stored, edit)
    reason = refusal(checked.entry)
    if reason:
        raise Refused(reason, checked)
    answer = as_answer(checked.entry)
    curated.publish(bot.settings.data_dir, bot.embeddings, [answer], revisions={entry_id: revision})
    return find(bot.settings.data_dir, entry_id), checked


def unpublish(data_dir: Path, entry_id: str) -> None:
    curated.unpublish(data_dir, [find(data_dir, entry_id)["question"]])


def _edited(stored: dict[str, Any], edit: Edit) -> Entry:
    text = edit.answer.strip()
    if not text:
        raise EditError("the answer is empty: write an answer, or unpublish the entry")
    citations = [dict(c) for c in stored["answer"]["citations"]]
    numbers = {int(c["n"]) for c in citations}
    for n, quote in edit.quotes.items():
        if n not in numbers:
            raise EditError(f"this entry has no citation [{n}]")
        next(c for c in citations if int(c["n"]) == n)["quote"] = quote
    return Entry(id=curated.entry_id(stored), question=stored["question"], status=APPROVED,
                 answer=stored["answer"]["answer"], citations=citations, edited_answer=text)  # fmt: skip
