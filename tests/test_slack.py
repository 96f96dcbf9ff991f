"""The Slack app over real HTTP: requests signed with Slack's signing algorithm go to a real uvicorn on
loopback; a fake Slack Web API and response_url receiver (also on loopback) record what the app posts."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml

from crmkb.bot.schemas import Answer, Citation
from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings, Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.slack.blocks import BLOCK_LIMIT, SECTION_LIMIT, answer_message
from crmkb.web.app import FEEDBACK_DB, create_app
from crmkb.web.loopback import serving
from crmkb.web.routes.slack import SLACK_MAX_BODY
from tests.support.curated import curated_for
from tests.support.fake_slack import (
    BOT_ID,
    BOT_USER,
    Recorder,
    action_payload,
    command_fields,
    event_payload,
)
from tests.support.slack_delivery import SECRET, fake_slack_settings, signed, signed_post

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slack_settings(real_bot: Bot, slack: tuple[str, Recorder]) -> Settings:
    return fake_slack_settings(real_bot.settings, slack[0])


@pytest.fixture(scope="module")
def app_url(real_bot: Bot, slack_settings: Settings) -> Iterator[str]:
    with serving(create_app(slack_settings, bot=real_bot)) as url:
        yield url


def command(url: str, fake: str, text: str, key: str = "c1", **kw: Any) -> httpx.Response:
    return signed_post(
        url, urlencode(command_fields(fake, text, key)), "application/x-www-form-urlencoded", **kw
    )


def event(url: str, inner: dict[str, Any], event_id: str = "", **kw: Any) -> httpx.Response:
    return signed_post(url, json.dumps(event_payload(inner, event_id)), "application/json", **kw)


def click(url: str, fake: str, action_id: str, value: str, key: str) -> httpx.Response:
    body = urlencode({"payload": json.dumps(action_payload(fake, action_id, value, key))})
    return signed_post(url, body, "application/x-www-form-urlencoded")


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_slash_command_answers_privately_with_citations_and_buttons(
    app_url: str, slack: tuple[str, Recorder], recorder: Recorder
) -> None:
    ack = command(app_url, slack[0], "CRM项目团队应该包括哪些人?")
    assert ack.status_code == 200
    reply = recorder.wait_for("response/c1")[0]
    assert reply["response_type"] == "ephemeral"
    blocks = reply["blocks"]
    assert blocks[0]["type"] == "section" and "[1]" in blocks[0]["text"]["text"]
    contexts = [b for b in blocks if b["type"] == "context"]
    assert contexts and "企业实施CRM系统项目要做哪些准备" in texts(contexts) and "最佳实践" in texts(contexts)
    assert set(buttons(blocks)) == {"crmkb_feedback_up", "crmkb_feedback_down", "crmkb_share"}


def test_share_posts_the_answer_in_the_channel_escaped(
    app_url: str, slack: tuple[str, Recorder], recorder: Recorder
) -> None:
    command(app_url, slack[0], "<!channel> CRM项目团队应该包括哪些人?", key="c2")
    answer_id = buttons(recorder.wait_for("response/c2")[0]["blocks"])["crmkb_share"]
    assert click(app_url, slack[0], "crmkb_share", answer_id, key="s2").status_code == 200
    posted = recorder.wait_for("chat.postMessage")[0]
    assert posted["channel"] == "C1"
    assert "&lt;!channel&gt;" in texts(posted["blocks"]) and "<!channel>" not in texts(posted["blocks"])
    assert "crmkb_share" not in buttons(posted["blocks"])


def test_empty_command_gets_usage(app_url: str, slack: tuple[str, Recorder], recorder: Recorder) -> None:
    ack = command(app_url, slack[0], "  ")
    assert ack.status_code == 200 and "/crm" in ack.json()["text"]
    time.sleep(0.5)
    assert recorder.named("response/c1") == []


def test_mention_is_answered_in_a_thread(app_url: str, recorder: Recorder) -> None:
    mention = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> 项目预算中软件成本占多少?",
               "ts": "1700000000.000100", "channel": "C1", "event_ts": "1700000000.000100"}  # fmt: skip
    assert event(app_url, mention).status_code == 200
    posted = recorder.wait_for("chat.postMessage")[0]
    assert posted["channel"] == "C1" and posted["thread_ts"] == "1700000000.000100"
    assert "三分之一" in texts(posted["blocks"])


def test_thread_follow_up_uses_the_earlier_question(app_url: str, recorder: Recorder) -> None:
    root = "1700000001.000100"
    first = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> CRM项目失败的最主要原因是什么?",
             "ts": root, "channel": "C2", "event_ts": root}  # fmt: skip
    event(app_url, first)
    recorder.wait_for("chat.postMessage")
    follow = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> 为什么?", "ts": "1700000002.000100",
              "thread_ts": root, "channel": "C2", "event_ts": "1700000002.000100"}  # fmt: skip
    event(app_url, follow)
    reply = recorder.wait_for("chat.postMessage", 2)[1]
    assert reply["thread_ts"] == root
    assert "crmkb_feedback_up" in buttons(reply["blocks"]) and "[1]" in texts(reply["blocks"])  # answered


def test_direct_message_is_answered_there(app_url: str, recorder: Recorder) -> None:
    dm = {"type": "message", "channel_type": "im", "user": "U1", "text": "What is the biggest business risk?",
          "ts": "1700000003.000100", "channel": "D1", "event_ts": "1700000003.000100"}  # fmt: skip
    event(app_url, dm)
    posted = recorder.wait_for("chat.postMessage")[0]
    assert posted["channel"] == "D1" and posted.get("thread_ts") is None
    assert "业务范围反复定义" in texts(posted["blocks"])


def test_button_records_feedback(
    app_url: str, slack: tuple[str, Recorder], recorder: Recorder, real_bot: Bot
) -> None:
    command(app_url, slack[0], "实施顾问离开前要整理哪些问题?", key="c3")
    answer_id = buttons(recorder.wait_for("response/c3")[0]["blocks"])["crmkb_feedback_down"]
    assert click(app_url, slack[0], "crmkb_feedback_down", answer_id, key="f3").status_code == 200
    thanks = recorder.wait_for("response/f3")[0]
    assert thanks["response_type"] == "ephemeral" and "谢谢" in thanks["text"]
    rows = [
        r
        for r in FeedbackStore(real_bot.settings.data_dir / FEEDBACK_DB).feedback()
        if r.answer_id == answer_id
    ]
    assert [(r.rating, r.channel, r.question) for r in rows] == [
        ("down", "slack", "实施顾问离开前要整理哪些问题?")
    ]


def test_a_curated_answer_is_badged_in_the_askers_script(
    app_url: str, slack: tuple[str, Recorder], recorder: Recorder, real_bot: Bot, tmp_path: Path
) -> None:
    with curated_for(real_bot, tmp_path):
        command(app_url, slack[0], "CRM項目團隊應該由哪些人組成?", key="c5")
        blocks = recorder.wait_for("response/c5")[0]["blocks"]
    assert blocks[0]["type"] == "context" and "培訓師審核過的答案" in texts(blocks[:1])
    assert "團隊" in blocks[1]["text"]["text"] and "[1]" in blocks[1]["text"]["text"]
    cited = [b for b in blocks if b["type"] == "context"][1:]
    assert [c["elements"][0]["text"].split("*")[1] for c in cited] == ["[1]", "[2]"]  # only the two cited
    command(app_url, slack[0], "CRM项目团队应该包括哪些人?", key="c6")  # published no more: no badge
    assert "培训师审核" not in texts(recorder.wait_for("response/c6")[0]["blocks"])


def test_refusal_names_nearby_topics(app_url: str, slack: tuple[str, Recorder], recorder: Recorder) -> None:
    command(app_url, slack[0], "Salesforce的许可证多少钱?", key="c4")
    blocks = recorder.wait_for("response/c4")[0]["blocks"]
    assert (
        "知识库中没有" in texts(blocks) and "知识库涵盖的相关主题" in texts(blocks) and "•" in texts(blocks)
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [({"secret": "wrong-secret"}, 401), ({"age": 6 * 60}, 401)],  # bad signature; outside the 5-minute window
)
def test_unsigned_or_stale_requests_are_refused(
    app_url: str, slack: tuple[str, Recorder], recorder: Recorder, change: dict[str, Any], status: int
) -> None:
    assert command(app_url, slack[0], "CRM项目团队应该包括哪些人?", **change).status_code == status
    time.sleep(0.5)
    assert recorder.calls == []


def test_retries_are_acknowledged_not_answered_again(app_url: str, recorder: Recorder) -> None:
    mention = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> 项目预算中软件成本占多少?",
               "ts": "1700000004.000100", "channel": "C1", "event_ts": "1700000004.000100"}  # fmt: skip
    retried = event(app_url, mention, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retried.status_code == 200
    time.sleep(1)
    assert recorder.named("chat.postMessage") == []


def test_own_and_other_bots_messages_are_ignored(app_url: str, recorder: Recorder) -> None:
    own = {"type": "message", "channel_type": "im", "user": BOT_USER, "bot_id": BOT_ID, "text": "项目预算?",
           "ts": "1700000005.000100", "channel": "D1", "event_ts": "1700000005.000100"}  # fmt: skip
    other = {**own, "user": "U9", "bot_id": "BOTHER", "ts": "1700000006.000100"}
    assert event(app_url, own).status_code == 200 and event(app_url, other).status_code == 200
    time.sleep(1)
    assert recorder.named("chat.postMessage") == []


def test_oversized_bodies_are_refused_and_slack_is_still_served(
    app_url: str, slack: tuple[str, Recorder], recorder: Recorder
) -> None:
    big = b"x" * (SLACK_MAX_BODY + 1)
    declared = httpx.post(f"{app_url}/slack/events", content=big, timeout=30)
    assert declared.status_code == 413 and "too large" in declared.json()["detail"]

    def undeclared() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it by
        for _ in range(8):
            yield big[: len(big) // 4]

    chunked = httpx.post(f"{app_url}/slack/events", content=undeclared(), timeout=30)
    assert chunked.status_code == 413
    assert command(app_url, slack[0], "CRM项目团队应该包括哪些人?", key="c5").status_code == 200
    assert recorder.wait_for("response/c5")[0]["blocks"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=abc"},
        {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=abc"},
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
        {},
    ],
)
def test_garbled_or_missing_signature_headers_are_401(app_url: str, headers: dict[str, str]) -> None:
    response = httpx.post(f"{app_url}/slack/events", content=b'{"type": "event_callback"', headers=headers)
    assert response.status_code == 401 and "signature" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"type": "event_callback", "event": ', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (b'{"authorizations": "x"}', "application/json"),
        (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
    ],
)
def test_signed_but_malformed_bodies_are_400(app_url: str, body: bytes, content_type: str) -> None:
    timestamp = str(int(time.time()))
    # Slack's algorithm on the raw bytes: slack_sdk's signer cannot take a body that is not UTF-8.
    mac = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={mac}",
        "Content-Type": content_type,
    }
    response = httpx.post(f"{app_url}/slack/events", content=body, headers=headers)
    assert response.status_code == 400 and response.json() == {"detail": "malformed Slack request body"}


def test_an_event_delivered_twice_is_answered_once(app_url: str, recorder: Recorder) -> None:
    dm = {"type": "message", "channel_type": "im", "user": "U1", "text": "What is the biggest business risk?",
          "ts": "1700000007.000100", "channel": "D7", "event_ts": "1700000007.000100"}  # fmt: skip
    event_id = f"Ev{time.time_ns()}"
    assert event(app_url, dm, event_id=event_id).status_code == 200
    recorder.wait_for("chat.postMessage")
    again = event(app_url, dm, event_id=event_id)  # signed afresh, as a replay or a second delivery is
    assert again.status_code == 200
    time.sleep(1)
    assert len(recorder.named("chat.postMessage")) == 1


def test_a_replayed_slash_command_is_answered_once(
    app_url: str, slack: tuple[str, Recorder], recorder: Recorder
) -> None:
    body = urlencode({"command": "/crm", "text": "CRM项目团队应该包括哪些人?", "user_id": "U1", "channel_id": "C1",
                      "response_url": f"{slack[0]}/response/c6", "team_id": "T1", "trigger_id": "1.2"})  # fmt: skip
    headers = signed(body, "application/x-www-form-urlencoded")
    for _ in range(3):
        assert (
            httpx.post(f"{app_url}/slack/events", content=body, headers=headers, timeout=30).status_code
            == 200
        )
    recorder.wait_for("response/c6")
    time.sleep(1)
    assert len(recorder.named("response/c6")) == 1


def test_every_worker_knows_what_another_answered(
    app_url: str, real_bot: Bot, slack_settings: Settings, recorder: Recorder
) -> None:
    mention = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> 项目预算中软件成本占多少?",
               "ts": "1700000008.000100", "channel": "C8", "event_ts": "1700000008.000100"}  # fmt: skip
    event_id = f"Ev{time.time_ns()}"
    with serving(create_app(slack_settings, bot=real_bot)) as other_worker:
        assert event(app_url, mention, event_id=event_id).status_code == 200
        recorder.wait_for("chat.postMessage")
        assert event(other_worker, mention, event_id=event_id).status_code == 200
        time.sleep(1)
    assert len(recorder.named("chat.postMessage")) == 1


def test_without_slack_settings_the_endpoint_is_a_clear_503(real_bot: Bot) -> None:
    settings = real_bot.settings.model_copy(update={"server": ServerSettings(rate_limit=0)})
    with serving(create_app(settings, bot=real_bot)) as url:
        response = httpx.post(f"{url}/slack/events", content=b"{}")
        assert response.status_code == 503 and "CRMKB_SLACK_BOT_TOKEN" in response.json()["detail"]
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_oversized_answers_fit_slacks_limits() -> None:
    quote = "<!here> 项目经理&顾问" + "很长的引文。" * 200
    citations = [
        Citation(n=n, source="a.txt", title="标题", section="节", kind="failure-case", quote=quote, start=0,
                 end=len(quote), score=0.5)
        for n in range(1, 61)
    ]  # fmt: skip
    answer = Answer(id="x" * 32, question="q", answer=("很长的回答。" * 900 + "\n") * 3, answerable=True,
                    language="zh-Hans", mode="extractive", citations=citations)  # fmt: skip
    text, blocks = answer_message(answer)
    assert len(blocks) <= BLOCK_LIMIT and len(text) <= SECTION_LIMIT
    for block in blocks:
        for part in [block.get("text", {}), *block.get("elements", [])]:
            if isinstance(part.get("text"), str):
                assert len(part["text"]) <= SECTION_LIMIT
    assert "…" in texts(blocks) and "还有" in texts(blocks)
    assert "<!here>" not in texts(blocks) and "&lt;!here&gt;" in texts(blocks) and "&amp;" in texts(blocks)
    assert blocks[-1]["type"] == "actions"


def test_manifest_asks_for_what_the_app_uses() -> None:
    manifest = yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "slack" / "manifest.yaml").read_text()
    )
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "app_mentions:read",
        "chat:write",
        "chat:write.public",  # share into a public channel the bot is not in
        "im:history",
        "channels:history",  # replies in its threads, and reading a thread back
        "groups:history",
    }
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention",
        "message.im",
        "message.channels",
        "message.groups",
    }
    urls = {settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]}
    urls |= {c["url"] for c in manifest["features"]["slash_commands"]}
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")


def test_socket_mode_without_tokens_says_what_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    from crmkb.cli.app import main

    with pytest.raises(SystemExit) as exit_:
        main(["slack-socket"])
    assert exit_.value.code == 1
    assert "CRMKB_SLACK_APP_TOKEN" in " ".join(capsys.readouterr().err.split())
