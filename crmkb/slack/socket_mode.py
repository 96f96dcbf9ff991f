"""Socket Mode: the same Bolt app as ``/slack/events``, reached over an outbound WebSocket.

For installs behind a firewall. Listeners, de-duplication, thread memory and failure lines are the Bolt
app's (``build_app``), so both transports behave alike; only the HTTP checks (body cap, signature,
URL verification) have no counterpart here, the connection itself being authenticated by the app token.
"""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from crmkb.bot.service import Bot
from crmkb.core.settings import Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.slack.bolt_app import build_app


def connect(settings: Settings, bot: Bot, store: FeedbackStore) -> SocketModeHandler:
    """A handler connected to Slack (``apps.connections.open`` on the Web API, then the WebSocket);
    ``close()`` it when done."""
    assert settings.slack.app_token is not None
    handler = SocketModeHandler(build_app(settings, bot, store), settings.slack.app_token.get_secret_value())
    handler.connect()
    return handler
