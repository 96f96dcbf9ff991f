"""Answering commands: ``ask``, ``chat`` and ``serve``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from bot.schemas import Answer
from bot.service import Bot
from crmkb.cli.common import app, err, load_settings, out, user_errors


def print_answer(answer: Answer) -> None:
    style = "bold" if answer.answerable else "bold yellow"
    out.print(f"[{style}]{escape(answer.answer)}[/]")
    for c in answer.citations:
        badge = "best practice" if c.kind == "best-practice" else "failure case"
        where = f"{c.title} › {c.section}" if c.section else c.title
        out.print(f"  [cyan][{c.n}][/] {escape(where)}  [dim]({badge}; {c.source} {c.start}-{c.end})[/]")
        out.print(f"      “{escape(c.quote)}”", highlight=False)
    out.print(f"[dim]{answer.latency_ms:.0f} ms[/]")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Chinese (either script) or English.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the /api/ask JSON instead.")] = False,
) -> None:
    """Answer one question with cited guidance (ingests kb/ first on a fresh data dir)."""
    settings = load_settings()
    with user_errors():
        answer = Bot(settings).ask(question)
    if as_json:
        print(answer.model_dump_json())
    else:
        print_answer(answer)


@app.command()
def chat() -> None:
    """Ask questions one after another; a follow-up uses the previous question as context."""
    settings = load_settings()
    bot = Bot(settings)
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
            answer = bot.ask(question, history=history[-1:])
        print_answer(answer)
        history.append(question)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Run the HTTP service (POST /api/ask, GET /healthz, OpenAPI at /docs)."""
    import uvicorn

    from crmkb.web.app import create_app

    settings = load_settings()
    server = settings.server
    with user_errors():
        Bot(settings)  # fail fast on a bad embedding setting, before binding the port
    uvicorn.run(create_app(settings), host=host or server.host, port=port or server.port, log_level="info")
