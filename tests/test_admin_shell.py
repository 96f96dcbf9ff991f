"""The /admin console's shell over real HTTP: the sign-in page for a visitor without a session, the layout
and its navigation once signed in, what it does when sign-in is off, and its strict Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

import httpx

from crmkb.core.settings import Settings
from crmkb.web.routes.admin_shell import NAV, built
from tests.support.admin import console, private


def test_a_visitor_without_a_session_gets_the_sign_in_form_and_no_csrf_token(
    hash_index: Settings, tmp_path: Path
) -> None:
    with console(private(hash_index, tmp_path)) as admin:
        home = httpx.get(f"{admin.url}/admin", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == f"/admin/{NAV[0].slug}"
        for section in NAV:
            page = httpx.get(f"{admin.url}/admin/{section.slug}")
            assert page.status_code == 401
            assert 'data-testid="admin-signin"' in page.text and 'content=""' in page.text
            assert f"admin-{section.slug}.js" not in page.text  # a page's script only once signed in
        assert httpx.get(f"{admin.url}/admin/nope").status_code == 404


def test_signed_in_the_layout_shows_every_section_and_the_sessions_csrf_token(
    hash_index: Settings, tmp_path: Path
) -> None:
    with console(private(hash_index, tmp_path)) as admin:
        page = admin.client.get("/admin/conversations")
        assert page.status_code == 200
        assert f'name="crmkb-csrf" content="{admin.csrf}"' in page.text
        for section in NAV:
            assert f'href="/admin/{section.slug}"' in page.text
        assert 'href="/admin/conversations" data-testid="nav-conversations" aria-current=page' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "<script>" not in page.text  # no inline script: the policy would block it
        assert page.headers["cache-control"] == "no-store"  # the CSRF token stays out of caches


def test_the_shared_assets_are_served_and_nothing_else_of_the_package(
    hash_index: Settings, tmp_path: Path
) -> None:
    with console(private(hash_index, tmp_path)) as admin:
        script = httpx.get(f"{admin.url}/admin/static/admin.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert httpx.get(f"{admin.url}/admin/static/admin.css").headers["content-type"].startswith("text/css")
        unbuilt = [f"admin-{s.slug}.js" for s in NAV if not built(s)]  # listed, with no script yet
        for name in ("widget.js", "..%2Fapp.py", "admin-documents.html", *unbuilt):
            assert httpx.get(f"{admin.url}/admin/static/{name}").status_code == 404


def test_with_sign_in_off_the_console_says_how_to_turn_it_on(hash_index: Settings, tmp_path: Path) -> None:
    settings = private(hash_index, tmp_path / "off", admin_token=None)
    with console(settings, signed_in=False) as admin:
        page = httpx.get(f"{admin.url}/admin/documents")
        assert page.status_code == 503 and "CRMKB_SERVER_ADMIN_TOKEN" in page.text
        assert 'data-testid="admin-signin"' not in page.text


def test_a_signed_in_admin_does_not_share_the_askers_rate_limit(hash_index: Settings, tmp_path: Path) -> None:
    """Widget users and the admin often share an office address: the console's polling must not use up
    their allowance, nor theirs block the console. Without a session, admin routes count like any other."""
    with console(private(hash_index, tmp_path, rate_limit=5)) as admin:
        for _ in range(12):  # a re-ingest polled once a second
            assert admin.client.get("/api/admin/documents/ingest").status_code == 200
        asked = [
            httpx.post(f"{admin.url}/api/ask", json={"question": "实施顾问离开前要做什么?"}) for _ in range(6)
        ]
        # the address's five a minute, less the sign-in: none spent by the admin's twelve
        assert [r.status_code for r in asked] == [200] * 4 + [429] * 2
        assert admin.client.get("/api/admin/documents/ingest").status_code == 200  # nor the admin by them
        anonymous = [httpx.get(f"{admin.url}/api/admin/documents/ingest").status_code for _ in range(2)]
        assert anonymous == [429, 429]  # the address's allowance is spent: no session, no exemption
