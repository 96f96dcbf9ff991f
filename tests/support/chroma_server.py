"""Start a real Chroma server (``chroma run``) on loopback for the duration of a test.

The server is a child process that logs to a file rather than a pipe: nobody reads a pipe while the
test runs, and a full pipe would block the server mid-request.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"
_STOP_GRACE_SECONDS = 5.0
# The port is free when we pick it but another process may take it before chroma binds it; only that
# failure is worth a retry, every other early exit is a real problem to report at once.
_PORT_ATTEMPTS = 3
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Loopback must never go through a proxy someone configured in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def chroma_executable() -> str:
    """The ``chroma`` command of the interpreter running the tests, else the first one on PATH."""
    # The venv's own copy matches the chromadb client the tests import; one on PATH may be another version.
    beside = Path(sys.executable).parent / "chroma"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("chroma")
    if not found:
        raise RuntimeError("the `chroma` command is not installed (it ships with the chromadb package)")
    return found


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    kept = [line.rstrip() for line in _ANSI.sub("", text).splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _heartbeat(url: str) -> bool:
    try:
        with _OPENER.open(f"{url}/api/v2/heartbeat", timeout=2) as response:
            body = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError):
        # Refused, reset or half-started (HTTP error, bad JSON): not up yet.
        return False
    return isinstance(body, dict) and "nanosecond heartbeat" in body


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


def _start(data_path: Path, startup_timeout: float) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start the server and wait for its heartbeat; on failure nothing is left running."""
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False", NO_COLOR="1")
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = _free_port()
        url = f"http://{HOST}:{port}"
        log_path = data_path.parent / f"chroma-{data_path.name}-{port}.log"
        command = [chroma_executable(), "run", "--path", str(data_path), "--host", HOST, "--port", str(port)]
        with open(log_path, "wb") as log:
            # The child keeps its own copy of the descriptor, so closing ours here is safe.
            proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        deadline = time.monotonic() + startup_timeout
        try:
            while not _heartbeat(url):
                if proc.poll() is not None:
                    tail = _tail(log_path)
                    if attempt < _PORT_ATTEMPTS and "in use" in tail.lower():
                        break
                    raise RuntimeError(f"`chroma run` exited with code {proc.returncode}; log tail:\n{tail}")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"`chroma run` did not answer {url}/api/v2/heartbeat within {startup_timeout:g}s; "
                        f"log tail:\n{_tail(log_path)}"
                    )
                time.sleep(0.1)
            else:
                return proc, url, log_path
        except BaseException:
            _stop(proc)
            raise
    raise AssertionError("unreachable: the last attempt either returns or raises")


@contextmanager
def running_chroma_server(data_path: Path, *, startup_timeout: float = 60.0) -> Iterator[str]:
    """Run ``chroma run --path data_path`` on a free loopback port and yield its base URL
    (``http://127.0.0.1:<port>``); the server is stopped (SIGTERM, then SIGKILL after a few seconds) when
    the block exits. Its output goes to ``chroma-<name>-<port>.log`` beside ``data_path``.

    Raises RuntimeError, with the tail of the server's log, if it exits or stays silent during startup.
    """
    data_path.parent.mkdir(parents=True, exist_ok=True)
    proc, url, _log = _start(data_path, startup_timeout)
    try:
        yield url
    finally:
        _stop(proc)
