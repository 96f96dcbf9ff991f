"""The Bolt app: slash command, mentions (answered in a thread), DMs, feedback and share buttons. One app
serves both transports: ``/slack/events`` (HTTP) and ``crmkb slack-socket``.

Over HTTP, ``crmkb.web.routes.slack`` bounds and verifies a request before it gets here; Bolt verifies the
signature again and ignores the app's own events. An event delivered twice (Slack's retries, a replay, a
re-sent Socket Mode envelope) is answered once, whichever worker or transport takes it. Listeners run after the acknowledgement (Bolt's default for HTTP), so Slack gets its
ack within 3 seconds however long answering takes. The feedback store is optional: while it is down,
questions are answered without history or a record, and a rating click says it could not be stored.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.schemas import Answer
from bot.service import Bot, QuestionError
from crmkb.feedback_store import FeedbackStore, FeedbackUnavailable, Rating, UnknownAnswer
from crmkb.settings import Settings
from crmkb.slack.blocks import FEEDBACK_DOWN, FEEDBACK_UP, SHARE, answer_message, escape
from crmkb.slack.replay import REPLAY_DB, ReplayGuard
from ingest.index import IndexMissing
from ingest.store import EmbedderMismatch, StoreUnavailable

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
USAGE = (
    "用法:`/crm 你的问题`,例如 `/crm 项目失败后第一步做什么?`(简体、繁體或 English 均可)。\n"
    "Usage: `/crm your question`, e.g. `/crm What should we settle before the consultant leaves?`"
)
TROUBLE = {
    "zh-Hans": "暂时无法回答:{detail}",
    "zh-Hant": "暫時無法回答:{detail}",
    "en": "Cannot answer right now: {detail}",
}
THANKS = {"zh-Hans": "谢谢你的反馈。", "zh-Hant": "謝謝你的回饋。", "en": "Thanks for the feedback."}
GONE = "This answer is no longer on record."
UNSTORED = "Ratings cannot be stored right now; please try again shortly."


def build_app(settings: Settings, bot: Bot, store: FeedbackStore) -> App:
    slack = settings.slack
    assert slack.bot_token is not None and slack.signing_secret is not None
    token = slack.bot_token.get_secret_value()
    app = App(
        token=token,
        signing_secret=slack.signing_secret.get_secret_value(),
        client=WebClient(token=token, base_url=slack.api_url),
        token_verification_enabled=False,  # no network at start-up; the token is checked on first use
    )
    guard = ReplayGuard(settings.data_dir / REPLAY_DB)

    def earlier(conversation: str | None) -> list[str]:
        if not conversation:
            return []
        try:
            return store.history(conversation)
        except FeedbackUnavailable as exc:
            log.warning("answering without the conversation's earlier questions: %s", exc)
            return []

    def safely(question: str, conversation: str | None) -> Answer | str:
        """The answer (recorded, so its buttons can rate it), or a message saying why there is none: never
        an exception to Slack. A conversation (thread or DM) lends its earlier questions to follow-ups."""
        try:
            result = bot.ask(question, history=earlier(conversation))
            if store.try_record(result, channel="slack") and conversation:
                with contextlib.suppress(FeedbackUnavailable):  # a follow-up then lacks it, nothing worse
                    store.remember(conversation, question)
            return result
        except QuestionError as exc:
            return escape(str(exc))
        except (StoreUnavailable, IndexMissing, EmbedderMismatch) as exc:
            return TROUBLE["en"].format(detail=escape(str(exc)))
        except Exception:
            log.exception("answering %r from Slack failed", question)
            return TROUBLE["en"].format(detail="internal error")

    @app.middleware
    def once(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        # A retry (Slack thinks the first delivery was missed) or a second delivery of one event: the
        # first is already being answered. Socket Mode marks a first delivery as retry 0.
        retry = (req.headers.get("x-slack-retry-num") or [""])[0]
        event_id = req.body.get("event_id")
        if retry not in ("", "0") or (
            req.body.get("type") == "event_callback"
            and isinstance(event_id, str)
            and event_id
            and not guard.first_time(f"event:{event_id}")
        ):
            return BoltResponse(status=200, body="")
        return next()

    @app.command(re.compile(r"^/.+"))
    def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        question = command.get("text", "").strip()
        if not question:
            ack(text=USAGE, response_type="ephemeral")
            return
        ack()
        result = safely(question, None)
        if isinstance(result, str):
            respond(text=result, response_type="ephemeral")
            return
        text, blocks = answer_message(result, share=True)
        respond(text=text, blocks=blocks, response_type="ephemeral")

    def reply(event: dict[str, Any], client: WebClient, *, threaded: bool) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return  # other bots, edits, joins: not questions
        question = MENTION.sub("", event.get("text", "")).strip()
        thread = event.get("thread_ts") or (event["ts"] if threaded else None)
        conversation = f"{event['channel']}:{thread or ''}"
        if not question:
            client.chat_postMessage(channel=event["channel"], thread_ts=thread, text=USAGE)
            return
        result = safely(question, conversation)
        if isinstance(result, str):
            client.chat_postMessage(channel=event["channel"], thread_ts=thread, text=result)
            return
        text, blocks = answer_message(result)
        client.chat_postMessage(channel=event["channel"], thread_ts=thread, text=text, blocks=blocks)

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client: WebClient) -> None:
        reply(event, client, threaded=True)

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient) -> None:
        if event.get("channel_type") == "im":
            reply(event, client, threaded=False)

    @app.action(re.compile(f"^({FEEDBACK_UP}|{FEEDBACK_DOWN})$"))
    def on_feedback(ack: Any, action: dict[str, Any], body: dict[str, Any], respond: Any) -> None:
        ack()
        rating: Rating = "up" if action["action_id"] == FEEDBACK_UP else "down"
        rater = f"slack:{body.get('user', {}).get('id', '')}"
        try:
            store.rate(action["value"], rating, channel="slack", rater=rater)
            rated = store.answer(action["value"])
        except (UnknownAnswer, FeedbackUnavailable) as exc:
            if isinstance(exc, FeedbackUnavailable):
                log.warning("a Slack rating was not stored: %s", exc)
            text = GONE if isinstance(exc, UnknownAnswer) else UNSTORED
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        language = rated.language if rated else "en"
        respond(text=THANKS.get(language, THANKS["en"]), response_type="ephemeral", replace_original=False)

    @app.action(SHARE)
    def on_share(
        ack: Any, action: dict[str, Any], body: dict[str, Any], client: WebClient, respond: Any
    ) -> None:
        ack()
        try:
            shared = store.answer(action["value"])
        except FeedbackUnavailable as exc:
            log.warning("an answer could not be shared: %s", exc)
            shared = None
        if shared is None:
            respond(text=GONE, response_type="ephemeral", replace_original=False)
            return
        user = body.get("user", {}).get("id", "")
        text, blocks = answer_message(shared)
        asked = f"<@{user}> " if re.fullmatch(r"[A-Z0-9]+", user) else ""
        head = {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{asked}{escape(shared.question)}"}],
        }
        client.chat_postMessage(channel=body["channel"]["id"], text=text, blocks=[head, *blocks])
        respond(delete_original=True)

    return app
