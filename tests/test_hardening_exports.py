"""Hardened exports and reviewed files: durable, readable writes; spreadsheet formulas, HTML and links
neutralised in every format; malformed reviewed files refused in one line; the trainer page with an API key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmkb.files import write_atomically


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_written_files_are_0644_and_private_ones_0600(tmp_path: Path, umask_022: None) -> None:
    public, private = tmp_path / "faq.csv", tmp_path / "secret.json"
    write_atomically(public, lambda handle: handle.write("x"))
    write_atomically(private, lambda handle: handle.write("x"), private=True)
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    write_atomically(public, lambda handle: handle.write("y"))
    assert stat.S_IMODE(public.stat().st_mode) == 0o644 and public.read_text() == "y"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faq.csv", "secret.json"]


def test_file_and_folder_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording stand-in for os.fsync: the new file's bytes before the rename, the folder after it."""
    target = tmp_path / "faq.md"
    target.write_text("old", encoding="utf-8")
    synced: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            assert info.st_ino == tmp_path.stat().st_ino
            synced.append(("folder", target.read_text(encoding="utf-8")))
        else:
            assert info.st_size == len("new")  # everything written and flushed first
            synced.append(("file", target.read_text(encoding="utf-8")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_atomically(target, lambda handle: handle.write("new"))
    assert synced == [("file", "old"), ("folder", "new")]
