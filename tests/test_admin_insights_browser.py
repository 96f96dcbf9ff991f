"""The Dashboard, Conversations and Gaps pages in a real browser (Debian's Chromium through Playwright, a
real uvicorn on loopback) over recorded traffic: the chart and figures, filtering, exporting and deleting
answers, and a gap sent to the FAQ builder. Screenshots go to .data/test-artifacts/admin/."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from crmkb.core.settings import Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.insights.gaps import normalised
from crmkb.web.app import FEEDBACK_DB
from tests.support.admin import console, private
from tests.support.conversations import Served, seed
from tests.support.faq_edit import TOKEN
from tests.test_admin_gaps import MARS, SIMILARITY

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / ".data" / "test-artifacts" / "admin"
XSS = "<img src=x onerror=alert(1)>怎么导出报表?"
TRAFFIC = [
    *(Served(f"CRM问题{n}", latency_ms=40 + n, days_ago=n % 9) for n in range(60)),
    *(Served(q, answered=False, days_ago=1) for q in MARS),
    Served(XSS, answered=False, channel="slack", days_ago=2, rating="down", comment="=cmd|' /C calc'!A0"),
    Served("项目预算中软件成本占多少?", curated=True, latency_ms=3, rating="up", user_id="u-7"),
]


@pytest.fixture(scope="module")
def indexed(hash_index: Settings) -> Settings:
    feedback = hash_index.feedback.model_copy(update={"gap_similarity": SIMILARITY, "retention_days": 365})
    return hash_index.model_copy(update={"feedback": feedback})


def signed_in(admin_browser: Browser, url: str, slug: str, dialogs: list[str]) -> Page:
    """``/admin/<slug>`` signed in through its form; every dialog (a confirmation) is recorded and accepted."""
    page = admin_browser.new_context(
        viewport={"width": 1200, "height": 900}, accept_downloads=True
    ).new_page()

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.goto(f"{url}/admin/{slug}")
    page.get_by_test_id("admin-token").fill(TOKEN)
    page.get_by_test_id("admin-signin-button").click()
    expect(page.get_by_test_id("admin-signout")).to_be_visible()
    return page


@pytest.fixture
def settings(indexed: Settings, tmp_path: Path) -> Settings:
    private_settings = private(indexed, tmp_path)
    seed(FeedbackStore(private_settings.data_dir / FEEDBACK_DB), TRAFFIC)
    return private_settings


def test_the_dashboard_charts_the_traffic_and_is_the_landing_page(
    admin_browser: Browser, settings: Settings
) -> None:
    dialogs: list[str] = []
    with console(settings) as admin:
        page = signed_in(admin_browser, admin.url, "dashboard", dialogs)
        hook = page.get_by_test_id
        page.goto(f"{admin.url}/admin")
        expect(page).to_have_title("Dashboard · crmkb admin")
        expect(hook("tile-questions")).to_contain_text("68")
        expect(hook("tile-answered")).to_contain_text("61 answered, 7 refused")
        expect(hook("tile-curated")).to_contain_text("1")
        expect(hook("bar-refused")).to_have_count(2)  # two days with refusals
        expect(hook("bar-curated")).to_have_count(1)
        expect(hook("dash-row-slack")).to_contain_text("1")
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        hook("dash-channel").select_option("slack")
        expect(hook("tile-questions")).to_contain_text("1")
        expect(hook("bar-answered")).to_have_count(0)
        hook("dash-days").select_option("7")
        expect(hook("tile-questions")).to_contain_text("1")
        assert dialogs == []
        page.context.close()


def test_an_admin_filters_exports_and_deletes_conversations(
    admin_browser: Browser, settings: Settings
) -> None:
    dialogs: list[str] = []
    with console(settings) as admin:
        page = signed_in(admin_browser, admin.url, "conversations", dialogs)
        hook = page.get_by_test_id
        expect(hook("conv-count")).to_have_text("1–50 of 68 answers")
        expect(hook("conv-row")).to_have_count(50)
        hook("conv-next").click()
        expect(hook("conv-count")).to_have_text("51–68 of 68 answers")
        expect(hook("conv-next")).to_be_disabled()
        expect(hook("conv-retention")).to_contain_text("older than 365 days")
        hook("conv-outcome").select_option("refused")
        hook("conv-apply").click()
        expect(hook("conv-count")).to_have_text("1–7 of 7 answers")
        hook("conv-channel").select_option("slack")
        hook("conv-apply").click()
        expect(hook("conv-count")).to_have_text("1–1 of 1 answers")
        expect(hook("conv-row")).to_contain_text(XSS)  # shown as text, never run
        expect(hook("conv-row")).to_contain_text("👎 1")
        page.screenshot(path=str(ARTIFACTS / "conversations-filtered.png"), full_page=True)

        with page.expect_download() as download:
            hook("conv-export").click()
        rows = list(
            csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"), newline=""))
        )
        assert [r["question"] for r in rows] == [XSS]
        assert rows[0]["comment"] == "'=cmd|' /C calc'!A0"  # a formula no spreadsheet runs

        hook("conv-channel").select_option("")
        hook("conv-apply").click()
        expect(hook("conv-count")).to_have_text("1–7 of 7 answers")
        hook("conv-delete").first.click()
        expect(hook("conv-count")).to_have_text("1–6 of 6 answers")
        hook("conv-delete-all").click()
        expect(hook("conv-count")).to_have_text("No answers match")
        assert dialogs[-1].startswith("Delete all 6 answers")
        hook("conv-outcome").select_option("")
        hook("conv-apply").click()
        expect(hook("conv-count")).to_have_text("1–50 of 61 answers")
        hook("conv-q").fill("软件成本")
        hook("conv-apply").click()
        expect(hook("conv-count")).to_have_text("1–1 of 1 answers")
        expect(hook("conv-row")).to_contain_text("answered · curated")
        expect(hook("conv-row")).to_contain_text("u-7")
        page.screenshot(path=str(ARTIFACTS / "conversations.png"), full_page=True)
        page.context.close()


def test_an_admin_reads_the_gaps_and_sends_one_to_the_faq_builder(
    admin_browser: Browser, settings: Settings
) -> None:
    dialogs: list[str] = []
    with console(settings) as admin:
        page = signed_in(admin_browser, admin.url, "gaps", dialogs)
        hook = page.get_by_test_id
        expect(hook("gaps-state")).to_contain_text("2 groups of 4 distinct questions", timeout=60_000)
        first = hook("gap").first
        expect(first.get_by_test_id("gap-asks")).to_have_text("#1 · asked 6 times")
        expect(first.get_by_test_id("gap-question")).to_have_count(3)
        expect(hook("gap").nth(1)).to_contain_text(XSS)
        page.screenshot(path=str(ARTIFACTS / "gaps.png"), full_page=True)
        with page.context.expect_page() as opened:
            first.get_by_test_id("gap-to-faq").click()
        faq = opened.value
        lines = faq.get_by_test_id("faq-questions")
        expect(lines).to_have_value(re.compile("^火星上的天气怎么样[?？]\n"))  # the most asked first
        assert {normalised(q) for q in lines.input_value().split("\n")} == {normalised(q) for q in MARS}
        assert faq.url.endswith("/faq")  # the hand-over left the address
        faq.screenshot(path=str(ARTIFACTS / "gaps-to-faq.png"), full_page=True)
        assert dialogs == []
        page.context.close()
