"""``crmkb catalog``: maintain kb/catalog.toml (``translate`` drafts the English titles it lacks)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from crmkb.bot.llm import make_chat_model
from crmkb.catalog_translate import NO_ENDPOINT, DraftError, draft, missing_titles
from crmkb.cli.common import app, err, fail, out, user_errors
from crmkb.cli.services import services_of
from crmkb.ingest.catalog import CATALOG_FILE
from crmkb.ingest.catalog_edit import EnglishTitles, add_english_titles, write_catalog

catalog = typer.Typer(no_args_is_help=True, help="Maintain kb/catalog.toml.")
app.add_typer(catalog, name="catalog")

# Titles for a whole article in one reply: more room than an answer needs (CRMKB_LLM_MAX_TOKENS).
DRAFT_TOKENS = 2000


@catalog.command("translate")
def translate_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the drafted titles; leave kb/catalog.toml as it is.")
    ] = False,
) -> None:
    """Draft the English titles kb/catalog.toml lacks (documents and sections) with the LLM endpoint."""
    settings = services_of(ctx).settings()
    if not settings.llm.base_url:
        fail(NO_ENDPOINT)
    with user_errors():
        missing, notes = missing_titles(settings)
    for note in notes:
        err.print(f"[bold yellow]note:[/] {escape(note)}", highlight=False)
    if not missing:
        out.print("Every catalogued document has English titles for itself and all its sections.")
        return
    model = make_chat_model(settings.llm.model_copy(update={"max_tokens": DRAFT_TOKENS}))
    drafts: dict[str, EnglishTitles] = {}
    failed = 0
    for item in missing:
        try:
            drafts[item.source] = draft(model, item)
        except DraftError as exc:
            err.print(f"[bold yellow]warning:[/] {escape(str(exc))}", highlight=False)
            failed += 1
        except Exception as exc:  # the endpoint unreachable, refusing or timing out: nothing else will work
            fail(escape(f"the LLM endpoint {settings.llm.base_url} failed: {type(exc).__name__}: {exc}"))
    for source, english in drafts.items():
        out.print(f"[bold]{escape(source)}[/]", highlight=False)
        if english.title_en:
            out.print(
                f"  title_en = {json.dumps(english.title_en, ensure_ascii=False)}",
                highlight=False,
                markup=False,
            )
        for name, title in english.sections_en.items():
            line = f"  {json.dumps(name, ensure_ascii=False)} = {json.dumps(title, ensure_ascii=False)}"
            out.print(line, highlight=False, markup=False)
    added = sum(bool(e.title_en) + len(e.sections_en) for e in drafts.values())
    if not dry_run and added:
        with user_errors():
            text = add_english_titles(settings.kb_dir, drafts)
        try:
            write_catalog(settings.kb_dir, text)
        except OSError as exc:
            fail(escape(f"{settings.kb_dir / CATALOG_FILE}: {exc.strerror or exc}"))
        err.print(f"{added} English titles added to {escape(str(settings.kb_dir / CATALOG_FILE))}; "
                  "review them, then run `crmkb ingest`")  # fmt: skip
    elif dry_run:
        err.print(f"{added} English titles drafted (dry run: nothing written)")
    if failed:
        raise typer.Exit(1)
