"""``crmkb eval``: measure the bot on the golden set and gate on the thresholds."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated

import typer

from crmkb.bot.schemas import Mode
from crmkb.cli.common import app, err, fail, out, user_errors
from crmkb.cli.services import services_of
from crmkb.evals.dataset import GOLDEN, DatasetError, load_dataset
from crmkb.evals.metrics import THRESHOLDS, load_thresholds
from crmkb.evals.report import print_table, to_json, to_markdown
from crmkb.evals.runner import BotTarget, NaiveBaseline, run
from crmkb.ingest import artifacts


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    dataset: Annotated[
        Path | None, typer.Option(help="Golden set (JSONL). Default: the one installed with crmkb.evals.")
    ] = None,
    mode: Annotated[str, typer.Option(help="extractive or llm.")] = "extractive",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here (and .md beside it).")
    ] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also run the naive baseline, side by side.")
    ] = False,
    thresholds: Annotated[
        Path | None, typer.Option(help="Thresholds file (TOML). Default: the one installed with crmkb.evals.")
    ] = None,
) -> None:
    """Measure retrieval, citations, grounding, refusal and answer shape on the golden set, dev and test
    side by side; exit 1 when the test split misses a threshold."""
    if mode not in ("extractive", "llm"):
        fail("--mode must be extractive or llm")
    services = services_of(ctx)
    settings = services.settings()
    try:
        items = load_dataset(dataset or GOLDEN)
        limits = load_thresholds(thresholds or THRESHOLDS)
    except (DatasetError, OSError, tomllib.TOMLDecodeError) as exc:
        fail(str(exc))
    with user_errors():
        bot = services.answering_bot()
        knowledge = bot.load().knowledge
        documents = {
            s: d.text for s, d in artifacts.read_documents(settings.data_dir, knowledge.version.name).items()
        }
        chosen: Mode = "llm" if mode == "llm" else "extractive"
        sections = knowledge.section_order()
        result = run(BotTarget(bot, chosen), items, documents, bot.embeddings.embed_query, sections=sections)
        base = None
        if baseline:
            raw = {p.name: p.read_text(encoding="utf-8") for p in sorted(settings.kb_dir.glob("*.txt"))}
            base = run(
                NaiveBaseline(raw, bot.embeddings),
                items,
                documents,
                bot.embeddings.embed_query,
                sections=sections,
            )
    failures = result.gate(limits)
    report = to_json(result, failures, base)
    print_table(out, result, base)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        json_out.with_suffix(".md").write_text(to_markdown(report), encoding="utf-8")
        out.print(f"report: {json_out} and {json_out.with_suffix('.md')}", highlight=False)
    for line in failures:
        err.print(f"[bold red]gate:[/] {line}", highlight=False)
    if failures:
        raise typer.Exit(1)
    out.print(
        f"{len(result.failing())} of {len(items)} questions have a problem; all thresholds met",
        highlight=False,
    )
