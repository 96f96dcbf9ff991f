"""One ingest at a time per data dir: two runs publishing from the same active version would each drop
what the other wrote. A second run waits for the first (an OS file lock, released even when the holder is
killed), then finds the index up to date or brings it up to date itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crmkb.core.files import exclusive

LOCK_FILE = ".ingest.lock"


@contextmanager
def ingest_lock(data_dir: Path, on_wait: Callable[[], object] | None = None) -> Iterator[None]:
    with exclusive(data_dir / LOCK_FILE, on_wait):
        yield
