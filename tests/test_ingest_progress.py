"""``crmkb ingest`` as an admin sees it in a terminal: a progress bar with rate and ETA; none with
``--quiet`` or when stderr is not a terminal (CI logs)."""

from __future__ import annotations

import os
import pty
import selectors
import subprocess
from pathlib import Path

import pytest

from tests.conftest import KB
from tests.support.cli import CRMKB, run_crmkb

pytestmark = pytest.mark.slow  # a process of its own


def in_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """``crmkb`` with its stderr on a pseudo-terminal; what the terminal received."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [CRMKB, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary,
        env={**os.environ, "COLUMNS": "160", "TERM": "xterm", **env},
    )  # fmt: skip
    os.close(secondary)
    received = b""
    # a selector, not select.select: in a long test session the terminal's descriptor can be past 1024
    waiting = selectors.DefaultSelector()
    waiting.register(main, selectors.EVENT_READ)
    while True:
        if not waiting.select(timeout=120):
            break
        try:
            block = os.read(main, 65536)
        except OSError:  # the other end closed
            break
        if not block:
            break
        received += block
    waiting.close()
    os.close(main)
    return process.wait(timeout=60), received.decode(errors="replace")


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "CRMKB_DATA_DIR": str(tmp_path / "data"),
        "CRMKB_KB_DIR": str(KB),
        "CRMKB_EMBEDDING_BACKEND": "hash",
    }


def test_terminal_shows_stages_with_rate_and_eta(tmp_path: Path) -> None:
    code, shown = in_terminal("ingest", env=env_for(tmp_path))
    assert code == 0, shown
    assert "embedding sentences" in shown and "eta" in shown
    assert "/s" in shown  # the rate


def test_quiet_and_piped_ingests_print_no_bar(tmp_path: Path) -> None:
    code, shown = in_terminal("ingest", "--quiet", env=env_for(tmp_path))
    assert code == 0 and "eta" not in shown and "embedding" not in shown
    piped = run_crmkb("ingest", "--rebuild", env=env_for(tmp_path))
    assert piped.returncode == 0 and "eta" not in piped.stderr and "embedding" not in piped.stderr
