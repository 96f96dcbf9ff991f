"""GET /api/sources/{source}?start=&end=: the paragraph around a cited quote, for the citation pop-over."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from crmkb.bot.render import as_read
from crmkb.web.deps import BotDep
from crmkb.web.guards import ApiRoute

router = APIRouter(prefix="/api", tags=["sources"], route_class=ApiRoute)


class SourcePassage(BaseModel):
    source: str
    title: str
    section: str
    kind: str
    paragraph: str
    quote_start: int  # the quote is paragraph[quote_start:quote_end]
    quote_end: int


@router.get("/sources/{source}", response_model=SourcePassage)
def source_passage(
    source: str,
    bot: BotDep,
    start: int = Query(ge=0),
    end: int = Query(ge=1),
    script: Literal["zh-Hans", "zh-Hant"] = Query(
        "zh-Hans",
        description="zh-Hant: the passage in Traditional characters, as a Traditional asker reads it",
    ),
) -> SourcePassage:
    knowledge = bot.load().knowledge
    document = knowledge.documents.get(source)
    if document is None:
        raise HTTPException(status_code=404, detail=f"no document {source!r} in the knowledge base")
    text = document.text
    if not start < end <= len(text):
        raise HTTPException(
            status_code=422, detail=f"start and end must satisfy 0 <= start < end <= {len(text)}"
        )
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    last = len(text) if last < 0 else last
    # each part converted on its own: the quote's offsets are then those of the converted paragraph
    before, quote, after = (
        as_read(part, script) for part in (text[first:start], text[start:end], text[end:last])
    )
    return SourcePassage(
        source=source, title=as_read(document.title, script), section=as_read(knowledge.section_at(source, start), script),
        kind=document.kind, paragraph=before + quote + after, quote_start=len(before), quote_end=len(before) + len(quote),
    )  # fmt: skip
