"""The /admin console's shell over real HTTP: the sign-in page for a visitor without a session, the layout
and its navigation once signed in, what it does when sign-in is off, and its strict Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from crmkb.core.settings import Settings, get_settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from crmkb.web.routes.admin_shell import NAV, built
from tests.conftest import KB
from tests.support.admin import console, private


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = get_settings(data_dir=tmp_path_factory.mktemp("admin-shell") / "data", kb_dir=KB)
    run_ingest(settings, embeddings=HashEmbeddings())
    return settings


def test_a_visitor_without_a_session_gets_the_sign_in_form_and_no_csrf_token(
    indexed: Settings, tmp_path: Path
) -> None:
    with console(private(indexed, tmp_path)) as admin:
        home = httpx.get(f"{admin.url}/admin", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == f"/admin/{NAV[0].slug}"
        for section in NAV:
            page = httpx.get(f"{admin.url}/admin/{section.slug}")
            assert page.status_code == 401
            assert 'data-testid="admin-signin"' in page.text and 'content=""' in page.text
            assert f"admin-{section.slug}.js" not in page.text  # a page's script only once signed in
        assert httpx.get(f"{admin.url}/admin/nope").status_code == 404


def test_signed_in_the_layout_shows_every_section_and_the_sessions_csrf_token(
    indexed: Settings, tmp_path: Path
) -> None:
    with console(private(indexed, tmp_path)) as admin:
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
    indexed: Settings, tmp_path: Path
) -> None:
    with console(private(indexed, tmp_path)) as admin:
        script = httpx.get(f"{admin.url}/admin/static/admin.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert httpx.get(f"{admin.url}/admin/static/admin.css").headers["content-type"].startswith("text/css")
        unbuilt = [f"admin-{s.slug}.js" for s in NAV if not built(s)]  # listed, with no script yet
        for name in ("widget.js", "..%2Fapp.py", "admin-documents.html", *unbuilt):
            assert httpx.get(f"{admin.url}/admin/static/{name}").status_code == 404


def test_with_sign_in_off_the_console_says_how_to_turn_it_on(indexed: Settings, tmp_path: Path) -> None:
    settings = private(indexed, tmp_path / "off", admin_token=None)
    with console(settings, signed_in=False) as admin:
        page = httpx.get(f"{admin.url}/admin/documents")
        assert page.status_code == 503 and "CRMKB_SERVER_ADMIN_TOKEN" in page.text
        assert 'data-testid="admin-signin"' not in page.text
