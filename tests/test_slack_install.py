"""Issue 18, against the fake Slack on loopback, over both transports (HTTP and Socket Mode, one code path):
sharing into a channel the bot is not in, thread follow-ups without a mention (and nothing else answered),
URL verification with only the signing secret and the README's install order, and failures that always
reach the asker as one line."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crmkb.bot.schemas import Answer, Mode
from crmkb.bot.service import Bot
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.web.app import FEEDBACK_DB, create_app
from crmkb.web.loopback import free_port, serving
from tests.support.fake_slack import (
    BOT_ID,
    BOT_USER,
    Recorder,
    action_payload,
    command_fields,
    event_payload,
)
from tests.support.serve_process import CRMKB
from tests.support.slack_delivery import (
    Delivery,
    Socket,
    delivering,
    fake_slack_settings,
    signed_post,
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


# 2. Thread follow-ups


def test_a_reply_in_a_thread_the_bot_answered_is_a_follow_up(
    delivery: Delivery, recorder: Recorder, real_bot: Bot
) -> None:
    channel = f"CF{delivery.name}"
    root = write(delivery, recorder, channel, f"<@{BOT_USER}> CRM项目失败的最主要原因是什么?")
    assert wait_posts(recorder, channel, 1)[0]["thread_ts"] == root
    write(delivery, recorder, channel, "为什么?", thread=root)  # no mention
    follow_up = wait_posts(recorder, channel, 2)[1]
    assert follow_up["thread_ts"] == root and cited(follow_up)  # alone, "为什么?" is refused
    store = FeedbackStore(real_bot.settings.data_dir / FEEDBACK_DB)
    assert store.history(f"{channel}:{root}") == ["CRM项目失败的最主要原因是什么?", "为什么?"]


def test_only_replies_in_the_bots_threads_are_answered_and_each_once(
    delivery: Delivery, recorder: Recorder
) -> None:
    channel = f"CO{delivery.name}"
    root = write(delivery, recorder, channel, f"<@{BOT_USER}> 项目预算中软件成本占多少?")
    wait_posts(recorder, channel, 1)
    write(delivery, recorder, channel, "项目预算中软件成本占多少?")  # a channel message
    other = write(delivery, recorder, channel, "周会改到周四")
    write(
        delivery, recorder, channel, "项目预算中软件成本占多少?", thread=other
    )  # a thread the bot is not in
    write(delivery, recorder, channel, "为什么?", thread=root, subtype="message_changed")  # an edit
    write(delivery, recorder, channel, "joined", subtype="channel_join")
    write(delivery, recorder, channel, "为什么?", thread=root, user=BOT_USER, bot_id=BOT_ID)  # its own
    write(delivery, recorder, channel, "为什么?", thread=root, user="U9", bot_id="BOTHER")  # another bot
    write(delivery, recorder, channel, f"<@{BOT_USER}> 为什么?", thread=root)  # mention and message events
    write(delivery, recorder, channel, "<@U2> 你看这个为什么?", thread=root)  # to a colleague
    write(
        delivery, recorder, channel, "为什么?", thread=root, subtype="thread_broadcast"
    )  # sent to the channel too
    wait_posts(recorder, channel, 3)
    time.sleep(1.5)
    assert [p["thread_ts"] for p in posts(recorder, channel)] == [root, root, root]


def test_a_thread_is_followed_after_a_restart_and_over_the_other_transport(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder
) -> None:
    settings = fake_slack_settings(real_bot.settings, slack[0])
    with delivering("http", settings, real_bot, recorder) as first:
        root = write(first, recorder, "CR", f"<@{BOT_USER}> CRM项目失败的最主要原因是什么?")
        wait_posts(recorder, "CR", 1)
    with delivering("socket", settings, real_bot, recorder) as second:  # nothing kept in memory
        write(second, recorder, "CR", "为什么?", thread=root)
        assert cited(wait_posts(recorder, "CR", 2)[1])


def test_while_the_feedback_store_is_down_the_thread_is_read_from_slack(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder, tmp_path: Path
) -> None:
    (tmp_path / FEEDBACK_DB).write_bytes(b"not a database " * 100)
    settings = fake_slack_settings(real_bot.settings, slack[0]).model_copy(update={"data_dir": tmp_path})
    with delivering("http", settings, real_bot, recorder) as delivery:
        root = write(delivery, recorder, "CD", f"<@{BOT_USER}> CRM项目失败的最主要原因是什么?")
        wait_posts(recorder, "CD", 1)
        write(delivery, recorder, "CD", "为什么?", thread=root)
        assert cited(wait_posts(recorder, "CD", 2)[1])  # its history came from the thread itself
        other = write(delivery, recorder, "CD", "周会改到周四")
        write(delivery, recorder, "CD", "项目预算中软件成本占多少?", thread=other)
        recorder.wait_for("conversations.replies", 2)
        time.sleep(1)
    assert len(posts(recorder, "CD")) == 2


# 1. Sharing


def test_sharing_where_the_bot_is_not_a_member_says_to_invite_it(
    delivery: Delivery, slack: tuple[str, Recorder], recorder: Recorder
) -> None:
    channel = f"GP{delivery.name}"  # a private channel: chat:write.public does not reach it
    recorder.refuse(channel, "channel_not_found")
    key = f"{delivery.name}-share"
    delivery.command(command_fields(slack[0], "CRM项目团队应该包括哪些人?", key, channel=channel))
    answer_id = buttons(recorder.wait_for(f"response/{key}")[0]["blocks"])["crmkb_share"]
    delivery.action(action_payload(slack[0], "crmkb_share", answer_id, f"{key}-1", channel=channel))
    said = recorder.wait_for(f"response/{key}-1")[0]
    assert "/invite @crmkb" in said["text"] and said["response_type"] == "ephemeral"
    assert not said.get("delete_original")  # the private answer stays, to be shared once invited
    recorder.refusals.pop(channel)  # /invite @crmkb
    delivery.action(action_payload(slack[0], "crmkb_share", answer_id, f"{key}-2", channel=channel))
    assert recorder.wait_for(f"response/{key}-2")[0].get("delete_original")
    shared = posts(recorder, channel)[-1]
    assert "crmkb_share" not in buttons(shared["blocks"]) and shared.get("thread_ts") is None
    shared_ts = recorder.messages[channel][-1]["ts"]
    write(delivery, recorder, channel, "具体怎么做?", thread=shared_ts)  # its thread is the bot's too
    assert wait_posts(recorder, channel, 3)[-1]["thread_ts"] == shared_ts  # refused, shared, followed up


@pytest.mark.parametrize(
    ("channel", "error", "said"),
    [
        ("DTWO", "channel_not_found", "direct message between other people"),
        ("CARCH", "is_archived", "Slack said is_archived"),
    ],
)
def test_other_share_failures_say_what_happened(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder, channel: str, error: str, said: str
) -> None:
    recorder.refuse(channel, error)
    with delivering("http", fake_slack_settings(real_bot.settings, slack[0]), real_bot, recorder) as delivery:
        delivery.command(
            command_fields(slack[0], "What is the biggest business risk?", f"{channel}-c", channel=channel)
        )
        answer_id = buttons(recorder.wait_for(f"response/{channel}-c")[0]["blocks"])["crmkb_share"]
        delivery.action(action_payload(slack[0], "crmkb_share", answer_id, f"{channel}-s", channel=channel))
        assert said in recorder.wait_for(f"response/{channel}-s")[0]["text"]


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
        delivery.send(
            "events_api", event_payload(mention | {"ts": ts()}), retry_attempt=1, retry_reason="timeout"
        )
        time.sleep(1.5)
    assert len(posts(recorder, "CS")) == 1


# 3. URL verification and the README's install order


def verification(url: str, **kw: Any) -> httpx.Response:
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"})
    return signed_post(url, body, "application/json", **kw)


def test_url_verification_needs_only_the_signing_secret(real_bot: Bot, slack: tuple[str, Recorder]) -> None:
    settings = fake_slack_settings(real_bot.settings, slack[0], token=False)
    with serving(create_app(settings, bot=real_bot)) as url:
        answered = verification(url)
        assert answered.status_code == 200 and answered.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
        assert verification(url, secret="not-the-secret").status_code == 401
        mention = {"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1", "ts": ts()}
        waiting = signed_post(url, json.dumps(event_payload(mention)), "application/json")
        assert waiting.status_code == 503 and "CRMKB_SLACK_BOT_TOKEN" in waiting.json()["detail"]


def test_the_readme_install_steps_work_in_the_order_written(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder
) -> None:
    install = README.read_text().split("Install, with `crmkb serve` reachable", 1)[1].split("\n\n", 2)[1]
    steps = re.findall(r"^\d\. (.*(?:\n   .*)*)", install, flags=re.M)
    said = ["Start `crmkb serve`", "From an app manifest", "CRMKB_SLACK_SIGNING_SECRET", "verify the request URL",
            "CRMKB_SLACK_BOT_TOKEN", "/invite @crmkb"]  # fmt: skip
    assert len(steps) == len(said) and all(what in step for what, step in zip(said, steps, strict=True))

    base, fake = real_bot.settings, slack[0]
    with serving(create_app(base, bot=real_bot)) as url:  # 1-2: Slack checks at once, and cannot pass
        assert verification(url).status_code == 503
    with serving(create_app(fake_slack_settings(base, fake, token=False), bot=real_bot)) as url:  # 3-4
        assert verification(url).json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    with delivering("http", fake_slack_settings(base, fake), real_bot, recorder) as delivery:  # 5-6
        assert delivery.command(command_fields(fake, "CRM项目团队应该包括哪些人?", "install")) == {}
        assert buttons(recorder.wait_for("response/install")[0]["blocks"])
        write(delivery, recorder, "CI", f"<@{BOT_USER}> CRM项目团队应该包括哪些人?")
        assert cited(wait_posts(recorder, "CI", 1)[0])


# 4. Failures reach the asker


class DownBot(Bot):
    """A bot whose store cannot be reached (a Chroma server that is not there)."""

    def __init__(self, base: Bot, data_dir: Path) -> None:
        port = free_port()
        super().__init__(
            base.settings.model_copy(update={"data_dir": data_dir, "chroma_url": f"http://127.0.0.1:{port}"}),
            embeddings=HashEmbeddings(),
        )
        self.released = threading.Event()  # what a stuck answer waits for


class BrokenBot(DownBot):
    def _answer(self, question: str, context: list[str], mode: Mode | None) -> Answer:
        raise RuntimeError("the disk at /srv/crmkb/index is on fire")


class StuckBot(DownBot):
    def _answer(self, question: str, context: list[str], mode: Mode | None) -> Answer:
        self.released.wait(30)
        raise AssertionError("a late answer")


@pytest.mark.parametrize(
    ("bot_type", "why", "logged"),
    [
        (DownBot, "知识库暂时不可用", "cannot open the Chroma store"),
        (BrokenBot, "内部错误,已记录", "the disk at /srv/crmkb/index is on fire"),
        (StuckBot, "1 秒内没有得到答案", "no answer within 1 s"),
    ],
    ids=["store down", "exception", "timeout"],
)
@pytest.mark.parametrize("kind", ["http", "socket"])
def test_a_failure_reaches_the_asker_as_one_line_and_the_log_has_its_cause(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, kind: str, bot_type: type[DownBot], why: str, logged: str,
) -> None:  # fmt: skip
    bot = bot_type(real_bot, tmp_path)
    settings = fake_slack_settings(real_bot.settings, slack[0], answer_timeout_s=1).model_copy(
        update={"data_dir": tmp_path}
    )
    channel = f"CX{kind}{bot_type.__name__}"
    try:
        with delivering(kind, settings, bot, recorder) as delivery:
            root = write(delivery, recorder, channel, f"<@{BOT_USER}> 项目预算中软件成本占多少?")
            wait_posts(recorder, channel, 1)
            write(delivery, recorder, channel, "那实施顾问呢?", thread=root)  # the thread is followed still
            delivery.command(
                command_fields(slack[0], "项目预算中软件成本占多少?", f"x{kind}", channel=channel)
            )
            replies = [p["text"] for p in wait_posts(recorder, channel, 2)]
            replies.append(recorder.wait_for(f"response/x{kind}")[0]["text"])
    finally:
        bot.released.set()
    for reply in replies:
        assert reply.startswith("暂时无法回答:") and why in reply and "\n" not in reply
        assert "Traceback" not in reply and "/srv/crmkb" not in reply and "127.0.0.1" not in reply
    assert logged in caplog.text


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("项目上线后怎么办" * 300, "问题太长了,请缩短到 2000 个字符以内再问"),
        ("專案上線後怎麼辦" * 300, "問題太長了,請縮短到 2000 個字元以內再問"),
        ("what now? " * 250, "the question is too long; keep it under 2000 characters"),
    ],
    ids=["zh-Hans", "zh-Hant", "en"],
)
def test_a_question_too_long_is_told_so_in_the_askers_language(
    delivery: Delivery, recorder: Recorder, question: str, said: str
) -> None:
    channel = f"CL{delivery.name}{len(recorder.calls)}"
    write(delivery, recorder, channel, f"<@{BOT_USER}> {question}")
    assert [p["text"] for p in wait_posts(recorder, channel, 1)] == [said]


def test_an_event_slack_would_never_send_is_dropped_and_slack_still_served(
    delivery: Delivery, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    channel = f"CT{delivery.name}"
    for broken in ({"channel": channel}, {"ts": ts()}, {"channel": channel, "ts": 17}):
        delivery.event(
            event_payload({"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> 预算?"} | broken)
        )
    write(delivery, recorder, channel, f"<@{BOT_USER}> 项目预算中软件成本占多少?")
    assert len(wait_posts(recorder, channel, 1)) == 1
    assert "without a channel or timestamp was ignored" in caplog.text and "Traceback" not in caplog.text


@pytest.mark.parametrize("kind", ["http", "socket"])
def test_an_answer_slack_refuses_is_replaced_by_a_line_saying_so(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder, kind: str
) -> None:
    channel = f"CB{kind}"
    recorder.refuse(channel, "invalid_blocks", blocks_only=True)
    with delivering(kind, fake_slack_settings(real_bot.settings, slack[0]), real_bot, recorder) as delivery:
        write(delivery, recorder, channel, f"<@{BOT_USER}> What is the biggest business risk?")
        refused, said = wait_posts(recorder, channel, 2)
    assert refused.get("blocks") and not said.get("blocks")
    assert said["text"] == "Cannot answer right now: Slack refused the answer (invalid_blocks)"


# 5. `crmkb slack-socket` itself


def test_crmkb_slack_socket_answers_over_socket_mode_and_stops_on_ctrl_c(
    real_bot: Bot, slack: tuple[str, Recorder], recorder: Recorder, tmp_path: Path
) -> None:
    env = {**os.environ, "CRMKB_DATA_DIR": str(real_bot.settings.data_dir), "CRMKB_KB_DIR": str(real_bot.settings.kb_dir),
           "CRMKB_SLACK_BOT_TOKEN": "xoxb-test", "CRMKB_SLACK_APP_TOKEN": "xapp-test",
           "CRMKB_SLACK_API_URL": f"{slack[0]}/api/"}  # fmt: skip
    env.pop("CRMKB_SLACK_SIGNING_SECRET", None)  # Socket Mode does not use it
    opened = len(recorder.sockets)
    with (tmp_path / "socket.log").open("w") as log:
        # A terminal's Ctrl-C: the child must not inherit an ignored SIGINT (as under `nohup … &`)
        process = subprocess.Popen(
            [CRMKB, "slack-socket"], env=env, stdout=log, stderr=log,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
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
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError((tmp_path / "socket.log").read_text()) from None
    output = (tmp_path / "socket.log").read_text()
    assert code == 0 and "Socket Mode stopped" in output and "Traceback" not in output
