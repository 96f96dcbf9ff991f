"""Who is asking, in a real browser: a host page on its own origin (a small server on loopback, like a
customer's intranet) embeds the widget and hands it its signed-in user's token through a provider function
that calls the host's token endpoint; crmkb (real uvicorn, real bot) runs in JWT mode with that origin
allowed. Screenshots go to .data/test-artifacts/widget-jwt/ (look at them)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from crmkb.bot.service import Bot
from crmkb.core.settings import JWTSettings, ServerSettings
from crmkb.feedback_store import FeedbackStore
from crmkb.web.app import FEEDBACK_DB, create_app
from crmkb.web.loopback import serving
from tests.support.browser import chromium, record_dialogs
from tests.support.tokens import ISSUER, SECRET, hs256

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / ".data" / "test-artifacts" / "widget-jwt"

HOST_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Intranet</title></head>
<body><h1>Intranet · signed in as {user}</h1>
<script>
  // The README's snippet: the page's own server signs a short-lived token for the signed-in user.
  async function crmkbToken() {{
    const response = await fetch("/crmkb-token", {{ credentials: "same-origin" }});
    return response.ok ? (await response.json()).token : null;
  }}
</script>
<script src="{api}/widget.js" data-api="{api}" data-token-provider="crmkbToken" defer></script>
</body></html>"""


class Intranet:
    """The host site: its page, and the token endpoint its page calls (here minting HS256 tokens)."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.user = "alice@intranet"
        self.lifetime = 300.0  # seconds; negative: the endpoint hands out expired tokens
        self.lang = "zh-CN"
        self.tokens_issued = 0
        intranet = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/crmkb-token":
                    intranet.tokens_issued += 1
                    token = hs256(intranet.user, lifetime=intranet.lifetime)
                    self._send("application/json", f'{{"token": "{token}"}}')
                else:
                    page = HOST_PAGE.format(lang=intranet.lang, user=intranet.user, api=intranet.api)
                    self._send("text/html; charset=utf-8", page)

            def _send(self, kind: str, text: str) -> None:
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # localhost, not 127.0.0.1: another origin than crmkb's, as a customer's page is.
        self.url = f"http://localhost:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def site(real_bot: Bot) -> Iterator[tuple[Intranet, str]]:
    """The intranet, and the crmkb server in JWT mode that allows the intranet's origin."""
    intranet = Intranet(api="")
    settings = real_bot.settings.model_copy(update={
        "server": ServerSettings(rate_limit=0, cors_origins=[intranet.url]),
        "jwt": JWTSettings.model_validate({"mode": "required", "issuers": [ISSUER], "secrets": {ISSUER: SECRET}}),
    })  # fmt: skip
    with serving(create_app(settings, bot=real_bot)) as url:
        intranet.api = url
        yield intranet, url
    intranet.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(ARTIFACTS) as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, site: tuple[Intranet, str]) -> Iterator[Page]:
    intranet, _ = site
    intranet.lifetime, intranet.lang = 300.0, "zh-CN"
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    dialogs = record_dialogs(page)
    yield page
    assert dialogs == []
    context.close()


def ask(page: Page, question: str) -> Any:
    page.get_by_test_id("crmkb-launcher").click()
    box = page.get_by_test_id("crmkb-input")
    box.fill(question)
    box.press("Enter")
    answer = page.get_by_test_id("crmkb-answer").last
    expect(answer).to_have_attribute("data-state", re.compile("done|reply|refusal|error"), timeout=30_000)
    return answer


def test_the_host_pages_user_is_answered_and_known(
    page: Page, site: tuple[Intranet, str], real_bot: Bot
) -> None:
    intranet, _ = site
    issued = intranet.tokens_issued
    page.goto(intranet.url + "/")
    answer = ask(page, "CRM项目团队应该包括哪些人?")
    expect(answer).to_have_attribute("data-state", "done")
    expect(answer).to_contain_text("管理高层")
    answer_id = answer.get_attribute("data-answer-id") or ""
    page.screenshot(path=str(ARTIFACTS / "signed-in-answer.png"))

    store = FeedbackStore(real_bot.settings.data_dir / FEEDBACK_DB)
    assert store.asked_by(answer_id) == "alice@intranet"
    with page.expect_response("**/api/sources/**") as source:
        answer.get_by_test_id("crmkb-chip").first.click()
    assert source.value.status == 200  # the pop-over's paragraph, fetched as the same user
    page.keyboard.press("Escape")
    with page.expect_response("**/api/feedback") as rated:
        answer.get_by_test_id("crmkb-up").click()
    assert rated.value.status == 201
    rows = [r for r in store.feedback() if r.answer_id == answer_id]
    assert [(r.rating, r.user_id) for r in rows] == [("up", "alice@intranet")]
    # One token served the question, the source and the rating: the widget keeps it until near its expiry.
    assert intranet.tokens_issued - issued == 1


def test_an_expired_token_tells_the_user_to_sign_in_again(page: Page, site: tuple[Intranet, str]) -> None:
    intranet, _ = site
    intranet.lifetime = -600  # the host's session has lapsed: its endpoint only has stale tokens
    issued = intranet.tokens_issued
    page.goto(intranet.url + "/")
    answer = ask(page, "CRM项目团队应该包括哪些人?")
    expect(answer).to_have_attribute("data-state", "error")
    expect(answer).to_contain_text("登录已过期")
    expect(answer.get_by_role("alert")).to_be_visible()
    assert intranet.tokens_issued - issued == 2  # asked once, and once more after the 401
    page.screenshot(path=str(ARTIFACTS / "expired-token.png"))

    intranet.lifetime = 300  # signed in again: the retry button gets a fresh token and an answer
    answer.get_by_test_id("crmkb-retry").click()
    expect(answer).to_have_attribute("data-state", "done", timeout=30_000)


def test_the_message_follows_the_page_language(page: Page, site: tuple[Intranet, str]) -> None:
    intranet, _ = site
    intranet.lifetime, intranet.lang = -600, "en"
    page.goto(intranet.url + "/")
    answer = ask(page, "Who should be on a CRM project team?")
    expect(answer).to_contain_text("Your sign-in has expired")
    page.screenshot(path=str(ARTIFACTS / "expired-token-en.png"))
