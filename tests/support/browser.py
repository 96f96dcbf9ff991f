"""Debian's Chromium driven by Playwright (never a downloaded browser), for the tests of pages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium(artifacts: Path | None = None) -> Iterator[Browser]:
    """A headless Chromium for the block; ``artifacts`` (for screenshots) is created first."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (make test installs it)")
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


def record_dialogs(page: Page, into: list[str] | None = None) -> list[str]:
    """Dismiss every dialog box ``page`` opens and record its message (in ``into`` when given): a page
    that opens one ran a script from the network, or asked in a way these pages never ask."""
    dialogs = [] if into is None else into

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs
