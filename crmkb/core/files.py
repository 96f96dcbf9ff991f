"""Writing a file so that a failure leaves the old file (or none), never half of a new one, and a success
survives a power cut: the file's bytes and its name in the folder both reach the disk before we return;
and one writer at a time for files that are read, changed and written back.

Files are created 0644 (readable by the service's other users, such as a web server or a backup job) less
the process umask; ``private=True`` makes them 0600 for content that only its owner should read.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PUBLIC_MODE = 0o644
PRIVATE_MODE = 0o600


def write_atomically(path: Path, write: Callable[[IO[str]], object], *, private: bool = False) -> None:
    """Run ``write`` on a temporary file beside ``path``, fsync it, rename it into place and fsync the
    folder; on any failure the temporary file is removed and the error raised. A missing folder is an
    ``OSError`` naming it."""
    path = path.resolve()
    if not path.parent.is_dir():
        raise OSError(f"{path.parent}: no such folder")
    tmp, fd = _create(path, PRIVATE_MODE if private else PUBLIC_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def _create(path: Path, mode: int) -> tuple[Path, int]:
    # tempfile.mkstemp always creates 0600; os.open lets the mode (less the umask) be chosen at creation,
    # so the file is never readable by more users than intended, not even for a moment.
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue


def sync_folder(folder: Path) -> None:
    # The rename is only durable once the folder's entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def exclusive(lock: Path, on_wait: Callable[[], object] | None = None) -> Iterator[None]:
    """Hold an OS lock on the file ``lock`` (created if needed) while the block runs; another process or
    thread asking for it waits, after ``on_wait`` is called. The lock is released when its holder ends,
    even by SIGKILL."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, PUBLIC_MODE)
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
