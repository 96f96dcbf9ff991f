"""The embeddable widget (GET /widget.js) and the demo host page at / that embeds it like a customer page."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["widget"])
STATIC = files("crmkb.web") / "static"  # package data


def static_file(name: str) -> Path:
    """``static/<name>`` as the file on disk that FileResponse serves (pip installs packages unpacked)."""
    path = STATIC / name
    if not isinstance(path, Path):
        raise RuntimeError(f"crmkb.web is not installed as files on disk: cannot serve {name}")
    return path


@router.get("/", include_in_schema=False)
def demo_page() -> FileResponse:
    return FileResponse(static_file("demo.html"), media_type="text/html; charset=utf-8")


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    return FileResponse(
        static_file("widget.js"),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )
