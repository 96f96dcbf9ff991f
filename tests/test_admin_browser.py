"""The /admin console's shell in a real browser (Debian's Chromium through Playwright, a real uvicorn on
loopback): sign-in, the navigation, sign-out. Each page has its own test_admin_<slug>_browser.py.
Screenshots go to .data/test-artifacts/admin/ (look at them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from crmkb.core.settings import Settings
from crmkb.web.routes.admin_shell import NAV
from tests.support.admin import console, open_admin, private
from tests.support.browser import record_dialogs

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / ".data" / "test-artifacts" / "admin"


def test_an_admin_signs_in_moves_between_sections_and_signs_out(
    admin_browser: Browser, hash_index: Settings, tmp_path: Path
) -> None:
    with console(private(hash_index, tmp_path), signed_in=False) as admin:
        context = admin_browser.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()
        dialogs = record_dialogs(page)
        errors: list[str] = []
        # The sign-in page itself answers 401 (Chromium logs that); any other error is the page's fault.
        page.on(
            "console",
            lambda m: errors.append(m.text) if m.type == "error" and "(Unauthorized)" not in m.text else None,
        )
        page.goto(f"{admin.url}/admin")
        hook = page.get_by_test_id
        expect(hook("admin-signin")).to_be_visible()
        hook("admin-token").fill("not-the-token-at-all")
        hook("admin-signin-button").click()
        expect(hook("admin-status")).to_have_text("Wrong admin token")
        page.screenshot(path=str(ARTIFACTS / "sign-in.png"), full_page=True)
        page.context.close()

        page = open_admin(admin_browser, admin.url, "conversations", dialogs)
        hook = page.get_by_test_id
        expect(hook("nav-conversations")).to_have_attribute("aria-current", "page")
        for section in NAV:
            hook(f"nav-{section.slug}").click()
            expect(page).to_have_title(f"{section.title} · crmkb admin")
            expect(hook(f"nav-{section.slug}")).to_have_attribute("aria-current", "page")
        page.screenshot(path=str(ARTIFACTS / "signed-in.png"), full_page=True)
        assert "crmkb_admin" not in page.evaluate("document.cookie")  # HttpOnly

        hook("admin-signout").click()
        expect(hook("admin-signin")).to_be_visible()
        assert dialogs == [] and errors == []
        page.context.close()
