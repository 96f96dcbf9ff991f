"""The Bolt app: slash command, mentions (answered in a thread), replies in the bot's threads, DMs, feedback
and share buttons. One app serves both transports: ``/slack/events`` (HTTP) and ``crmkb slack-socket``.

Over HTTP, ``crmkb.web.routes.slack`` bounds and verifies a request before it gets here; Bolt verifies the
signature again and ignores the app's own events. An event delivered twice (Slack's retries, a replay, a
re-sent Socket Mode envelope) is answered once, whichever worker or transport takes it. Listeners run
after the acknowledgement (Bolt's default), so Slack gets its ack within 3 seconds however long answering
takes. The feedback store is optional: while it is down, questions are answered without a record (a
thread's history is read from Slack), and a rating click says it could not be stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from crmkb.bot.service import Bot
from crmkb.core.settings import Settings
from crmkb.feedback_store import FeedbackStore, FeedbackUnavailable, Rating, UnknownAnswer
from crmkb.slack.answering import MENTION, Answering, conversation_of, post
from crmkb.slack.blocks import FEEDBACK_DOWN, FEEDBACK_UP, SHARE, answer_message, escape
from crmkb.slack.messages import GONE, UNSTORED, USAGE, line
from crmkb.slack.replay import REPLAY_DB, ReplayGuard

log = logging.getLogger(__name__)
# A reply sent to the channel too is still a reply in the thread; edits, joins, files and the rest are not
# questions.
REPLIES = (None, "thread_broadcast")
NOT_A_MEMBER = ("not_in_channel", "channel_not_found")


def build_app(settings: Settings, bot: Bot, store: FeedbackStore) -> App:
    slack = settings.slack
    assert slack.bot_token is not None
    token = slack.bot_token.get_secret_value()
    app = App(
        token=token,
        # Socket Mode needs no secret (its connection is authenticated by the app token); without one, an
        # HTTP request can never pass verification, which is the safe failure.
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else "",
        client=WebClient(token=token, base_url=slack.api_url),
        token_verification_enabled=False,  # no network at start-up; the token is checked on first use
    )
    answering = Answering(bot, store, slack.answer_timeout_s)
    guard = ReplayGuard(settings.host_state_dir / REPLAY_DB)

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
        result = answering.answer(question, [])
        if isinstance(result, str):
            respond(text=result, response_type="ephemeral")
            return
        text, blocks = answer_message(result, share=True)
        respond(text=text, blocks=blocks, response_type="ephemeral")

    def reply(event: dict[str, Any], client: WebClient, thread: str | None, history: list[str]) -> None:
        channel = event["channel"]
        question = MENTION.sub("", event.get("text", "")).strip()
        if not question:
            post(client, channel, thread, USAGE)
            return
        result = answering.answer(question, history, conversation_of(channel, thread))
        if isinstance(result, str):
            post(client, channel, thread, result)
            return
        text, blocks = answer_message(result)
        post(client, channel, thread, text, blocks, question=question)

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("bot_id") or event.get("subtype") or not _addressable(event):
            return
        thread = event.get("thread_ts") or event["ts"]  # a mention is answered in its thread
        earlier = event.get("thread_ts") and answering.history(client, context, event, thread)
        reply(event, client, thread, earlier or [])

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("bot_id") or event.get("subtype") not in REPLIES or not _addressable(event):
            return  # the app's own messages, other bots', edits, joins: not questions
        thread = event.get("thread_ts")
        if event.get("channel_type") == "im":
            reply(event, client, thread, answering.history(client, context, event, thread) or [])
            return
        if not thread or thread == event["ts"]:
            return  # a channel message, not a reply in a thread
        mentioned = {m.group(1) for m in MENTION.finditer(event.get("text", ""))}
        if str(context.bot_user_id) in mentioned:
            return  # it mentions the app: on_mention answers it
        if mentioned:
            return  # addressed to a colleague ("<@U2> 你看呢?"), not to the app
        history = answering.history(client, context, event, thread)
        if history is not None:  # only threads the bot answered in
            reply(event, client, thread, history)

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
        respond(text=line("thanks", language), response_type="ephemeral", replace_original=False)

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
        channel, user = body["channel"]["id"], body.get("user", {}).get("id", "")
        text, blocks = answer_message(shared)
        asked = f"<@{user}> " if re.fullmatch(r"[A-Z0-9]+", user) else ""
        head = {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{asked}{escape(shared.question)}"}],
        }
        try:
            posted = client.chat_postMessage(channel=channel, text=text, blocks=[head, *blocks])
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) or "unknown error"
            log.warning("an answer could not be shared in %s: %s", channel, error)
            why = ("direct" if channel.startswith("D") else "invite") if error in NOT_A_MEMBER else "unshared"
            # The private answer stays, so its Share button can be pressed again once the bot is invited.
            respond(text=line(why, shared.language, error=escape(error)), response_type="ephemeral",
                    replace_original=False)  # fmt: skip
            return
        # Its thread is one the bot answered: a reply there is a follow-up to the shared question.
        answering.remember(conversation_of(channel, str(posted["ts"])), shared.question)
        respond(delete_original=True)

    return app


def _addressable(event: dict[str, Any]) -> bool:
    """Whether a reply can be placed: Slack always sends the channel and timestamp, but a signed event
    without them (a forged or truncated one) must be dropped, not crash the listener."""
    if isinstance(event.get("channel"), str) and isinstance(event.get("ts"), str):
        return True
    log.warning("a Slack event without a channel or timestamp was ignored")
    return False
