"""The chat widget in a real browser: Debian's Chromium driven by Playwright, against a real uvicorn on
loopback serving the real bot. Screenshots go to .data/test-artifacts/widget/ (look at them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from crmkb.bot.schemas import Answer, Citation
from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings, Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.normalise import to_traditional
from crmkb.web.app import FEEDBACK_DB, create_app
from crmkb.web.loopback import serving
from tests.support.browser import chromium, record_dialogs
from tests.support.curated import curated_for

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / ".data" / "test-artifacts" / "widget"


@pytest.fixture(scope="module")
def base_url(real_bot: Bot) -> Iterator[str]:
    settings = real_bot.settings.model_copy(update={"server": ServerSettings(rate_limit=0)})
    with serving(create_app(settings, bot=real_bot)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(ARTIFACTS) as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    dialogs = record_dialogs(page)
    page.goto(base_url + "/")
    yield page
    assert dialogs == [], "no script from the network may run"
    context.close()


def hook(page: Page, name: str) -> Locator:
    return page.get_by_test_id(name)


def ask(page: Page, question: str) -> Locator:
    """Open the panel if needed, ask, and wait for the answer to finish; returns the answer's locator."""
    if not hook(page, "crmkb-panel").is_visible():
        hook(page, "crmkb-launcher").click()
    box = hook(page, "crmkb-input")
    box.fill(question)
    box.press("Enter")
    answer = hook(page, "crmkb-answer").last
    expect(answer).to_have_attribute("data-state", re.compile("done|reply|refusal|error"), timeout=30_000)
    return answer


def test_simplified_question_streams_an_answer_with_chips(page: Page) -> None:
    launcher = hook(page, "crmkb-launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    answer = ask(page, "CRM项目团队应该包括哪些人?")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(answer).to_have_attribute("data-state", "done")
    expect(answer).to_contain_text("管理高层")
    assert answer.get_by_test_id("crmkb-chip").count() >= 1
    assert re.fullmatch(r"[0-9a-f]{32}", answer.get_attribute("data-answer-id") or "")
    page.screenshot(path=str(ARTIFACTS / "answer-zh-hans.png"))


def test_traditional_and_english_questions(page: Page) -> None:
    traditional = ask(page, "實施顧問離開前要整理哪些問題?")
    expect(traditional).to_have_attribute("data-state", "done")
    expect(traditional).to_contain_text("問題")  # answered in the asker's script
    english = ask(page, "Who should be on a CRM project team?")  # a follow-up in the same conversation
    expect(english).to_have_attribute("data-state", "done")
    expect(english).to_contain_text("knowledge base")
    page.screenshot(path=str(ARTIFACTS / "answers-hant-en.png"))


def test_a_curated_answer_is_badged_in_the_askers_language(page: Page, real_bot: Bot, tmp_path: Path) -> None:
    with curated_for(real_bot, tmp_path) as entry:
        answer = ask(
            page, "CRM項目團隊應該由哪些人組成?"
        )  # a Traditional paraphrase of the published question
        badge = answer.get_by_test_id("crmkb-curated")
        expect(badge).to_have_text("✓ 培訓師審核過的答案")  # the asker's script, not the zh-CN page's
        expect(answer).to_have_attribute("data-curated", "true")
        expect(answer).to_contain_text("團隊")
        chips = answer.get_by_test_id("crmkb-chip")
        expect(chips).to_have_text(["1", "2"])  # only the two cited, in the order the text cites them
        chips.first.click()
        # in the asker's script, as the answer quotes it
        expect(hook(page, "crmkb-popover")).to_contain_text(to_traditional(entry.citations[-1].quote[:10]))
        page.screenshot(path=str(ARTIFACTS / "curated-zh-hant.png"))
        page.keyboard.press("Escape")
        english = ask(page, "Who should be on a CRM project team?")  # not curated: no badge
        expect(english).to_have_attribute("data-state", "done")
        assert english.get_by_test_id("crmkb-curated").count() == 0


def test_chip_opens_the_quote_in_its_paragraph(page: Page) -> None:
    answer = ask(page, "CRM软件至少应当提供哪些功能?")
    chip = answer.get_by_test_id("crmkb-chip").first
    chip.click()
    popover = hook(page, "crmkb-popover")
    expect(popover).to_be_visible()
    expect(popover).to_contain_text("企业实施CRM系统项目要做哪些准备")  # the source title
    mark = popover.locator("mark")
    expect(mark).to_contain_text("如下的功能")
    page.screenshot(path=str(ARTIFACTS / "popover.png"))
    page.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    expect(chip).to_be_focused()


@pytest.mark.parametrize(
    ("question", "title", "kind", "marked", "shot"),
    [
        ("项目失败后第一步做什么?", "如何挽救一个失败的CRM系统 › ", "失败案例", "失败", "popover-zh-hans.png"),
        # a Traditional asker reads the source in Traditional characters, as the answer quotes it
        ("項目失敗後第一步做什麼?", "如何挽救一個失敗的CRM系統 › ", "失敗案例", "失敗", "popover-zh-hant.png"),
        ("What should we do first after a CRM project fails?", "How to rescue a failed CRM system › ",
         "Failure case", "责备", "popover-en.png"),
    ],
)  # fmt: skip
def test_the_pop_over_shows_the_servers_label_and_kind(page: Page, question: str, title: str, kind: str,
                                                       marked: str, shot: str) -> None:  # fmt: skip
    """In the asker's language, as the API words them (the widget has no words of its own for them)."""
    answer = ask(page, question)
    answer.get_by_test_id("crmkb-chip").first.click()
    popover = hook(page, "crmkb-popover")
    expect(popover.locator("h3")).to_contain_text(title)
    expect(popover.locator(".kind")).to_have_text(kind)
    expect(popover.locator("blockquote")).to_contain_text(marked)  # the paragraph, fetched in that script
    expect(popover.locator("mark")).to_have_text(re.compile(r"\S"))
    page.screenshot(path=str(ARTIFACTS / shot))


def test_thumbs_up_with_a_comment_is_stored(page: Page, real_bot: Bot) -> None:
    answer = ask(page, "项目预算中软件成本占多少?")
    answer_id = answer.get_attribute("data-answer-id")
    answer.get_by_test_id("crmkb-up").click()
    expect(answer.get_by_test_id("crmkb-up")).to_have_attribute("aria-pressed", "true")
    answer.get_by_test_id("crmkb-comment").fill("清楚,有用")
    answer.get_by_test_id("crmkb-comment-send").click()
    store = FeedbackStore(real_bot.settings.data_dir / FEEDBACK_DB)
    for _ in range(50):
        rows = [r for r in store.feedback() if r.answer_id == answer_id and r.comment]
        if rows:
            break
        page.wait_for_timeout(100)
    assert rows and rows[-1].rating == "up" and rows[-1].comment == "清楚,有用"
    assert rows[-1].question == "项目预算中软件成本占多少?" and rows[-1].citations


def test_refusal_is_clear(page: Page) -> None:
    answer = ask(page, "Salesforce的许可证多少钱?")
    expect(answer).to_have_attribute("data-state", "refusal")
    expect(answer.locator(".line")).to_have_text("知识库中没有能回答这个问题的内容。")  # the message field
    expect(answer.locator(".topics li").first).to_contain_text("›")  # the topics field, one item each
    page.screenshot(path=str(ARTIFACTS / "refusal.png"))


def test_a_greeting_is_replied_to_without_the_refusal_badge(page: Page) -> None:
    answer = ask(page, "你好")
    expect(answer).to_have_attribute("data-state", "reply")
    expect(answer.locator(".badge")).to_have_count(0)
    expect(answer.locator(".note").first).to_have_text("知识库里的文章")
    expect(answer.locator(".topics li").first).to_be_visible()  # the documents' titles
    expect(answer.get_by_test_id("crmkb-up")).to_have_count(0)  # nothing to rate
    page.screenshot(path=str(ARTIFACTS / "greeting.png"))


def test_markup_in_a_question_shows_as_text(page: Page) -> None:
    question = "<img src=x onerror=alert(1)>CRM项目团队应该包括哪些人?"
    ask(page, question)
    panel = hook(page, "crmkb-panel")
    expect(panel).to_contain_text("<img src=x onerror=alert(1)>")
    assert panel.locator("img").count() == 0


def test_a_stream_cut_mid_answer_offers_retry(page: Page) -> None:
    def cut(route: Route) -> None:
        response = route.fetch()
        body = response.text()
        route.fulfill(response=response, body=body[: body.index("event: delta") + 40])

    page.route("**/api/ask/stream", cut)
    answer = ask(page, "CRM项目团队应该包括哪些人?")
    expect(answer).to_have_attribute("data-state", "error")
    page.screenshot(path=str(ARTIFACTS / "lost-connection.png"))
    page.unroute("**/api/ask/stream")
    hook(page, "crmkb-retry").last.click()
    expect(hook(page, "crmkb-answer").last).to_have_attribute("data-state", "done", timeout=30_000)


def test_keyboard_and_focus(page: Page) -> None:
    launcher = hook(page, "crmkb-launcher")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(hook(page, "crmkb-input")).to_be_focused()
    page.keyboard.press("Escape")
    expect(hook(page, "crmkb-panel")).to_be_hidden()
    expect(launcher).to_be_focused()


@pytest.mark.parametrize(("lang", "title"), [("zh-TW", "實施"), ("en", "assistant"), ("zh-CN", "实施")])
def test_ui_follows_the_page_language(browser: Browser, base_url: str, lang: str, title: str) -> None:
    context = browser.new_context(locale="de-DE")  # neither the browser's language nor a default decides
    page = context.new_page()
    host_page = f"{base_url}/host-page-{lang}"  # another page embedding the widget, served by the test
    page.route(
        host_page,
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<html lang="{lang}"><body><h1>Host</h1><script src="/widget.js" defer></script></body></html>',
        ),
    )
    page.goto(host_page)
    hook(page, "crmkb-launcher").click()
    expect(hook(page, "crmkb-panel")).to_contain_text(title)
    context.close()


def test_phone_width(browser: Browser, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(base_url + "/")
    ask(page, "项目失败后应该先做什么?")
    box = hook(page, "crmkb-panel").bounding_box()
    assert box is not None and box["width"] >= 380
    page.screenshot(path=str(ARTIFACTS / "phone.png"))
    context.close()


class MarkupBot:
    """A fake bot whose knowledge base text carries markup, to show the widget never parses it."""

    MARKUP = "<img src=x onerror=alert(1)>"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    served_version = "markup"

    def load(self) -> None:
        return None

    def refresh(self, *, wait: bool = False) -> None:
        return None

    def check_mode(self, mode: str | None) -> None:
        return None

    def ask(self, question: str, *, history: list[str] | None = None, mode: str | None = None) -> Answer:
        quote = f"项目计划{self.MARKUP}必须写下来。"
        citation = Citation(n=1, source="x.txt", title=f"标题{self.MARKUP}", section="节", kind="best-practice",
                            quote=quote, start=0, end=len(quote), score=0.9)  # fmt: skip
        return Answer(question=question, answer=f"最佳实践建议:\n{quote}[1]", answerable=True, language="zh-Hans",
                      mode="extractive", citations=[citation])  # fmt: skip


def test_markup_in_a_kb_passage_shows_as_text(browser: Browser, real_bot: Bot) -> None:
    settings = real_bot.settings.model_copy(update={"server": ServerSettings(rate_limit=0)})
    with serving(create_app(settings, bot=MarkupBot(settings))) as url:  # type: ignore[arg-type]
        context = browser.new_context()
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        page.goto(url + "/")
        answer = ask(page, "项目计划要写下来吗?")
        expect(answer).to_contain_text(MarkupBot.MARKUP)
        answer.get_by_test_id("crmkb-chip").first.click()
        expect(hook(page, "crmkb-popover")).to_contain_text(f"标题{MarkupBot.MARKUP}")
        assert hook(page, "crmkb-panel").locator("img").count() == 0 and dialogs == []
        context.close()


def test_trainer_page_builds_and_shows_text_only(page: Page, base_url: str) -> None:
    page.goto(base_url + "/faq")
    page.get_by_test_id("faq-questions").fill(
        "CRM软件至少应当提供哪些功能?\n<img src=x onerror=alert(1)>\n今天北京天气怎么样?"
    )
    page.get_by_test_id("faq-format").select_option("html")
    page.get_by_test_id("faq-build").click()
    results = page.get_by_test_id("faq-results")
    expect(results).to_contain_text("如下的功能", timeout=30_000)
    expect(results).to_contain_text("<img src=x onerror=alert(1)>")
    expect(results).to_contain_text("Not covered")
    assert results.locator("img").count() == 0
    with page.expect_download() as download:
        page.get_by_test_id("faq-download").click()
    assert download.value.suggested_filename == "faq.html"
    page.screenshot(path=str(ARTIFACTS / "faq-page.png"), full_page=True)
