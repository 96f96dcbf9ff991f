"""Ratings and the feedback store under repetition and loss: one rating per answer and rater (web, widget,
Slack), older databases migrated, and a `crmkb serve` that keeps answering while its feedback file is
deleted or replaced, then heals."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from crmkb.bot.schemas import Answer
from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings
from crmkb.feedback_store import FeedbackStore, FeedbackUnavailable
from crmkb.slack.messages import UNSTORED
from crmkb.web.app import FEEDBACK_DB, create_app
from crmkb.web.loopback import serving
from tests.support.browser import chromium
from tests.support.fake_slack import Recorder, make_app
from tests.support.serve_process import crmkb_serve
from tests.support.slack_delivery import SECRET
from tests.test_slack import buttons, click, command

QUESTION = "CRM项目团队应该包括哪些人?"
OLD_SCHEMA = """
CREATE TABLE answers (id TEXT PRIMARY KEY, created REAL NOT NULL, channel TEXT NOT NULL, question TEXT NOT NULL,
    answer TEXT NOT NULL, answerable INTEGER NOT NULL, language TEXT NOT NULL, mode TEXT NOT NULL,
    citations TEXT NOT NULL);
CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL,
    answer_id TEXT NOT NULL REFERENCES answers(id), rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL);
CREATE TABLE conversation_turns (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation TEXT NOT NULL,
    question TEXT NOT NULL);
"""


def an_answer(answer_id: str = "") -> Answer:
    return Answer(id=answer_id, question="q?", answer="a.", answerable=True, language="en", mode="extractive")


def ratings(store: FeedbackStore, answer_id: str) -> list[tuple[str, str, str]]:
    return [(r.rater, r.rating, r.comment) for r in store.feedback() if r.answer_id == answer_id]


def test_rating_again_replaces_that_raters_rating(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    answer_id = store.record(an_answer(), "web")
    first = store.rate(answer_id, "up", rater="web:a")
    assert store.rate(answer_id, "down", "too long", rater="web:a") == first  # the same row, now down
    store.rate(answer_id, "up", rater="web:b")
    assert ratings(store, answer_id) == [("web:a", "down", "too long"), ("web:b", "up", "")]


def test_a_comment_outlives_a_bare_repeat_of_its_rating_but_not_a_change(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    answer_id = store.record(an_answer(), "web")
    store.rate(answer_id, "up", "clear", rater="web:a")
    store.rate(answer_id, "up", rater="web:a")  # the widget's bare click, arriving after its comment
    assert ratings(store, answer_id) == [("web:a", "up", "clear")]
    store.rate(answer_id, "down", rater="web:a")
    assert ratings(store, answer_id) == [("web:a", "down", "")]


def test_an_older_database_is_migrated_and_its_duplicates_collapse_to_the_latest(tmp_path: Path) -> None:
    path = tmp_path / FEEDBACK_DB
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        for answer_id in ("a1", "a2"):
            db.execute(
                "INSERT INTO answers VALUES (?, 0, 'web', 'q?', 'a.', 1, 'en', 'extractive', '[]')",
                (answer_id,),
            )
        rows = [("a1", "up", "first"), ("a1", "down", "second"), ("a2", "up", ""), ("a1", "up", "latest")]
        for n, (answer_id, rating, comment) in enumerate(rows):
            db.execute(
                "INSERT INTO feedback (created, answer_id, rating, comment, channel) VALUES (?, ?, ?, ?, 'web')",
                (n, answer_id, rating, comment),
            )
    store = FeedbackStore(path)
    assert [(r.answer_id, r.rating, r.comment) for r in store.feedback()] == [
        ("a2", "up", ""),
        ("a1", "up", "latest"),
    ]
    store.rate("a1", "down", rater="slack:U1")
    store.rate("a1", "down", rater="slack:U1")
    assert ratings(store, "a1") == [("", "up", "latest"), ("slack:U1", "down", "")]
    assert FeedbackStore(path).answer("a1") is not None  # opening it again is harmless


def test_the_store_heals_when_its_file_is_lost_and_says_so_while_it_cannot(tmp_path: Path) -> None:
    path = tmp_path / "data" / FEEDBACK_DB
    store = FeedbackStore(path)
    store.record(an_answer("before"), "web")
    shutil.rmtree(path.parent)  # the whole data dir, not just the file
    assert store.record(an_answer("after"), "web") == "after"
    assert store.rate("after", "up", rater="web:a") and store.answer("before") is None
    path.unlink()
    path.write_bytes(b"not a database " * 100)
    assert store.try_record(an_answer("lost"), "web") is False
    with pytest.raises(FeedbackUnavailable, match="feedback store"):
        store.rate("after", "up", rater="web:a")
    path.unlink()
    assert store.try_record(an_answer("healed"), "web") and store.rate("healed", "down", rater="web:a")


def test_a_store_that_cannot_open_does_not_stop_the_service_starting(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the data dir should be")
    store = FeedbackStore(tmp_path / "data" / FEEDBACK_DB)
    assert store.try_record(an_answer(), "web") is False


@pytest.fixture(scope="module")
def base_url(real_bot: Bot) -> Iterator[str]:
    settings = real_bot.settings.model_copy(update={"server": ServerSettings(rate_limit=0)})
    with serving(create_app(settings, bot=real_bot)) as url:
        yield url


@pytest.mark.slow
def test_web_raters_are_the_widget_id_or_else_the_client_address(base_url: str, real_bot: Bot) -> None:
    answer_id = httpx.post(f"{base_url}/api/ask", json={"question": QUESTION}, timeout=30).json()["id"]
    clicks = [("up", "0123456789abcdef"), ("down", "0123456789abcdef"), ("up", None), ("down", None)]
    for rating, rater in clicks:
        payload = {"answer_id": answer_id, "rating": rating} | ({"rater": rater} if rater else {})
        assert httpx.post(f"{base_url}/api/feedback", json=payload).status_code == 201
    store = FeedbackStore(real_bot.settings.data_dir / FEEDBACK_DB)
    assert ratings(store, answer_id) == [("web:0123456789abcdef", "down", ""), ("addr:127.0.0.1", "down", "")]
    bad = httpx.post(
        f"{base_url}/api/feedback", json={"answer_id": answer_id, "rating": "up", "rater": "<x>"}
    )
    assert bad.status_code == 422


@pytest.mark.slow
def test_the_widget_rates_as_one_rater_across_visits(base_url: str, real_bot: Bot) -> None:
    store = FeedbackStore(real_bot.settings.data_dir / FEEDBACK_DB)
    answered: list[str] = []
    with chromium() as browser:
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(base_url + "/")
        for visit, clicks in enumerate((["crmkb-up", "crmkb-down"], ["crmkb-up"])):
            if visit:
                page.reload()  # a later visit: the same browser, so the same rater
            page.get_by_test_id("crmkb-launcher").click()
            page.get_by_test_id("crmkb-input").fill(QUESTION)
            page.get_by_test_id("crmkb-input").press("Enter")
            answer = page.get_by_test_id("crmkb-answer").last
            expect(answer).to_have_attribute("data-state", "done", timeout=30_000)
            for click in clicks:
                answer.get_by_test_id(click).click()
                expect(answer.get_by_test_id(click)).to_have_attribute("aria-pressed", "true")
            answered.append(answer.get_attribute("data-answer-id") or "")
            wanted = "down" if len(clicks) == 2 else "up"
            for _ in range(50):  # the widget does not wait for the rating to be stored
                if [r for _, r, _ in ratings(store, answered[-1])] == [wanted]:
                    break
                page.wait_for_timeout(100)
    first, second = (ratings(store, a) for a in answered)
    assert [r for _, r, _ in first] == ["down"] and [r for _, r, _ in second] == ["up"]
    assert re.fullmatch(r"web:[0-9a-f]{32}", first[0][0]) and first[0][0] == second[0][0]


@pytest.mark.slow
def test_a_served_process_keeps_answering_while_its_feedback_file_is_lost(
    real_bot: Bot, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(real_bot.settings.data_dir, data, ignore=shutil.ignore_patterns("*.sqlite3*"))
    db = data / FEEDBACK_DB
    recorder = Recorder()

    def ask(url: str) -> str:
        response = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=30)
        assert response.status_code == 200 and response.json()["citations"]
        return str(response.json()["id"])

    def rate(url: str, answer_id: str) -> httpx.Response:
        return httpx.post(f"{url}/api/feedback", json={"answer_id": answer_id, "rating": "up"})

    def lose_the_file() -> None:
        for path in data.glob(FEEDBACK_DB + "*"):
            path.unlink()

    slack_env = {"CRMKB_SLACK_BOT_TOKEN": "xoxb-test", "CRMKB_SLACK_SIGNING_SECRET": SECRET}
    with serving(make_app(recorder)) as fake:
        slack_env["CRMKB_SLACK_API_URL"] = f"{fake}/api/"
        env = {"CRMKB_DATA_DIR": str(data), "CRMKB_KB_DIR": str(real_bot.settings.kb_dir), **slack_env}
        with crmkb_serve(env, tmp_path / "serve.log") as served:
            url = served.url
            before = ask(url)
            assert rate(url, before).status_code == 201

            lose_the_file()
            healed = ask(url)
            assert rate(url, healed).status_code == 201
            assert rate(url, before).status_code == 404  # its record went with the file

            lose_the_file()
            db.write_bytes(b"not a database " * 100)  # replaced by something SQLite cannot open
            unrecorded = ask(url)
            with httpx.stream("POST", f"{url}/api/ask/stream", json={"question": QUESTION}, timeout=30) as s:
                assert "event: done" in s.read().decode()
            refused = rate(url, unrecorded)
            assert refused.status_code == 503 and refused.json()["detail"].startswith(
                "ratings cannot be stored"
            )
            assert command(url, fake, QUESTION, key="c1").status_code == 200
            answer_id = buttons(recorder.wait_for("response/c1")[0]["blocks"])["crmkb_feedback_up"]
            assert click(url, fake, "crmkb_feedback_up", answer_id, key="f1").status_code == 200
            assert recorder.wait_for("response/f1")[0]["text"] == UNSTORED

            db.unlink()
            assert rate(url, ask(url)).status_code == 201
    log = (tmp_path / "serve.log").read_text()
    assert "feedback store" in log and "served without being recorded" in log and "Traceback" not in log
