"""What every ``crmkb`` command shares: the Typer app, consoles, and one-line errors.

Errors meant for a person (``crmkb.core.errors``: a bad setting or file, an unreachable store, a missing
index) print one line and exit 1; no traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console

from crmkb.core.errors import Unavailable, UserError
from crmkb.core.settings import Settings, SettingsError, get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="CRM implementation guidance, cited.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)  # an error stays one line at any terminal width


def load_settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        fail(str(exc))


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except (UserError, Unavailable) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; the previous index is untouched")
