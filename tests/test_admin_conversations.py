"""The Conversations page's API over real HTTP: filters and pages, the CSV of a filter (escaped, formulas
neutralised), deleting one answer or a confirmed filter, the retention purge, and the feedback store's
in-place upgrade that records curated answers and answer times."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crmkb.bot.service import Bot
from crmkb.core.settings import Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.insights.conversations import ConversationLog, Filters
from crmkb.web.app import FEEDBACK_DB
from crmkb.web.retention import RetentionSchedule
from tests.support.admin import Console, console, private
from tests.support.cli import invoke, serving_bot
from tests.support.conversations import Served, seed
from tests.support.faq_edit import QUESTION, publish_budget_answer

API = "/api/admin/conversations"
TRAFFIC = [
    Served("CRM项目结束工作包括什么?", rating="up", days_ago=0.1, user_id="u-42"),
    Served(
        "火星上的天气怎么样?", answered=False, channel="slack", rating="down", comment="没用", days_ago=1.1
    ),
    Served("How do I plan a CRM budget?", language="en", curated=True, latency_ms=12, days_ago=2.1),
    Served('=HYPERLINK("http://evil.example","点我"),"引号"\n第二行', answered=False, days_ago=3.1),
    Served("项目预算中软件成本占多少?", channel="slack", rating="up", comment="很好, 谢谢", days_ago=40),
]


def with_retention(settings: Settings, days: int) -> Settings:
    return settings.model_copy(
        update={"feedback": settings.feedback.model_copy(update={"retention_days": days})}
    )


@pytest.fixture
def admin(hash_index: Settings, tmp_path: Path) -> Iterator[tuple[Console, list[str]]]:
    settings = private(hash_index, tmp_path)
    ids = seed(FeedbackStore(settings.data_dir / FEEDBACK_DB), TRAFFIC)
    with console(settings) as signed_in:
        yield signed_in, ids


def listed(admin: Console, **params: Any) -> dict[str, Any]:
    response = admin.client.get(API, params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def questions(page: dict[str, Any]) -> list[str]:
    return [r["question"] for r in page["rows"]]


def test_filters_narrow_the_list_and_pages_walk_it(admin: tuple[Console, list[str]]) -> None:
    console, ids = admin
    everything = listed(console)
    assert everything["total"] == 5 and questions(everything) == [t.question for t in TRAFFIC]  # newest first
    assert everything["channels"] == ["slack", "web"] and everything["languages"] == ["en", "zh-Hans"]
    first = everything["rows"][0]
    assert first["id"] == ids[0] and first["user_id"] == "u-42" and first["up"] == 1 and first["answered"]
    assert everything["rows"][2]["curated"] and everything["rows"][2]["latency_ms"] == 12

    assert questions(listed(console, channel="slack")) == [TRAFFIC[1].question, TRAFFIC[4].question]
    assert questions(listed(console, language="en")) == [TRAFFIC[2].question]
    assert questions(listed(console, outcome="refused")) == [TRAFFIC[1].question, TRAFFIC[3].question]
    assert questions(listed(console, rating="down")) == [TRAFFIC[1].question]
    assert listed(console, rating="down")["rows"][0]["comment"] == "没用"
    assert listed(console, rating="unrated")["total"] == 2 and listed(console, rating="rated")["total"] == 3
    assert questions(listed(console, q="软件成本")) == [TRAFFIC[4].question]
    assert questions(listed(console, q="谢谢")) == [TRAFFIC[4].question]  # a comment matches too
    assert listed(console, q="100%")["total"] == 0  # LIKE's wildcards are plain text
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    recent = listed(console, since=str(today - timedelta(days=2)))
    assert TRAFFIC[4].question not in questions(recent) and TRAFFIC[0].question in questions(recent)
    old = listed(console, until=str(today - timedelta(days=30)))
    assert questions(old) == [TRAFFIC[4].question]

    second = listed(console, offset=2, limit=2)
    assert second["total"] == 5 and questions(second) == [TRAFFIC[2].question, TRAFFIC[3].question]
    assert console.client.get(API, params={"outcome": "maybe"}).status_code == 422


def test_the_csv_holds_what_the_filter_shows_with_formulas_neutralised(
    admin: tuple[Console, list[str]],
) -> None:
    console, _ = admin
    response = console.client.get(f"{API}/export.csv", params={"outcome": "refused"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:], newline="")))
    assert [r["question"] for r in rows] == ["火星上的天气怎么样?", "'" + TRAFFIC[3].question]
    assert rows[0]["channel"] == "slack" and rows[0]["down"] == "1" and rows[0]["comment"] == "没用"
    assert rows[0]["outcome"] == "refused" and rows[0]["latency_ms"] == "100"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), cell  # no cell a spreadsheet would run
    everything = list(
        csv.DictReader(io.StringIO(console.client.get(f"{API}/export.csv").text[1:], newline=""))
    )
    assert len(everything) == 5 and everything[4]["comment"] == "很好, 谢谢"


def test_a_reply_to_a_greeting_is_its_own_outcome(hash_index: Settings, tmp_path: Path) -> None:
    """ "你好" and "谢谢" are replied to, not refused: the Conversations page says so and filters them apart."""
    settings = private(hash_index, tmp_path)
    seed(FeedbackStore(settings.data_dir / FEEDBACK_DB), [
        Served("你好", answered=False, declined="nothing_asked"),
        Served("谢谢", answered=False, declined="acknowledged", days_ago=0.1),
        Served("火星上的天气怎么样?", answered=False, days_ago=0.2),
        Served("CRM项目团队应该包括哪些人?", days_ago=0.3),
    ])  # fmt: skip
    with console(settings) as admin:
        rows = listed(admin)["rows"]
        assert [r["outcome"] for r in rows] == ["replied", "replied", "refused", "answered"]
        assert questions(listed(admin, outcome="replied")) == ["你好", "谢谢"]
        assert questions(listed(admin, outcome="refused")) == ["火星上的天气怎么样?"]
        assert questions(listed(admin, outcome="answered")) == ["CRM项目团队应该包括哪些人?"]
        exported = admin.client.get(f"{API}/export.csv", params={"outcome": "replied"}).text[1:]
        assert [r["outcome"] for r in csv.DictReader(io.StringIO(exported, newline=""))] == [
            "replied",
            "replied",
        ]


def test_the_csv_of_many_answers_is_every_page_of_them(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    ids = seed(store, TRAFFIC)
    text = "".join(ConversationLog(store).csv_chunks(Filters(), batch=2))  # read 2 by 2
    assert [r["id"] for r in csv.DictReader(io.StringIO(text[1:], newline=""))] == ids
    tied = seed(store, [Served(f"同一刻 {n}") for n in range(5)], now=1000.0)  # asked at one instant
    text = "".join(ConversationLog(store).csv_chunks(Filters(until=2000.0), batch=2))
    assert sorted(r["id"] for r in csv.DictReader(io.StringIO(text[1:], newline=""))) == sorted(tied)


def test_delete_one_or_a_confirmed_filter_with_their_ratings(admin: tuple[Console, list[str]]) -> None:
    console, ids = admin
    assert console.client.post(f"{API}/delete", json={"ids": [ids[0]]}).status_code == 403  # no CSRF token
    gone = console.change("POST", f"{API}/delete", json={"ids": [ids[0]]})
    assert gone.status_code == 200 and gone.json() == {"deleted": 1}
    assert ids[0] not in [r["id"] for r in listed(console)["rows"]]

    wrong = console.change("POST", f"{API}/delete", json={"filters": {"channel": "slack"}, "expected": 1})
    assert wrong.status_code == 409 and "matches 2" in wrong.json()["detail"]
    assert console.change("POST", f"{API}/delete", json={"filters": {"channel": "slack"}}).status_code == 422
    done = console.change("POST", f"{API}/delete", json={"filters": {"channel": "slack"}, "expected": 2})
    assert done.json() == {"deleted": 2}
    assert listed(console)["total"] == 2 and listed(console, channel="slack")["total"] == 0
    store = FeedbackStore(console.bot.settings.data_dir / FEEDBACK_DB)
    assert [f.answer_id for f in store.feedback()] == []  # their ratings went with them


def test_retention_purges_at_start_and_on_demand(hash_index: Settings, tmp_path: Path) -> None:
    settings = with_retention(private(hash_index, tmp_path), 30)
    store = FeedbackStore(settings.data_dir / FEEDBACK_DB)
    seed(store, TRAFFIC)
    with console(settings) as admin:
        page = listed(admin)
        assert page["retention_days"] == 30
        assert page["total"] == 4 and TRAFFIC[4].question not in questions(page)  # 40 days old: gone at start
        seed(store, [Served("旧问题", days_ago=31)])
        assert listed(admin)["total"] == 5
        assert admin.change("POST", f"{API}/retention").json() == {"deleted": 1}
        assert listed(admin)["total"] == 4
    with console(private(hash_index, tmp_path / "off")) as admin:
        refused = admin.change("POST", f"{API}/retention")
        assert refused.status_code == 422 and "CRMKB_FEEDBACK_RETENTION_DAYS" in refused.json()["detail"]


def test_a_visitor_without_a_session_reads_nothing(admin: tuple[Console, list[str]]) -> None:
    console, _ = admin
    for path in (API, f"{API}/export.csv"):
        assert httpx.get(console.url + path).status_code == 401


def test_an_older_store_upgrades_in_place_and_records_curated_answers_and_times(tmp_path: Path) -> None:
    path = tmp_path / FEEDBACK_DB
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE answers (id TEXT PRIMARY KEY, created REAL NOT NULL, channel TEXT NOT NULL, question TEXT "
        "NOT NULL, answer TEXT NOT NULL, answerable INTEGER NOT NULL, language TEXT NOT NULL, mode TEXT NOT NULL, "
        "citations TEXT NOT NULL)"
    )
    db.execute(
        "INSERT INTO answers VALUES ('old', 1.0, 'web', '旧的', '答', 1, 'zh-Hans', 'extractive', '[]')"
    )
    db.commit()
    db.close()
    store = FeedbackStore(path)
    seed(store, [Served("新的", curated=True, latency_ms=250)])
    total, rows = ConversationLog(store).page(Filters())
    assert total == 2
    new, old = rows
    assert (new.curated, new.latency_ms) == (True, 250)
    assert (old.question, old.curated, old.latency_ms) == ("旧的", False, None)


def test_answers_from_the_command_line_are_recorded_as_cli(hash_index: Settings, tmp_path: Path) -> None:
    settings = private(hash_index, tmp_path)
    services = serving_bot(Bot(settings, embeddings=HashEmbeddings()))
    assert invoke(services, "ask", "CRM项目结束工作包括什么?").exit_code == 0
    assert invoke(services, "chat", input="火星上的天气怎么样?\n\n").exit_code == 0
    total, rows = ConversationLog(FeedbackStore(settings.data_dir / FEEDBACK_DB)).page(Filters(channel="cli"))
    assert total == 2 and [r.question for r in rows] == ["火星上的天气怎么样?", "CRM项目结束工作包括什么?"]
    assert all(r.latency_ms is not None and r.latency_ms > 0 for r in rows)


def test_a_curated_answer_served_over_http_is_recorded_as_curated_with_its_time(
    hash_index: Settings, tmp_path: Path
) -> None:
    with console(private(hash_index, tmp_path)) as admin:
        publish_budget_answer(admin.bot)
        served = httpx.post(f"{admin.url}/api/ask", json={"question": QUESTION}, timeout=60).json()
        assert served["curated"]
        row = listed(admin, q=QUESTION)["rows"][0]
        assert row["curated"] and row["channel"] == "web" and row["latency_ms"] > 0


def test_the_schedule_purges_again_while_the_service_runs(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    seed(store, [Served("旧", days_ago=10), Served("新")])
    schedule = RetentionSchedule(store, 5, every_s=0.05)
    schedule.start()
    try:
        assert ConversationLog(store).count(Filters()) == 1  # at start, before anything is served
        seed(store, [Served("又一个旧的", days_ago=6)])
        for _ in range(200):  # the next run is due within 0.05 s
            if ConversationLog(store).count(Filters()) == 1:
                break
            time.sleep(0.05)
        assert ConversationLog(store).count(Filters()) == 1
    finally:
        schedule.stop()
