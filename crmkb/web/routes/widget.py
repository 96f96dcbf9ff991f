"""The embeddable widget (GET /widget.js) and the demo host page at / that embeds it like a customer page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["widget"])
STATIC = Path(__file__).resolve().parent.parent / "static"


@router.get("/", include_in_schema=False)
def demo_page() -> FileResponse:
    return FileResponse(STATIC / "demo.html", media_type="text/html; charset=utf-8")


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    return FileResponse(
        STATIC / "widget.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )
