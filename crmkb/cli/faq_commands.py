"""``crmkb faq``: suggest questions, build FAQ files, re-check reviewed files, publish curated answers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crmkb.bot import curated
from crmkb.cli.common import app, err, fail, out, user_errors
from crmkb.cli.services import services_of
from crmkb.core.files import write_atomically
from crmkb.faq.build import CHANNEL, FaqError, built, read_questions
from crmkb.faq.entries import APPROVED, REJECTED, Entry
from crmkb.faq.formats import EXTENSIONS, FORMATS, READER_FORMATS, format_of, write
from crmkb.faq.review import as_answer, recheck, refusal
from crmkb.faq.reviewed import ReviewError, read_reviewed
from crmkb.faq.suggest import suggestions

faq = typer.Typer(no_args_is_help=True, help="Build FAQ content from the knowledge base, for trainers.")
app.add_typer(faq, name="faq")


@faq.command("suggest")
def suggest_command(
    ctx: typer.Context,
    per_source: Annotated[
        int | None, typer.Option(min=1, help="At most this many questions per article.")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the list here (one per line).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead.")] = False,
    where: Annotated[
        bool,
        typer.Option(
            "--where",
            help="Say where each question is filed: its article and section (a tab, or JSON objects).",
        ),
    ] = False,
) -> None:
    """Suggest questions drawn from the KB (headings, the articles' questions, checklists) that the bot answers."""
    with user_errors():
        found = suggestions(services_of(ctx).answering_bot(), per_source)
    questions = [s.question for s in found]
    listed: list[Any] = (
        [{"question": s.question, "source": s.source, "title": s.title, "section": s.section} for s in found]
        if where
        else questions
    )
    lines = [f"{s.question}\t{s.where}" for s in found] if where else questions
    text = json.dumps(listed, ensure_ascii=False, indent=2) if as_json else "\n".join(lines)
    if out_file is None:
        sys.stdout.write(text + "\n")  # data, as written to a file: rich would expand the tabs
        return
    try:
        write_atomically(out_file, lambda handle: handle.write(text + "\n"))
    except OSError as exc:
        fail(escape(f"{out_file}: {exc.strerror or exc}"))
    err.print(f"{len(questions)} questions written to {escape(str(out_file))}")


@faq.command("build")
def build_command(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="The FAQ file to write.")],
    questions: Annotated[
        Path | None, typer.Option(help="Question list: UTF-8, one question per line.")
    ] = None,
    reviewed: Annotated[
        Path | None, typer.Option("--from", help="A reviewed .csv or .json to re-render.")
    ] = None,
    format_option: Annotated[
        str | None,
        typer.Option(
            "--format", help=f"One of {', '.join(FORMATS)}; by default the --out file's extension says."
        ),
    ] = None,
) -> None:
    """Answer a question list (or re-render a reviewed file) as Markdown, HTML, CSV or JSON."""
    fmt = _format(out_file, format_option)
    if (questions is None) == (reviewed is None):
        fail("give either --questions FILE or --from REVIEWED")
    if not out_file.resolve().parent.is_dir():  # before answering anything
        fail(f"{escape(str(out_file.resolve().parent))}: no such folder")
    services = services_of(ctx)
    services.settings()
    with user_errors():
        try:
            if reviewed is not None:
                entries = _reviewed(reviewed)  # a malformed file stops before the model is loaded
                embed = services.bot().embeddings.embed_query
                entries = [recheck(entry, embed) for entry in entries]
                write(entries, fmt, out_file)
                flagged = [e for e in entries if e.flagged]
                instead = " (the bot's answer is shown instead)" if fmt in READER_FORMATS else ""
                for entry in flagged:
                    err.print(
                        f"[yellow]flagged[/] {escape(entry.id)} {escape(entry.question)}: {escape(entry.check)}"
                        + instead
                    )
                rejected = sum(e.status == REJECTED for e in entries) if fmt in READER_FORMATS else 0
                left_out = f", {rejected} rejected left out" if rejected else ""
                err.print(
                    f"{len(entries)} entries, {len(flagged)} edits flagged{left_out} → {escape(str(out_file))}"
                )
                return
            assert questions is not None
            bot = services.answering_bot()
            answered = partial(services.feedback().try_record, channel=CHANNEL)
            with _progress() as tick, built(bot, read_questions(questions), tick, answered) as store:
                write(store.ordered(), fmt, out_file)
                total = store.count()
        except (FaqError, ValueError, OSError) as exc:
            fail(escape(str(exc)))
    err.print(f"{total} entries → {escape(str(out_file))}")


@faq.command("publish")
def publish_command(
    ctx: typer.Context, reviewed: Annotated[Path, typer.Argument(help="A reviewed .csv or .json.")]
) -> None:
    """Serve the approved entries of a reviewed file as curated answers (edits re-checked first)."""
    services = services_of(ctx)
    settings = services.settings()
    entries = _reviewed(reviewed)
    with user_errors():
        bot = services.answering_bot()
        knowledge = bot.load().knowledge  # quotes are checked against the sources the bot serves
        entries = [recheck(entry, bot.embeddings.embed_query, knowledge) for entry in entries]
        approved = [e for e in entries if e.status == APPROVED]
        refused = [e for e in approved if refusal(e)]
        for entry in refused:
            err.print(f"[yellow]not published[/] {escape(entry.question)}: {escape(refusal(entry))}")
        ready = [e for e in approved if e not in refused]
        total = curated.publish(settings.data_dir, bot.embeddings, [as_answer(e) for e in ready])
    out.print(f"published {len(ready)} of {len(approved)} approved entries; {total} curated answers in all")


@faq.command("unpublish")
def unpublish_command(
    ctx: typer.Context,
    reviewed: Annotated[Path | None, typer.Argument(help="Unpublish the questions of this file.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Unpublish every curated answer.")] = False,
) -> None:
    """Stop serving curated answers: those of a file, or all of them."""
    if (reviewed is not None) != everything:
        settings = services_of(ctx).settings()
        questions = None if reviewed is None else [e.question for e in _reviewed(reviewed)]
        removed = curated.unpublish(settings.data_dir, questions)
        out.print(f"unpublished {removed} curated answers")
        return
    fail("give either a reviewed file or --all")


def _format(out_file: Path, given: str | None) -> str:
    """The format to write: the one given, else the one ``--out``'s extension names; a contradiction between
    the two, or neither, is refused (faq.html written as Markdown looks broken in a browser)."""
    if given is not None and given not in FORMATS:
        fail(escape(f"unknown format {given!r}: use one of {', '.join(FORMATS)}"))
    named = format_of(out_file)
    if given is None:
        if named is None:
            known = ", ".join(EXTENSIONS)
            fail(
                escape(
                    f"{out_file}: cannot tell the format from its name; end it in {known}, or give --format"
                )
            )
        return named
    if named is not None and named != given:
        fail(
            escape(
                f"--format {given} contradicts --out {out_file}, whose extension says {named}; drop one of them"
            )
        )
    return given


def _reviewed(path: Path) -> list[Entry]:
    try:
        return read_reviewed(path)
    except ReviewError as exc:
        fail(escape(str(exc)))


class _progress:
    """A progress bar on a terminal, nothing elsewhere; yields the per-question tick."""

    def __enter__(self) -> Callable[[int], None] | None:
        if not sys.stderr.isatty():
            return None
        self.bar = Progress(TextColumn("answering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=err, transient=True)  # fmt: skip
        self.bar.start()
        task = self.bar.add_task("faq", total=None)
        return lambda n: self.bar.update(task, completed=n, refresh=n % 50 == 0)

    def __exit__(self, *exc: object) -> None:
        if hasattr(self, "bar"):
            self.bar.stop()
