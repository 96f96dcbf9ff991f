"""The Hit testing page in a real browser (Debian's Chromium through Playwright, a real uvicorn on loopback):
an answered question and a refused one, each with its chunks, scored sentences and reasons. Screenshots go
to .data/test-artifacts/admin/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from crmkb.core.settings import Settings
from tests.support.admin import console, open_admin, private
from tests.test_admin_hit_testing import ANSWERED, REFUSED, answering

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / ".data" / "test-artifacts" / "admin"


@pytest.fixture(scope="module")
def answering_index(hash_index: Settings) -> Settings:
    return answering(hash_index)


def test_an_admin_tests_a_question_and_sees_why_it_was_answered_or_refused(
    admin_browser: Browser, answering_index: Settings, tmp_path: Path
) -> None:
    dialogs: list[str] = []
    with console(private(answering_index, tmp_path)) as admin:
        page = open_admin(admin_browser, admin.url, "hit-testing", dialogs)
        hook = page.get_by_test_id
        expect(hook("hit-result")).to_be_hidden()
        hook("hit-question").fill(ANSWERED)
        hook("hit-run").click()
        expect(hook("hit-verdict")).to_have_text("Answered (extractive, zh-Hans).")
        served = admin.bot.ask(ANSWERED)
        expect(hook("hit-answer")).to_have_text(served.answer)
        expect(hook("hit-citation")).to_have_count(len(served.citations))
        expect(hook("hit-chunk")).to_have_count(5)
        expect(hook("hit-sentence-chosen").first).to_be_visible()
        first = served.citations[0].quote
        expect(hook("hit-sentence-chosen").filter(has_text=first[:12]).first).to_be_visible()
        expect(hook("hit-reading")).to_contain_text("Extractive verdict: answer.")
        page.screenshot(path=str(ARTIFACTS / "hit-testing-answered.png"), full_page=True)

        hook("hit-question").fill(REFUSED)
        hook("hit-run").click()
        expect(hook("hit-verdict")).to_have_text("Refused: nothing the knowledge base says is asked about.")
        expect(page.locator("#hit-sentence-hint")).to_contain_text("would have quoted, judged not to answer")
        expect(hook("hit-reading")).to_contain_text(
            "Used by the knowledge base: none (only the meaning can match)."
        )
        expect(hook("hit-chunk")).to_have_count(5)
        page.screenshot(path=str(ARTIFACTS / "hit-testing-refused.png"), full_page=True)

        page.get_by_text("As a follow-up").click()
        hook("hit-history").fill(ANSWERED)
        hook("hit-question").fill("为什么?")  # read as a follow-up of the question before
        hook("hit-run").click()
        follow_up = admin.bot.ask("为什么?", history=[ANSWERED])
        expect(hook("hit-answer")).to_have_text(follow_up.answer)
        hook("hit-history").fill("")

        hook("hit-question").fill("\u200b \u200b")  # invisible: empty once cleaned, as the server says
        hook("hit-run").click()
        expect(hook("admin-status")).to_contain_text("the question is empty")

        hook("hit-question").fill(f"<img src=x onerror=alert(1)>{ANSWERED}")
        hook("hit-run").click()
        expect(hook("hit-result")).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text
        assert dialogs == []
        page.context.close()
