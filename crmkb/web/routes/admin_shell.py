"""The /admin console's shell: one layout with the navigation, the sign-in page, and the pages themselves.

A page is a :class:`Section` in :data:`NAV`; ``GET /admin/<slug>`` renders the layout around the page's
markup, ``static/admin-<slug>.html``, and loads ``static/admin.js`` (sign-in, sign-out, ``crmkbAdmin.call``
with the CSRF token) then the page's own ``static/admin-<slug>.js``. A section without its markup file shows
as "not built yet". What a page reads or changes goes through its own ``/api/admin/<slug>`` router (a module
``admin_<slug>.py`` on ``AdminRoute``, registered in crmkb.web.app), never through this module.

The pages are plain HTML from this server: no inline script (the Content-Security-Policy forbids it, and
any script but this origin's), no CDN. A visitor without a session gets the sign-in form (401); the session's
CSRF token is written into the page it may act from, for admin.js to send in ``X-CSRF-Token``.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from crmkb.web.admin_auth import CSRF_HEADER, HOW_TO_ENABLE, admin_auth
from crmkb.web.routes.widget import STATIC, static_file


@dataclass(frozen=True)
class Section:
    slug: str  # the URL (/admin/<slug>) and the names of its files (static/admin-<slug>.{html,js})
    title: str


NAV: tuple[Section, ...] = (
    Section("dashboard", "Dashboard"),  # the first is /admin's landing page
    Section("documents", "Documents"),
    Section("hit-testing", "Hit testing"),
    Section("conversations", "Conversations"),
    Section("gaps", "Gaps"),
)
SECTIONS = {s.slug: s for s in NAV}
# Only this origin's scripts and styles; no inline script, no frames, no other site's anything.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
ASSETS = {"admin.css", "admin.js"} | {f"admin-{s.slug}.js" for s in NAV}

page = APIRouter(tags=["admin"], include_in_schema=False)


def built(section: Section) -> bool:
    return (STATIC / f"admin-{section.slug}.html").is_file()


def layout(
    request: Request, section: Section | None, body: str, *, csrf: str = "", status: int = 200
) -> HTMLResponse:
    """The console's page: the navigation (``section`` marked as current), then ``body`` (HTML, trusted:
    a static file or text already escaped), with admin.js and the section's own script."""
    nav = "".join(
        f'<a href="/admin/{s.slug}" data-testid="nav-{s.slug}"'
        f"{' aria-current=page' if s is section else ''}{'' if built(s) else ' class=todo'}>{escape(s.title)}</a>"
        for s in NAV
    )
    scripts = '<script src="/admin/static/admin.js"></script>'
    if section is not None and csrf and built(section):
        scripts += f'<script src="/admin/static/admin-{section.slug}.js"></script>'
    title = f"{section.title} · crmkb admin" if section else "crmkb admin"
    signed_in = (
        '<button type="button" data-testid="admin-signout" id="admin-signout">Sign out</button>'
        if csrf
        else ""
    )
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="crmkb-csrf" content="{escape(csrf)}" data-header="{CSRF_HEADER}">
<title>{escape(title)}</title>
<link rel="stylesheet" href="/admin/static/admin.css">
<link rel="icon" href="data:,">
</head>
<body>
<header><span class="brand">crmkb admin</span><nav>{nav}</nav>{signed_in}</header>
<main data-testid="admin-main">
<p id="admin-status" data-testid="admin-status" role="status"></p>
{body}
</main>
{scripts}
</body>
</html>
"""
    return HTMLResponse(
        html, status_code=status, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
    )


SIGN_IN = """<form class="card signin" id="admin-signin" data-testid="admin-signin">
<h1>Sign in</h1>
<p class="hint">The admin token is the server's <code>CRMKB_SERVER_ADMIN_TOKEN</code>.</p>
<label for="admin-token">Admin token</label>
<input type="password" id="admin-token" data-testid="admin-token" autocomplete="current-password" required>
<button type="submit" class="primary" data-testid="admin-signin-button">Sign in</button>
</form>"""


def render(request: Request, section: Section) -> HTMLResponse:
    """``section``'s page for a signed-in admin; the sign-in form (401) for anyone else."""
    auth = admin_auth(request)
    if not auth.enabled:
        off = f'<div class="card" data-testid="admin-off"><h1>Admin sign-in is off</h1><p>{escape(HOW_TO_ENABLE)}</p></div>'
        return layout(request, section, off, status=503)
    session = auth.current(request)
    if session is None:
        return layout(request, section, SIGN_IN, status=401)
    if built(section):
        body = static_file(f"admin-{section.slug}.html").read_text(encoding="utf-8")
    else:
        body = (
            f'<div class="card" data-testid="admin-todo"><h1>{escape(section.title)}</h1>'
            "<p>Not built yet (issue 17).</p></div>"
        )
    return layout(request, section, body, csrf=session.csrf)


@page.get("/admin")
def admin_home() -> RedirectResponse:
    return RedirectResponse(f"/admin/{NAV[0].slug}", status_code=303)


@page.get("/admin/static/{name}")
def admin_asset(name: str) -> FileResponse:
    if name not in ASSETS or not (STATIC / name).is_file():  # a section not built yet has no script
        raise HTTPException(status_code=404, detail="no such file")
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    return FileResponse(
        static_file(name), media_type=f"{kind}; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


@page.get("/admin/{slug}")
def admin_page(slug: str, request: Request) -> HTMLResponse:
    section = SECTIONS.get(slug)
    if section is None:
        raise HTTPException(status_code=404, detail=f"no admin page {slug}")
    return render(request, section)
