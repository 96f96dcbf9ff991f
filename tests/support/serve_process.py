"""`crmkb serve` in its own process on loopback, for tests whose faults are processes or files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from crmkb.web.loopback import free_port

CRMKB = str(Path(sys.executable).parent / "crmkb")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def wait_for(condition: Callable[[], object], served: Served | None = None, message: str = "condition not met",
             limit: float = 180.0) -> None:  # fmt: skip
    """Poll ``condition`` until it holds; fail with the server's log when the server died meanwhile."""
    deadline = time.monotonic() + limit
    while not condition():
        if served is not None and served.process.poll() is not None:
            raise AssertionError(f"{message}: crmkb serve exited\n{served.log.read_text()}")
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


def live(url: str, path: str = "/healthz") -> bool:
    try:
        return httpx.get(url + path, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def crmkb_serve(env: dict[str, str], log: Path, *args: str, ready: str = "/healthz") -> Iterator[Served]:
    """Start ``crmkb serve`` with ``env`` added to this environment; yields once ``ready`` answers 200
    (``/healthz``: live; ``/readyz``: answering). Output goes to ``log``; the server is stopped after."""
    port = free_port()
    with log.open("w") as sink:
        process = subprocess.Popen(
            [CRMKB, "serve", "--port", str(port), *args], env={**os.environ, **env}, stdout=sink, stderr=sink
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_for(lambda: live(served.url, ready), served, "crmkb serve did not start")
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
