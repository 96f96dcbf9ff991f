"""``crmkb slack-socket``: the Slack app over Socket Mode, for installs behind a firewall."""

from __future__ import annotations

import threading

from crmkb.cli.common import answering_bot, app, fail, load_settings, out, user_errors


@app.command("slack-socket")
def slack_socket() -> None:
    """Serve Slack over Socket Mode (outbound WebSocket; no public request URL needed)."""
    settings = load_settings()
    slack = settings.slack
    if slack.bot_token is None or slack.app_token is None:
        fail(
            "Socket Mode needs CRMKB_SLACK_BOT_TOKEN and CRMKB_SLACK_APP_TOKEN (an app-level xapp- token "
            "with connections:write); it does not use the signing secret"
        )
    from slack_sdk.errors import SlackApiError

    from crmkb.bot.watcher import IndexWatcher
    from crmkb.feedback_store import FeedbackStore
    from crmkb.slack.socket_mode import connect
    from crmkb.web.app import FEEDBACK_DB

    with user_errors():
        bot = answering_bot(settings)
        bot.load()
        watcher = IndexWatcher(bot, settings.server.reload_interval_s)  # follows re-ingests, like serve
        watcher.start()
        handler = None
        try:
            handler = connect(settings, bot, FeedbackStore(settings.data_dir / FEEDBACK_DB))
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
