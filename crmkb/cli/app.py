"""The ``crmkb`` command: commands live in their modules and register on one Typer app."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from crmkb.cli import answer_commands, eval_commands, faq_commands, index_commands, slack_commands  # noqa: F401  (registers commands)
from crmkb.cli.common import app


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script; ``argv`` lets tests run the CLI in-process."""
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="crmkb")
