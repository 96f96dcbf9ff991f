"""``crmkb slack-socket``: the Slack app over Socket Mode, for installs behind a firewall."""

from __future__ import annotations

import threading

import typer

from crmkb.cli.common import app, fail, out, user_errors
from crmkb.cli.services import services_of


@app.command("slack-socket")
def slack_socket(ctx: typer.Context) -> None:
    """Serve Slack over Socket Mode (outbound WebSocket; no public request URL needed)."""
    services = services_of(ctx)
    settings = services.settings()
    slack = settings.slack
    if slack.bot_token is None or slack.app_token is None:
        fail(
            "Socket Mode needs CRMKB_SLACK_BOT_TOKEN and CRMKB_SLACK_APP_TOKEN (an app-level xapp- token "
            "with connections:write); it does not use the signing secret"
        )
    from slack_sdk.errors import SlackApiError

    from crmkb.bot.watcher import IndexWatcher
    from crmkb.slack.socket_mode import connect

    with user_errors():
        bot = services.answering_bot()
        bot.load()
        watcher = IndexWatcher(bot, settings.server.reload_interval_s)  # follows re-ingests, like serve
        watcher.start()
        handler = None
        try:
            handler = connect(settings, bot, services.feedback())
            out.print("crmkb: Slack Socket Mode connected; Ctrl-C stops")
            threading.Event().wait()
        except KeyboardInterrupt:
            out.print("crmkb: Slack Socket Mode stopped")
        except (SlackApiError, OSError) as exc:  # a wrong app token, or Slack unreachable
            fail(f"Socket Mode could not connect to Slack: {str(exc).splitlines()[0]}")
        finally:
            if handler is not None:
                handler.close()
            watcher.stop()
