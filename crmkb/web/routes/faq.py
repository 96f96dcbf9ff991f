"""POST /api/faq (answer a list of questions as FAQ entries and render a file) and the trainer page /faq,
with its editor of published answers (/faq/edit.js, backed by /api/admin/curated)."""

from __future__ import annotations

from functools import partial
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crmkb.bot.service import Bot
from crmkb.faq.build import CHANNEL, built
from crmkb.faq.entries import Entry
from crmkb.faq.formats import render, topic_heading
from crmkb.web.answer_writer import AnswerWriter
from crmkb.web.deps import BotDep, WriterDep
from crmkb.web.guards import ApiRoute
from crmkb.web.routes.widget import static_file
from crmkb.web.schemas import TRAINER_LANGUAGE, Citation

router = APIRouter(prefix="/api", tags=["faq"], route_class=ApiRoute)
page = APIRouter(tags=["faq"])
MAX_QUESTIONS = 200


class FaqRequest(BaseModel):
    questions: list[str] = Field(min_length=1, max_length=MAX_QUESTIONS, description="One question per item.")
    format: Literal["md", "html", "csv", "json"] = "md"


class FaqResponse(BaseModel):
    entries: list[dict[str, object]] = Field(
        description="The entries as the CSV has them, with also_asked and citations as lists, each citation "
        "labelled (label, kind_label) as in /api/ask, and heading: the topic it is filed under "
        '("title › section", or the not-covered heading), as the file shows it.'
    )
    format: str
    filename: str
    content: str


def _build(bot: Bot, body: FaqRequest, writer: AnswerWriter) -> FaqResponse:
    # The drafts are recorded as the answers of /api/ask are, in batches off the request's path.
    with built(bot, body.questions, answered=partial(writer.record, channel=CHANNEL)) as store:
        entries = list(store.ordered())
    rows = [_row(e) for e in entries]
    return FaqResponse(
        entries=rows, format=body.format, filename=f"faq.{body.format}", content=render(entries, body.format)
    )


def _row(entry: Entry) -> dict[str, object]:
    citations = [Citation.shown_to(c, TRAINER_LANGUAGE).model_dump() for c in entry.citations]
    return {
        **entry.row(),
        "also_asked": entry.also_asked,
        "citations": citations,
        "heading": topic_heading(entry),
    }


@router.post("/faq", response_model=FaqResponse)
async def build_faq(body: FaqRequest, bot: BotDep, writer: WriterDep) -> FaqResponse:
    return await run_in_threadpool(_build, bot, body, writer)  # a FaqError is a 422 (crmkb.web.app)


@page.get("/faq", include_in_schema=False)
def faq_page() -> FileResponse:
    return FileResponse(static_file("faq.html"), media_type="text/html; charset=utf-8")


@page.get("/faq/edit.js", include_in_schema=False)
def faq_editor_script() -> FileResponse:
    return FileResponse(static_file("faq-edit.js"), media_type="text/javascript; charset=utf-8")
