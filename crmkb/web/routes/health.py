"""GET /healthz: is the service up, and which index does it serve."""

from __future__ import annotations

from fastapi import APIRouter

from crmkb.web.deps import BotDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(bot: BotDep) -> dict[str, object]:
    knowledge = bot.load().knowledge
    return {"status": "ok", "index": knowledge.version.name, "chunks": len(knowledge.chunks)}
