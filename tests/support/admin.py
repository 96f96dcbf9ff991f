"""The /admin console for tests: a served app with admin sign-in on, an HTTP client signed in to it, and a
Chromium page signed in through the console's own form."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from crmkb.bot.service import Bot
from crmkb.core.settings import Settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.web.admin_auth import CSRF_HEADER
from crmkb.web.app import create_app
from crmkb.web.loopback import serving
from tests.support.browser import record_dialogs
from tests.support.faq_edit import TOKEN, sign_in, with_admin


@dataclass
class Console:
    url: str
    bot: Bot
    client: httpx.Client  # signed in: it keeps the session cookie
    csrf: str
    app: Any = None

    def recorded(self) -> None:
        """Wait until the answers served so far are in the feedback store (they are written off the
        request path)."""
        assert self.app.state.writer.flush(timeout=10)

    def change(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """A change as the console's pages send it, with the session's CSRF token."""
        return self.client.request(method, path, headers={CSRF_HEADER: self.csrf}, **kwargs)  # type: ignore[arg-type]

    def wait_for_ingest(self) -> dict[str, Any]:
        """The console's re-ingest job once it is over (polled as the page polls it)."""
        for _ in range(1200):
            job: dict[str, Any] = self.client.get("/api/admin/documents/ingest").json()["job"]
            if job["state"] != "running":
                return job
            time.sleep(0.1)
        raise AssertionError(f"the re-ingest is still running: {job}")


def private(indexed: Settings, tmp_path: Path, **server: object) -> Settings:
    """Admin sign-in on, over a copy of ``indexed``'s data dir (and of its kb/) that a test may change."""
    shutil.copytree(indexed.data_dir, tmp_path / "data")
    shutil.copytree(indexed.kb_dir, tmp_path / "kb")
    moved = indexed.model_copy(update={"data_dir": tmp_path / "data", "kb_dir": tmp_path / "kb"})
    return with_admin(moved, **server)


@contextmanager
def console(settings: Settings, bot: Bot | None = None, *, signed_in: bool = True) -> Iterator[Console]:
    """``settings`` served (with the fake embedder unless ``bot`` is given), and a client signed in to it."""
    bot = bot or Bot(settings, embeddings=HashEmbeddings())
    app = create_app(settings, bot=bot)
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield Console(url, bot, client, sign_in(client) if signed_in else "", app)


def open_admin(browser: Browser, url: str, slug: str, dialogs: list[str] | None = None) -> Page:
    """``/admin/<slug>`` in a fresh browser context, signed in through the sign-in form it shows first."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    record_dialogs(page, into=dialogs)
    page.goto(f"{url}/admin/{slug}")
    page.get_by_test_id("admin-token").fill(TOKEN)
    page.get_by_test_id("admin-signin-button").click()
    expect(page.get_by_test_id("admin-signout")).to_be_visible()
    return page
