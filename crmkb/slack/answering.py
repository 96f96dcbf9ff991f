"""Answering a Slack question so that the asker always hears back: the answer, or one line saying why not.

Whatever goes wrong between the question and the reply becomes a line for the asker and a log entry with
the cause for the operator, never a stack trace in Slack and never silence: a question the bot cannot take,
a store or index that is down, no answer within ``answer_timeout_s``, an exception while answering, or a
reply Slack refuses to post.

A conversation (a thread the bot answered, or a DM) lends its earlier questions to follow-ups. They live in
the feedback store under the data dir, so a restart, another worker or the other transport (HTTP, Socket
Mode) knows them too; and a thread holding none is not one the bot answered. While that store cannot be
read, the thread is read back from Slack instead (``conversations.replies``): slower and rate-limited, so
only then.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import Future
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from crmkb.bot.schemas import Answer
from crmkb.bot.service import Bot, QuestionError, QuestionTooLong, clean_question
from crmkb.core.errors import Unavailable, described
from crmkb.feedback_store import FeedbackStore, FeedbackUnavailable
from crmkb.slack.blocks import escape
from crmkb.slack.messages import USAGE, language_of, line, trouble

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")  # group 1: the user mentioned
THREAD_READ = 200  # replies read back from Slack: the bot answers a thread's first question, near its top


def conversation_of(channel: str, thread: str | None) -> str:
    """The key of a conversation: a thread in a channel, or a DM's main timeline (no thread)."""
    return f"{channel}:{thread or ''}"


class Late(Exception):
    """No answer within the deadline; answering goes on in the background and its result is dropped."""


class Answering:
    def __init__(self, bot: Bot, store: FeedbackStore, timeout_s: float) -> None:
        self.bot, self.store, self.timeout_s = bot, store, timeout_s

    def _ask(self, question: str, history: list[str]) -> Answer:
        """The bot's answer within ``timeout_s``, else Late. The thread is a daemon: an answer
        stuck on a hung store must not keep the process from exiting."""
        future: Future[Answer] = Future()

        def run() -> None:
            try:
                future.set_result(self.bot.ask(question, history=history))
            except BaseException as exc:  # handed to the asker's thread, which reports it
                future.set_exception(exc)

        threading.Thread(target=run, name="crmkb-slack-answer", daemon=True).start()
        try:
            return future.result(timeout=self.timeout_s)
        except TimeoutError:
            if future.done():
                raise  # the answerer's own timeout, not ours: an error like any other
            future.add_done_callback(lambda _: log.warning("a late Slack answer to %r was dropped", question))
            raise Late from None

    def answer(self, question: str, history: list[str], conversation: str | None = None) -> Answer | str:
        """The answer (recorded, so its buttons can rate it), or a line saying why there is none. A question
        the bot took is remembered in ``conversation``, even when it went unanswered, so that its thread
        stays one the bot follows and the next reply there is read with it."""
        result: Answer | str
        try:
            answered = self._ask(question, history)
        except QuestionTooLong as exc:  # what to change; nothing to remember
            return line("too_long", language_of(question), limit=exc.limit)
        except QuestionError:  # nothing left once invisible characters are stripped
            return USAGE
        except Late:
            log.warning("no answer within %g s to a Slack question %r", self.timeout_s, question)
            result = trouble(question, "late", seconds=self.timeout_s)
        except Unavailable as exc:
            log.warning("a Slack question could not be answered: %s", described(exc))
            result = trouble(question, "unavailable")
        except Exception:
            log.exception("answering %r from Slack failed", question)
            result = trouble(question, "internal")
        else:
            self.store.try_record(answered, channel="slack")
            result = answered
        if conversation:
            self.remember(conversation, question)
        return result

    def remember(self, conversation: str, question: str) -> None:
        try:
            self.store.remember(conversation, question)
        except FeedbackUnavailable as exc:  # a follow-up then lacks it, nothing worse
            log.warning("a Slack question was not remembered for follow-ups: %s", exc)

    def history(
        self, client: WebClient, me: dict[str, Any], event: dict[str, Any], thread: str | None
    ) -> list[str] | None:
        """The earlier questions of the conversation ``event`` (a message) is in, or None when the bot has
        not answered in it. ``me`` is Bolt's context, which names the bot's user and bot ids."""
        channel, current = event["channel"], event["ts"]
        try:
            return self.store.history(conversation_of(channel, thread)) or None
        except FeedbackUnavailable as exc:
            log.warning("feedback store unavailable, reading the conversation from Slack: %s", exc)
        if thread is None:
            return None  # a DM's main timeline: answered anyway, without history
        try:
            messages = client.conversations_replies(channel=channel, ts=thread, limit=THREAD_READ)["messages"]
        except Exception as exc:  # cannot tell whose thread it is: staying out of it is the smaller harm
            log.warning("could not read thread %s in %s from Slack: %s", thread, channel, exc)
            return None
        mine = {"user": me.get("bot_user_id"), "bot_id": me.get("bot_id")}
        if not any(m.get(key) == value for m in messages for key, value in mine.items() if value):
            return None
        asked = [
            MENTION.sub("", m.get("text", "")).strip()
            for m in messages
            if not m.get("bot_id") and float(m.get("ts", 0)) < float(current)
        ]
        return [q for q in asked if q and _askable(q)]


def _askable(text: str) -> bool:
    try:
        clean_question(text)
    except QuestionError:
        return False  # a long message in the thread would make the follow-up fail
    return True


def post(
    client: WebClient,
    channel: str,
    thread: str | None,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    question: str = "",
) -> bool:
    """Post ``text`` (with ``blocks``) in the channel or thread. When Slack refuses an answer, the asker
    gets one line saying so instead; when even that fails, the log has why."""
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread, text=text, blocks=blocks)
        return True
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) or "unknown error"
    except Exception as exc:  # the network, or Slack unreachable: nothing else can reach the asker
        log.error("could not post to Slack channel %s: %s", channel, exc)
        return False
    log.warning("Slack refused a message in %s (thread %s): %s", channel, thread, error)
    if blocks is None:
        return False
    return post(client, channel, thread, trouble(question, "refused", error=escape(error)))
