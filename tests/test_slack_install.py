"""Issue 18, against the fake Slack on loopback, over both transports (HTTP and Socket Mode, one code path)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.service import Bot
from tests.support.fake_slack import (
    BOT_USER,
    Recorder,
    event_payload,
)
from tests.support.serve_process import CRMKB
from tests.support.slack_delivery import (
    SECRET,
    Delivery,
    Socket,
    delivering,
    fake_slack_settings,
)

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parent.parent / "README.md"
_clock = itertools.count()


@pytest.fixture(scope="module", params=["http", "socket"])
def delivery(
    request: pytest.FixtureRequest, real_bot: Bot, slack: tuple[str, Recorder]
) -> Iterator[Delivery]:
    fake, recorder = slack
    with delivering(
        request.param, fake_slack_settings(real_bot.settings, fake), real_bot, recorder
    ) as delivered:
        yield delivered


def ts() -> str:
    return f"{time.time():.0f}.{next(_clock):06d}"


def write(
    delivery: Delivery, recorder: Recorder, channel: str, text: str, thread: str = "", **extra: Any
) -> str:
    """Someone writes ``text`` in ``channel`` (in ``thread``): Slack keeps it and delivers what a subscribed
    app gets, the message event and, when it mentions the app, an app_mention too. Returns its ts."""
    message = {"type": "message", "channel": channel, "channel_type": "channel", "user": "U1", "text": text,
               "ts": ts()} | ({"thread_ts": thread} if thread else {}) | extra  # fmt: skip
    message["event_ts"] = message["ts"]
    recorder.said(message)
    if f"<@{BOT_USER}>" in text:
        delivery.event(
            event_payload({k: v for k, v in message.items() if k != "channel_type"} | {"type": "app_mention"})
        )
    delivery.event(event_payload(message))
    return str(message["ts"])


def posts(recorder: Recorder, channel: str) -> list[dict[str, Any]]:
    return [p for p in recorder.named("chat.postMessage") if p["channel"] == channel]


def wait_posts(recorder: Recorder, channel: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while len(posts(recorder, channel)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(posts(recorder, channel)) >= count, recorder.calls
    return posts(recorder, channel)


def cited(post: dict[str, Any]) -> bool:
    blocks = json.dumps(post.get("blocks", []), ensure_ascii=False)
    return "[1]" in blocks and "crmkb_feedback_up" in blocks and "知识库中没有" not in blocks


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


# 5. One code path: Socket Mode's own delivery rules


def test_socket_mode_answers_a_first_delivery_once_and_not_its_retries(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder
) -> None:
    with delivering(
        "socket", fake_slack_settings(real_bot.settings, slack[0]), real_bot, recorder
    ) as delivery:
        assert isinstance(delivery, Socket)
        mention = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> 项目预算中软件成本占多少?",
                   "channel": "CS", "ts": ts()}  # fmt: skip
        payload = event_payload(mention)
        delivery.event(payload)  # retry_attempt 0: the first delivery
        wait_posts(recorder, "CS", 1)
        delivery.event(payload)  # the same event again (a dropped ack, another connection)
        delivery._send(
            "events_api", event_payload(mention | {"ts": ts()}), retry_attempt=1, retry_reason="timeout"
        )
        time.sleep(1.5)
    assert len(posts(recorder, "CS")) == 1


# 5. `crmkb slack-socket` itself


def test_crmkb_slack_socket_answers_over_socket_mode_and_stops_on_ctrl_c(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder, tmp_path: Path
) -> None:
    env = {**os.environ, "CRMKB_DATA_DIR": str(real_bot.settings.data_dir), "CRMKB_KB_DIR": str(real_bot.settings.kb_dir),
           "CRMKB_SLACK_BOT_TOKEN": "xoxb-test", "CRMKB_SLACK_SIGNING_SECRET": SECRET,
           "CRMKB_SLACK_APP_TOKEN": "xapp-test", "CRMKB_SLACK_API_URL": f"{slack[0]}/api/"}  # fmt: skip
    opened = len(recorder.sockets)
    with (tmp_path / "socket.log").open("w") as log:
        process = subprocess.Popen([CRMKB, "slack-socket"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while len(recorder.sockets) == opened and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(recorder.sockets) > opened, (tmp_path / "socket.log").read_text()
        delivery = Socket(recorder, max(recorder.sockets, key=int))
        write(delivery, recorder, "CP", f"<@{BOT_USER}> 项目预算中软件成本占多少?")
        assert "三分之一" in json.dumps(wait_posts(recorder, "CP", 1)[0]["blocks"], ensure_ascii=False)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    output = (tmp_path / "socket.log").read_text()
    assert code == 0 and "Socket Mode stopped" in output and "Traceback" not in output
