"""Writing a file so that a failure leaves the old file (or none), never half of a new one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomically(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Run ``write`` on a temporary file beside ``path``, then rename it into place; on any failure the
    temporary file is removed and the error raised. A missing folder is an ``OSError`` naming it."""
    path = path.resolve()
    if not path.parent.is_dir():
        raise OSError(f"{path.parent}: no such folder")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
