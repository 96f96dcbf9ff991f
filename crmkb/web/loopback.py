"""Serve a FastAPI app with a real uvicorn on loopback, in a thread, for as long as a ``with`` block runs.

For the test suite and the benchmarks (``bench/answer_bench.py``), which need the real HTTP and SSE
protocol in-process; ``crmkb serve`` runs uvicorn itself.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI, *, startup_timeout: float = 60.0) -> Iterator[str]:
    """Yield the base URL of ``app`` served by uvicorn on 127.0.0.1; shut it down afterwards."""
    port = free_port()
    # proxy_headers off, as `crmkb serve` runs it: the app decides whom X-Forwarded-For is trusted from.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
