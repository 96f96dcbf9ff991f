"""/api/admin/curated: published curated answers for a signed-in trainer to read, check, edit and unpublish
(the editor on /faq). Saving runs the check ``crmkb faq publish`` runs, and refuses what it flags."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from crmkb.bot import curated
from crmkb.faq import editing
from crmkb.faq.reviewed import LONG
from crmkb.web.admin_auth import AdminRoute
from crmkb.web.deps import BotDep
from crmkb.web.schemas import TRAINER_LANGUAGE, Citation

router = APIRouter(prefix="/api/admin/curated", tags=["admin"], route_class=AdminRoute)


class CuratedEntry(BaseModel):
    id: str
    revision: str = Field(description="Send it back with an edit: a save based on an older one is a 409.")
    question: str
    answer: str
    citations: list[Citation]


class CuratedEdit(BaseModel):
    answer: str = Field(max_length=LONG, description="The whole answer, with its [n] markers.")
    quotes: dict[int, str] = Field(
        default_factory=dict,
        description="Changed quotes by citation number; each must be the source's words.",
    )
    revision: str = Field(default="", max_length=64, description="The revision the edit is based on.")


class ClaimReport(BaseModel):
    text: str
    markers: list[int]
    ok: bool
    problem: str


class QuoteReport(BaseModel):
    n: int
    ok: bool
    problem: str
    citation: Citation = Field(description="The citation as it would be saved (offsets where the quote is).")


class CheckReport(BaseModel):
    ok: bool
    check: str = Field(description="The problems in one line, as `faq publish` prints them; empty when ok.")
    claims: list[ClaimReport]
    quotes: list[QuoteReport]


class Saved(BaseModel):
    entry: CuratedEntry
    check: CheckReport


def _public(stored: dict[str, Any]) -> CuratedEntry:
    answer = stored["answer"]
    return CuratedEntry(id=curated.entry_id(stored), revision=curated.revision(stored), question=stored["question"],
                        answer=answer["answer"], citations=[_citation(c) for c in answer["citations"]])  # fmt: skip


def _citation(stored: dict[str, Any]) -> Citation:
    return Citation.shown_to(stored, TRAINER_LANGUAGE)


def _report(checked: editing.Checked) -> CheckReport:
    citations = {int(c["n"]): c for c in checked.entry.citations}
    return CheckReport(
        ok=not checked.review.problems,
        check=checked.review.check,
        claims=[ClaimReport(text=c.text, markers=list(c.markers), ok=not c.problem, problem=c.problem)
                for c in checked.review.claims],
        quotes=[QuoteReport(n=q.n, ok=not q.problem, problem=q.problem, citation=_citation(citations[q.n]))
                for q in checked.review.quotes],
    )  # fmt: skip


@contextmanager
def _answered() -> Iterator[None]:
    """A disk that refuses the write, as the HTTP answer a client can act on (editing's own errors are
    mapped by the app, crmkb.web.app)."""
    try:
        yield
    except (
        OSError
    ) as exc:  # a full or read-only disk: the file is as it was (crmkb.core.files.write_atomically)
        detail = f"the published answers could not be written ({exc.strerror or exc}); nothing was changed"
        raise HTTPException(status_code=503, detail=detail) from exc


def _edit(body: CuratedEdit) -> editing.Edit:
    return editing.Edit(answer=body.answer, quotes=body.quotes)


@router.get("", response_model=list[CuratedEntry])
def list_curated(bot: BotDep) -> list[CuratedEntry]:
    with _answered():
        return [_public(e) for e in curated.published(bot.settings.data_dir)]


@router.get("/{entry_id}", response_model=CuratedEntry)
def get_curated(entry_id: str, bot: BotDep) -> CuratedEntry:
    with _answered():
        return _public(editing.find(bot.settings.data_dir, entry_id))


@router.post("/{entry_id}/check", response_model=CheckReport)
def check_edit(entry_id: str, body: CuratedEdit, bot: BotDep) -> CheckReport:
    """The check a save would run, without saving."""
    with _answered():
        return _report(editing.check(bot, editing.find(bot.settings.data_dir, entry_id), _edit(body)))


@router.put("/{entry_id}", response_model=Saved, responses={409: {}, 422: {}})
def save_edit(entry_id: str, body: CuratedEdit, bot: BotDep) -> Saved | JSONResponse:
    """Check the edit and publish it in place of the entry; a flagged edit is a 422 and nothing is saved."""
    try:
        with _answered():
            stored, checked = editing.save(bot, entry_id, _edit(body), body.revision)
    except editing.Refused as exc:
        content = {"detail": f"not saved: {exc}", "check": _report(exc.checked).model_dump()}
        return JSONResponse(status_code=422, content=content)
    return Saved(entry=_public(stored), check=_report(checked))


@router.delete("/{entry_id}")
def unpublish_curated(entry_id: str, bot: BotDep) -> dict[str, str]:
    with _answered():
        editing.unpublish(bot.settings.data_dir, entry_id)
    return {"unpublished": entry_id}
