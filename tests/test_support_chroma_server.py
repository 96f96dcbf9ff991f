"""The `chroma run` helper starts a real server that a client can use, and leaves nothing behind."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from tests.support.chroma_server import running_chroma_server


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


@pytest.mark.slow
def test_server_serves_a_client_and_stops(tmp_path: Path) -> None:
    data = tmp_path / "chroma"
    with running_chroma_server(data) as url:
        host, port = _host_port(url)
        assert host == "127.0.0.1"
        client = chromadb.HttpClient(host=host, port=port, settings=Settings(anonymized_telemetry=False))
        assert client.heartbeat() > 0
        # No embedding function: the server must not try to fetch a default model.
        collection = client.create_collection("probe", embedding_function=None)
        collection.add(
            ids=["east", "north"],
            embeddings=np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32),
            documents=["向东", "north"],
        )
        result = collection.query(query_embeddings=np.array([[0.1, 0.9, 0.0]], dtype=np.float32), n_results=1)
        assert result["ids"] == [["north"]]
        assert collection.count() == 2

    assert data.is_dir(), "the server persists into the path it was given"
    assert list(tmp_path.glob("chroma-chroma-*.log")), "its output goes to a log beside the data"
    # The process has been waited for, so its listening socket is closed: a connection is refused.
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, port), timeout=2):
        pass


@pytest.mark.slow
def test_a_server_that_dies_at_startup_reports_its_log(tmp_path: Path) -> None:
    # A regular file where the data directory should be: chroma refuses it and exits at once.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(RuntimeError, match="exited with code") as excinfo, running_chroma_server(blocker):
        pytest.fail("the server should not have started")
    assert "File exists" in str(excinfo.value)


def test_a_server_that_stays_silent_times_out(tmp_path: Path) -> None:
    # No time at all to start: the helper must give up, say so, and stop the half-started server.
    with (
        pytest.raises(RuntimeError, match="did not answer"),
        running_chroma_server(tmp_path / "chroma", startup_timeout=0.0),
    ):
        pytest.fail("the server should not have been reported as up")
