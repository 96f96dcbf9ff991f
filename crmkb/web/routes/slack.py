"""POST /slack/events: Slack's events, slash commands and interactivity, handed to the Bolt app."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

router = APIRouter(tags=["slack"])


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    handler = request.app.state.slack
    if handler is None:
        return JSONResponse(
            status_code=503,
            content={
                "detail": "Slack is not configured: set CRMKB_SLACK_BOT_TOKEN and CRMKB_SLACK_SIGNING_SECRET"
            },
        )
    response: Response = await handler.handle(request)
    return response
