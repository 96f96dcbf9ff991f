"""The trainer page's editor of published answers in a real browser: Debian's Chromium driven by Playwright,
against a real uvicorn on loopback. Screenshots go to .data/test-artifacts/faq-edit/ (look at them)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from crmkb.bot.curated import publish
from crmkb.bot.service import Bot
from crmkb.core.settings import Settings, get_settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from crmkb.web.app import create_app
from crmkb.web.loopback import serving
from tests.conftest import KB
from tests.support.browser import chromium, record_dialogs
from tests.support.faq_edit import (
    BUDGET,
    COST,
    GROUNDED,
    INVENTED,
    QUESTION,
    TOKEN,
    publish_budget_answer,
    with_admin,
)

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / ".data" / "test-artifacts" / "faq-edit"
MARKUP = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = get_settings(data_dir=tmp_path_factory.mktemp("edit-browser") / "data", kb_dir=KB)
    run_ingest(settings, embeddings=HashEmbeddings())
    return settings


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(ARTIFACTS) as browser:
        yield browser


DIALOGS: list[str] = []


def open_page(browser: Browser, url: str) -> Page:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = context.new_page()
    record_dialogs(page, into=DIALOGS)
    page.goto(url + "/faq")
    return page


@pytest.fixture(autouse=True)
def _no_dialogs() -> Iterator[None]:
    DIALOGS.clear()
    yield
    assert DIALOGS == [], "the page asks nothing in dialog boxes (unpublish confirms with a second click)"


def private(indexed: Settings, tmp_path: Path) -> Settings:
    """Admin sign-in on, over a copy of the index that this test may publish into."""
    shutil.copytree(indexed.data_dir, tmp_path / "data")
    return with_admin(indexed.model_copy(update={"data_dir": tmp_path / "data"}))


def test_a_trainer_signs_in_edits_fails_the_check_fixes_it_saves_and_the_bot_serves_it(
    browser: Browser, indexed: Settings, tmp_path: Path
) -> None:
    settings = private(indexed, tmp_path)
    bot = Bot(settings, embeddings=HashEmbeddings())
    publish_budget_answer(bot)
    with serving(create_app(settings, bot=bot)) as url:
        page = open_page(browser, url)
        hook = page.get_by_test_id
        expect(hook("admin-signin")).to_be_visible()
        expect(hook("admin-off")).to_be_hidden()
        hook("admin-token").fill("not-the-token")
        hook("admin-signin-button").click()
        expect(hook("admin-status")).to_have_text("令牌不正确 · Wrong admin token")

        hook("admin-token").fill(TOKEN)
        hook("admin-signin-button").click()
        expect(hook("admin-state")).to_contain_text("Signed in until")
        entry = hook("curated-entry")
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text(QUESTION)
        expect(entry).to_contain_text(f"[1] 企业实施CRM系统项目要做哪些准备 › 四、CRM执行计划 — “{BUDGET}”")
        assert "crmkb_admin" not in page.evaluate("document.cookie")  # HttpOnly: no script reads the session
        page.screenshot(path=str(ARTIFACTS / "signed-in.png"), full_page=True)

        entry.get_by_test_id("curated-edit").click()
        answer = hook("editor-answer")
        expect(answer).to_have_value(f"{COST}[2]{BUDGET}[1]")
        answer.fill(f"{GROUNDED}\n{INVENTED}[1]")
        save = hook("editor-save")
        expect(save).to_be_disabled()
        hook("editor-check").click()
        bad = hook("claim-bad")
        expect(bad).to_have_count(1)
        expect(bad).to_contain_text(INVENTED)
        expect(bad).to_contain_text("引文 [1] 不支持这句话")
        expect(hook("claim-ok")).to_contain_text(GROUNDED.removesuffix("[1]"))
        expect(hook("editor-status")).to_contain_text("The check fails")
        expect(save).to_be_disabled()  # the server would refuse it too
        page.screenshot(path=str(ARTIFACTS / "check-fails.png"), full_page=True)

        answer.fill(GROUNDED)  # the invented claim taken out
        expect(save).to_be_disabled()  # not checked as it now stands
        hook("editor-check").click()
        expect(hook("editor-status")).to_contain_text("The check passes")
        expect(hook("claim-bad")).to_have_count(0)
        expect(hook("editor-quote-1-check")).to_contain_text("Found verbatim in the source")
        expect(save).to_be_enabled()
        save.click()
        expect(hook("admin-status")).to_contain_text("Saved")
        expect(hook("curated-answer")).to_have_text(GROUNDED)
        page.screenshot(path=str(ARTIFACTS / "saved.png"), full_page=True)

        hook("faq-questions").fill(QUESTION)  # asked on the page, as a trainer checks the FAQ
        hook("faq-build").click()
        expect(hook("faq-results")).to_contain_text(GROUNDED, timeout=30_000)
        served = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=30).json()
        assert served["curated"] is True and served["answer"] == GROUNDED

        hook("admin-signout").click()
        expect(hook("admin-signin")).to_be_visible()
        expect(hook("curated-entry")).to_have_count(0)
        page.context.close()


def test_markup_shows_as_text_an_ended_session_asks_to_sign_in_and_unpublish_confirms(
    browser: Browser, indexed: Settings, tmp_path: Path
) -> None:
    settings = private(indexed, tmp_path)
    bot = Bot(settings, embeddings=HashEmbeddings())
    budget = publish_budget_answer(bot)
    markup = budget.model_copy(update={"question": f"{MARKUP}成本重要吗?", "answer": f"{MARKUP}{COST}[2]"})
    publish(settings.data_dir, bot.embeddings, [markup])
    with serving(create_app(settings, bot=bot)) as url:
        page = open_page(browser, url)
        hook = page.get_by_test_id
        hook("admin-token").fill(TOKEN)
        hook("admin-token").press("Enter")
        expect(hook("curated-entry")).to_have_count(2)
        expect(hook("curated-list")).to_contain_text(f"{MARKUP}成本重要吗?")
        assert hook("curated-list").locator("img").count() == 0

        page.context.clear_cookies()  # the session ends (expired, or signed out in another tab)
        hook("curated-edit").first.click()
        hook("editor-check").click()
        expect(hook("admin-signin")).to_be_visible()
        expect(hook("admin-status")).to_have_text(
            "登录已失效,请重新登录 · Your session has ended; sign in again"
        )

        hook("admin-token").fill(TOKEN)
        hook("admin-signin-button").click()
        entry = hook("curated-entry").filter(has_text=QUESTION)
        drop = entry.get_by_test_id("curated-unpublish")
        drop.click()
        expect(drop).to_have_text("确认撤下? · Really unpublish?")  # a second click, not a dialog box
        assert httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=30).json()["curated"] is True
        drop.click()
        expect(hook("admin-status")).to_contain_text("Unpublished")
        expect(hook("curated-entry")).to_have_count(1)
        assert (
            httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=30).json()["curated"] is False
        )
        page.screenshot(path=str(ARTIFACTS / "unpublished.png"), full_page=True)
        script = httpx.get(f"{url}/faq/edit.js")
        assert script.status_code == 200 and "innerHTML" not in script.text
        page.context.close()


def test_without_an_admin_token_the_page_says_how_to_turn_editing_on(
    browser: Browser, indexed: Settings
) -> None:
    settings = with_admin(indexed, admin_token=None)
    with serving(create_app(settings, bot=Bot(settings, embeddings=HashEmbeddings()))) as url:
        page = open_page(browser, url)
        off = page.get_by_test_id("admin-off")
        expect(off).to_be_visible()
        expect(off).to_contain_text("CRMKB_SERVER_ADMIN_TOKEN")
        expect(page.get_by_test_id("admin-signin")).to_be_hidden()
        page.screenshot(path=str(ARTIFACTS / "editing-off.png"), full_page=True)
        page.context.close()
