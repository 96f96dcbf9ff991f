"""Admin commands over the index: ``ingest``, ``chunks``, ``search``."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from crmkb.bot.service import QuestionError, clean_question
from crmkb.cli.common import app, err, fail, out, user_errors
from crmkb.cli.services import services_of
from crmkb.ingest.index import make_store
from crmkb.ingest.last_report import save_report
from crmkb.ingest.pipeline import IngestReport, run_ingest

PASSAGE_INDENT = "   "


class _RateColumn(ProgressColumn):
    """Items per second, over rich's recent window (what was found in the cache is not counted)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                # a stage starts where the cache left it: those items are not the rate, nor in the ETA
                tasks[stage] = bar.add_task(stage, total=total, completed=done)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the kb folder).")
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Rebuild the whole index (cached vectors reused unless --no-cache)."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a summary.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress bar (there is none when stderr is not a terminal)."),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Neither read nor write the ingest cache: embed everything new from scratch."
        ),
    ] = False,
) -> None:
    """Clean, chunk and embed the knowledge base into the index."""
    settings = services_of(ctx).settings()
    if no_cache:
        settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"cache": False})})
    with user_errors(), _progress(not (as_json or quiet) and err.is_terminal) as progress:
        report = run_ingest(settings, paths or None, rebuild=rebuild, progress=progress)
    try:  # for the admin console's Documents page; the index is what matters
        save_report(settings.data_dir, report.to_json(), by="cli")
    except OSError as exc:
        err.print(f"[yellow]warning:[/] the report was not kept for the admin console ({exc})")
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _print_report(report)
    if report.documents == 0:
        err.print("[bold red]error:[/] nothing could be ingested; the index is unchanged")
        raise typer.Exit(1)


def _print_report(report: IngestReport) -> None:
    table = Table(show_header=False, box=None)
    for label, value in (
        ("documents", report.documents),
        ("chunks", report.chunks),
        ("embedded", report.embedded),
        ("sentences embedded", report.sentences_embedded),
        ("from the ingest cache", report.from_cache),
        ("unchanged", report.unchanged),
        ("removed", report.removed),
        ("seconds", f"{report.seconds:.2f}"),
    ):
        table.add_row(label, str(value))
    out.print(table)
    if report.skipped:
        out.print("[bold]skipped[/]")
        for item in report.skipped:
            out.print(f"  {item.file}: {item.reason}", highlight=False)
    if report.cleaning:
        out.print("[bold]cleaning removed[/]")
        for kind, count in sorted(report.cleaning.items()):
            out.print(f"  {kind}: {count}", highlight=False)
    for problem in report.repaired:
        out.print(f"[bold yellow]repaired[/] {problem}", highlight=False)
    for warning in report.warnings:
        err.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    if report.cleaned_up:
        out.print(
            f"cleaned up {len(report.cleaned_up)} leftovers: {', '.join(report.cleaned_up)}", highlight=False
        )
    if report.published:
        state = f"published {report.version}"
    elif report.repaired:  # the store already served this version: only its damaged files were written again
        state = f"repaired the files of {report.version}; nothing else needed writing"
    else:
        state = "index already up to date"
    out.print(state if report.documents else "index unchanged", highlight=False)


@app.command()
def chunks(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="Only chunks of this document (file name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show what the bot knows: every chunk with its source, section and offsets."""
    settings = services_of(ctx).settings()
    with user_errors():
        store = make_store(settings)
        found = store.chunks(store.require_active(), source)
    if source and not found:
        fail(f"no chunks from {source!r}")
    if as_json:
        print(json.dumps([asdict(c) for c in found], ensure_ascii=False))
        return
    table = Table("source", "section", "span", "text", show_lines=False)
    for c in found:
        preview = c.text.replace("\n", " ")
        table.add_row(
            c.source, c.section, f"{c.start}-{c.end}", preview[:80] + ("…" if len(preview) > 80 else "")
        )
    out.print(table)
    out.print(f"{len(found)} chunks", highlight=False)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Text to look up.")],
    k: Annotated[int, typer.Option(min=1, max=50, help="How many passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show the passages nearest to a text (dense retrieval only; an admin's look into the index)."""
    try:
        query = clean_question(query)  # the limits a question has: empty, too long, not UTF-8
    except QuestionError as exc:
        fail(str(exc).replace("question", "query", 1))
    services = services_of(ctx)
    settings = services.settings()
    with user_errors():
        hits = make_store(settings).search(services.embeddings(), query, k)
    if as_json:
        print(json.dumps([asdict(c) | {"score": round(s, 4)} for c, s in hits], ensure_ascii=False))
        return
    for rank, (c, score) in enumerate(hits, 1):
        out.print(f"[bold]{rank}. {escape(c.title)}[/] — {escape(c.section or '(intro)')}  [dim]{c.source} "
                  f"{c.start}-{c.end}  score {score:.3f} · {c.kind}[/]", highlight=False)  # fmt: skip
        # every line of a passage under its header, so its own numbered lines ("2、…") never read as results
        out.print(textwrap.indent(c.text, PASSAGE_INDENT, lambda line: True), markup=False, highlight=False)
