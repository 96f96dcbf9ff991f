"""One ingest at a time per data dir: two runs publishing from the same active version would each drop
what the other wrote. A second run waits for the first (an OS file lock, released even when the holder is
killed), then finds the index up to date or brings it up to date itself."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".ingest.lock"


@contextmanager
def ingest_lock(data_dir: Path, on_wait: Callable[[], object] | None = None) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
