"""The ``crmkb`` command: commands live in their modules and register on one Typer app."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from crmkb.cli import (  # noqa: F401  (registers commands)
    answer_commands,
    catalog_commands,
    eval_commands,
    faq_commands,
    index_commands,
    slack_commands,
)
from crmkb.cli.common import app
from crmkb.cli.services import production_services


@app.callback()
def _services(ctx: typer.Context) -> None:
    # A test's CliRunner passes its own services as ``obj``; the console script gets the real ones.
    if ctx.obj is None:
        ctx.obj = production_services()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script; ``argv`` lets tests run the CLI in-process."""
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="crmkb")
