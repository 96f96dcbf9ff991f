"""Answering commands: ``ask``, ``chat`` and ``serve``."""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated

import typer
from rich.markup import escape

from crmkb.bot.render import as_read, curated_badge, place
from crmkb.bot.schemas import Answer
from crmkb.bot.service import QuestionError
from crmkb.cli.common import app, err, out, user_errors
from crmkb.cli.services import services_of
from crmkb.core.errors import Unavailable, UserError
from crmkb.ingest.catalog import kind_label
from crmkb.ingest.pipeline import ensure_index
from crmkb.web.schemas import AskResponse

CHANNEL = "cli"  # how the feedback store (and the admin console) names answers given here


def print_answer(answer: Answer) -> None:
    style = "bold" if answer.answerable else "bold yellow"
    if answer.curated:
        out.print(f"[green]✓ {escape(curated_badge(answer.language))}[/]")
    out.print(f"[{style}]{escape(answer.answer)}[/]")
    for c in answer.citations:
        badge = kind_label(c.kind, answer.language)
        out.print(
            f"  [cyan][{c.n}][/] {escape(place(c, answer.language))}  [dim]({badge}; {c.source} {c.start}-{c.end})[/]"
        )
        out.print(f"      “{escape(as_read(c.quote, answer.language))}”", highlight=False)
    out.print(f"[dim]{answer.latency_ms:.0f} ms[/]")


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in Chinese (either script) or English.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the /api/ask JSON instead.")] = False,
) -> None:
    """Answer one question with cited guidance (ingests kb/ first on a fresh data dir)."""
    services = services_of(ctx)
    with user_errors():
        answer = services.answering_bot().ask(question)
    services.feedback().try_record(answer, CHANNEL)  # the admin console's Conversations lists it
    if as_json:
        print(AskResponse.from_answer(answer).model_dump_json())
    else:
        print_answer(answer)


@app.command()
def chat(ctx: typer.Context) -> None:
    """Ask questions one after another; a follow-up uses the previous question as context."""
    services = services_of(ctx)
    bot = services.answering_bot()
    store = services.feedback()
    with user_errors():
        bot.load()
    err.print("[dim]Ask about CRM implementation. An empty line or Ctrl-D ends the chat.[/]")
    history: list[str] = []
    while True:
        try:
            question = input("? ")
        except (EOFError, KeyboardInterrupt):
            break
        if not question.strip() or question.strip().lower() in {"exit", "quit"}:
            break
        with user_errors():
            with contextlib.suppress(Exception):  # a long chat follows re-ingests; a failed check is retried
                bot.refresh()
            try:
                answer = bot.ask(question, history=history[-1:])
            except QuestionError as exc:  # this question, not the chat: say what to change and go on
                err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
                continue
        store.try_record(answer, CHANNEL)
        print_answer(answer)
        history.append(question)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default from settings).")] = None,
) -> None:
    """Run the HTTP service and the chat widget (demo page at /, API docs at /docs)."""
    import uvicorn

    from crmkb.web.app import create_app

    services = services_of(ctx)
    settings = services.settings()
    server = settings.server
    with user_errors():
        bot = services.bot()  # fails fast on a bad setting
    try:
        ensure_index(settings, bot.embeddings, bot.index_store)  # once, before any worker starts
        bot.load()
    except (UserError, Unavailable) as exc:  # a catalog typo on a fresh data dir, or the store down
        # Serve anyway: /healthz is live, /readyz and /api/* say what is wrong until it is fixed, and the
        # server picks up the index as soon as an ingest (or the store) makes it available.
        err.print(f"[bold yellow]warning:[/] {exc}", highlight=False)
    # The app's own warnings (index switches, a store that degrades) in the same stream as uvicorn's.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:  %(name)s: %(message)s")
    host, port, workers = host or server.host, port or server.port, workers or server.workers
    out.print(f"crmkb: chat widget demo at http://{host}:{port}/ , API docs at http://{host}:{port}/docs")
    # proxy_headers off: uvicorn would believe X-Forwarded-For from any local peer; the app trusts only
    # CRMKB_SERVER_TRUSTED_PROXIES.
    if workers > 1:  # each worker process builds its own app from the same environment
        uvicorn.run("crmkb.web.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    proxy_headers=False)  # fmt: skip
    else:
        uvicorn.run(create_app(settings, bot), host=host, port=port, log_level="info", proxy_headers=False)
