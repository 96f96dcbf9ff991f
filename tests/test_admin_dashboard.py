"""The Dashboard's API over real HTTP: per day and per channel, questions, answered and refused, curated
hits, 👍 and 👎, and p50/p95 answer times."""

from __future__ import annotations

import time
from pathlib import Path

from crmkb.core.settings import Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.web.app import FEEDBACK_DB
from tests.support.admin import console, private
from tests.support.conversations import DAY_S, Served, seed

API = "/api/admin/dashboard"
# Noon (UTC) today, so "days ago" never crosses a midnight whatever the time the test runs.
NOON = int(time.time() // DAY_S) * DAY_S + DAY_S / 2
TRAFFIC = [
    *(Served(f"网页问题{n}", latency_ms=10.0 * n) for n in range(1, 11)),  # today: 10 web answers, 10–100 ms
    Served("被拒绝", answered=False, latency_ms=5, rating="down"),
    Served("精选", curated=True, latency_ms=2, rating="up"),
    Served("Slack 问题", channel="slack", latency_ms=400, days_ago=1),
    Served("Slack 拒绝", channel="slack", answered=False, latency_ms=600, days_ago=1, rating="down"),
    # a greeting is replied to, neither answered nor refused
    Served("你好", channel="slack", answered=False, declined="nothing_asked", latency_ms=500, days_ago=1),
    Served("很久以前", days_ago=45),  # outside 30 days
]


def test_figures_per_day_and_channel(hash_index: Settings, tmp_path: Path) -> None:
    settings = private(hash_index, tmp_path)
    seed(FeedbackStore(settings.data_dir / FEEDBACK_DB), TRAFFIC, now=NOON)
    with console(settings) as admin:
        page = admin.client.get(API).json()
        assert page["days"] == 30
        channels = {c["channel"]: c for c in page["channels"]}
        assert [c["channel"] for c in page["channels"]] == ["slack", "web", "all"]
        web, slack, every = channels["web"], channels["slack"], channels["all"]
        assert (web["questions"], web["answered"], web["refused"], web["curated"]) == (12, 11, 1, 1)
        assert (web["up"], web["down"]) == (1, 1)
        assert (slack["questions"], slack["answered"], slack["refused"], slack["down"]) == (3, 1, 1, 1)
        assert every["questions"] == 15  # the 45-day-old answer is outside the window
        assert len(every["days"]) == 30 and every["days"][-1]["day"] == time.strftime(
            "%Y-%m-%d", time.gmtime(NOON)
        )
        assert every["days"][-1]["questions"] == 12 and every["days"][-2]["questions"] == 3
        assert sum(d["questions"] for d in every["days"][:-2]) == 0
        assert slack["days"][-2] | {"day": ""} == {"day": "", "questions": 3, "answered": 1, "refused": 1,
                                                   "curated": 0, "up": 0, "down": 1}  # fmt: skip
        assert (slack["p50_ms"], slack["p95_ms"]) == (500.0, 590.0)
        web_times = sorted([10.0 * n for n in range(1, 11)] + [5, 2])
        assert web["p50_ms"] == (web_times[5] + web_times[6]) / 2
        assert admin.client.get(API, params={"days": 60}).json()["channels"][-1]["questions"] == 16
        assert admin.client.get(API, params={"days": 0}).status_code == 422
