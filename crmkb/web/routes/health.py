"""Probes. ``/healthz`` is liveness: the process answers HTTP, nothing more, and it has no side effects
(it never loads or ingests anything). ``/readyz`` is readiness: an index is loaded, the store is reachable
and still holds the served version, and the feedback store can be written; 503 with the reasons when not,
so a load balancer sends traffic elsewhere while a replica loads, repairs or waits for its store. Its
warnings name what the replica answers worse without (a missing glossary), and never make it unready."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from crmkb.web.deps import BotDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(bot: BotDep) -> dict[str, object]:
    return {"status": "ok", "served": bot.served_version}


@router.get("/readyz")
async def readyz(bot: BotDep, store: StoreDep) -> JSONResponse:
    readiness = await run_in_threadpool(bot.readiness)
    problems = list(readiness.problems)
    feedback = await run_in_threadpool(store.check_writable)
    if feedback is not None:
        problems.append(f"feedback store: {feedback}")
    body = {
        "status": "ready" if not problems else "not ready",
        "served": readiness.served,
        "active": readiness.active,
        "switching": readiness.served is not None and readiness.active not in (None, readiness.served),
        "problems": problems,
        "warnings": readiness.warnings,
    }
    return JSONResponse(status_code=200 if not problems else 503, content=body)
