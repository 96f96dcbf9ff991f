"""Start a real Chroma server (``chroma run``) on loopback for the duration of a test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chroma_executable() -> str:
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("the `chroma` command is not installed (it ships with the chromadb package)")
    return found


@contextmanager
def running_chroma_server(data_path: Path, *, startup_timeout: float = 60.0) -> Iterator[str]:
    """Yield the base URL of a fresh ``chroma run`` serving ``data_path``; stop it afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data_path.parent / f"chroma-{port}.log"
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    command = [
        _chroma_executable(),
        "run",
        "--path",
        str(data_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}: {_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer within {startup_timeout}s: {_tail(log_path)}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 15) -> str:
    return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
