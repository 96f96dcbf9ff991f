"""POST /api/ask/stream: the same answer as /api/ask, as Server-Sent Events while it forms.

Events: ``meta`` (answer id, language, mode) at once; ``delta`` (answer text, a line at a time: extractive
answers are whole within milliseconds, and LLM answers are released only sentence-checked by the grounding
guard, so a line is the unit in which an answer is known to be grounded); ``citation`` after the first line
that cites it; ``done`` with the whole answer (``AskResponse``, as /api/ask returns it); ``error`` instead
when answering fails.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from crmkb.bot.language import detect_language
from crmkb.bot.prompts import CITATION
from crmkb.bot.service import Bot
from crmkb.core.errors import Unavailable
from crmkb.feedback_store import FeedbackStore
from crmkb.web.answer_writer import AnswerWriter
from crmkb.web.deps import BotDep, UserDep, WriterDep
from crmkb.web.guards import ApiRoute
from crmkb.web.routes.ask import AskRequest
from crmkb.web.schemas import AskResponse, Citation

router = APIRouter(prefix="/api", tags=["ask"], route_class=ApiRoute)
log = logging.getLogger(__name__)


def _event(name: str, data: object) -> dict[str, str]:
    return {"event": name, "data": json.dumps(data, ensure_ascii=False)}


def pieces(answer: AskResponse) -> Iterator[tuple[str, list[Citation]]]:
    """The answer a line at a time, each with the citations it is the first to cite."""
    by_n = {c.n: c for c in answer.citations}
    sent: set[int] = set()
    for line in answer.answer.splitlines(keepends=True):
        new = [int(n) for n in CITATION.findall(line) if int(n) in by_n and int(n) not in sent]
        sent.update(new)
        yield line, [by_n[n] for n in dict.fromkeys(new)]


async def _events(
    body: AskRequest, bot: Bot, writer: AnswerWriter, user: str | None
) -> AsyncIterator[dict[str, str]]:
    answer_id = FeedbackStore.new_id()
    yield _event(
        "meta",
        {
            "answer_id": answer_id,
            "language": detect_language(body.question),
            "mode": body.mode or "extractive",
        },
    )
    try:
        answer = await run_in_threadpool(bot.ask, body.question, history=body.history, mode=body.mode)
        answer.id = answer_id
        writer.record(answer, "web", user_id=user)  # queued: the client is not kept waiting for the disk
    except Unavailable as exc:
        yield _event("error", {"detail": str(exc)})
        return
    except Exception:
        log.exception("answering %r failed", body.question)
        yield _event("error", {"detail": "the answer could not be produced; please try again"})
        return
    response = AskResponse.from_answer(answer)
    for text, citations in pieces(response):
        yield _event("delta", {"text": text})
        for citation in citations:
            yield _event("citation", citation.model_dump())
    yield _event("done", response.model_dump())


@router.post(
    "/ask/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "meta, delta…, citation… (Citation), done (AskResponse), or error",
        }
    },
)
async def ask_stream(body: AskRequest, bot: BotDep, writer: WriterDep, user: UserDep) -> EventSourceResponse:
    bot.check_mode(body.mode)  # a 422 like /api/ask's, not a 200 stream that then says "try again"
    return EventSourceResponse(_events(body, bot, writer, user), ping=15)
