"""Answers recorded off the request path (crmkb.web.answer_writer): an answer is served while the feedback
store cannot be written, and reaches the store afterwards: when the writer catches up, when the answer is
rated, when the admin console reads, and when the server stops cleanly."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from crmkb.bot.schemas import Answer
from crmkb.bot.service import Bot
from crmkb.core.settings import Settings
from crmkb.feedback_store import FeedbackStore
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.web.answer_writer import AnswerWriter
from crmkb.web.app import FEEDBACK_DB, create_app
from crmkb.web.loopback import serving
from tests.support.admin import console, private
from tests.support.serve_process import crmkb_serve

QUESTION = "项目预算中软件成本占多少?"


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another process's write transaction on the SQLite file at ``path``, held for the block: every
    writer waits behind it, readers see the file as it was (WAL)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def an_answer(question: str) -> Answer:
    return Answer(question=question, answer="a.", answerable=True, language="en", mode="extractive")


def stored(store: FeedbackStore, answer_id: str) -> tuple[object, ...] | None:
    query = "SELECT channel, question, user_id, latency_ms FROM answers WHERE id = ?"
    row: tuple[object, ...] | None = store.transaction(lambda db: db.execute(query, (answer_id,)).fetchone())
    return row


def test_close_waits_until_every_queued_answer_is_written(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / FEEDBACK_DB)
    writer = AnswerWriter(store)
    with write_locked(store.path):
        ids = [
            writer.record(an_answer(f"q{n}"), "web", user_id="bo")
            for n in range(3)
        ]  # fmt: skip
        assert [stored(store, i) for i in ids] == [None] * 3  # queued, not written: the disk is busy
        closing = threading.Thread(target=writer.close)
        closing.start()
        closing.join(0.3)
        assert closing.is_alive()  # a clean stop waits for the disk rather than dropping the queue
    closing.join(30)
    assert not closing.is_alive()
    assert [stored(store, i) for i in ids] == [("web", f"q{n}", "bo", 0.0) for n in range(3)]
    later = writer.record(an_answer("late"), "cli")
    assert stored(store, later) == ("cli", "late", None, 0.0)  # after close: written at once


def test_an_answer_is_served_while_its_store_is_busy_then_rated_and_listed_once_written(
    hash_index: Settings, tmp_path: Path
) -> None:
    settings = private(hash_index, tmp_path, rate_limit=0)
    with console(settings) as admin:
        store = FeedbackStore(settings.data_dir / FEEDBACK_DB)
        results: dict[str, httpx.Response] = {}

        def call(name: str, method: str, path: str, **kwargs: Any) -> threading.Thread:
            thread = threading.Thread(
                target=lambda: results.setdefault(name, admin.client.request(method, path, **kwargs))
            )
            thread.start()
            return thread

        with write_locked(store.path):
            # The old route waited for the lock (10 s, then served the answer unrecorded).
            answer = httpx.post(f"{admin.url}/api/ask", json={"question": QUESTION}, timeout=5).json()
            with httpx.stream(
                "POST", f"{admin.url}/api/ask/stream", json={"question": QUESTION}, timeout=5
            ) as s:
                # read to the end: the answer is queued once answered, which is after "meta" gave its id
                meta = next(line for line in list(s.iter_lines()) if '"answer_id"' in line)
            streamed = json.loads(meta.removeprefix("data:"))["answer_id"]
            assert stored(store, answer["id"]) is None and stored(store, streamed) is None
            # Rated and listed at once: both wait for the queued answers to be written.
            rating = {"answer_id": answer["id"], "rating": "up", "rater": "rater-0001"}
            waiting = [
                call("rated", "POST", "/api/feedback", json=rating),
                call("listed", "GET", "/api/admin/conversations", params={"q": QUESTION}),
            ]
            for thread in waiting:
                thread.join(0.3)
            assert all(thread.is_alive() for thread in waiting)
        for thread in waiting:
            thread.join(30)
        assert results["rated"].status_code == 201
        assert {r["id"] for r in results["listed"].json()["rows"]} == {answer["id"], streamed}
        assert stored(store, answer["id"]) == ("web", QUESTION, None, answer["latency_ms"])


def test_answers_reach_the_store_without_a_rating_or_a_reader(hash_index: Settings, tmp_path: Path) -> None:
    settings = private(hash_index, tmp_path, rate_limit=0)
    app = create_app(settings, bot=Bot(settings, embeddings=HashEmbeddings()))
    with serving(app) as url:
        ids = [
            httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=30).json()["id"]
            for _ in range(5)
        ]
        store: FeedbackStore = app.state.store
        deadline = time.monotonic() + 30
        while any(stored(store, i) is None for i in ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(stored(store, i) is not None for i in ids)


class _SlowEmbeddings(HashEmbeddings):
    """A question takes a second to embed: long enough for a client to leave while it is answered."""

    def embed_query(self, text: str) -> list[float]:
        time.sleep(1.0)
        return super().embed_query(text)


def test_a_streamed_answer_is_recorded_when_the_client_leaves_after_its_id(
    hash_index: Settings, tmp_path: Path
) -> None:
    settings = private(hash_index, tmp_path, rate_limit=0)
    app = create_app(settings, bot=Bot(settings, embeddings=_SlowEmbeddings()))
    with serving(app) as url:
        with httpx.stream("POST", f"{url}/api/ask/stream", json={"question": QUESTION}, timeout=30) as s:
            meta = next(line for line in s.iter_lines() if '"answer_id"' in line)
        answer_id = json.loads(meta.removeprefix("data:"))["answer_id"]  # and the client is gone
        store: FeedbackStore = app.state.store
        deadline = time.monotonic() + 30
        while stored(store, answer_id) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # the id it was given can be rated: the answer is recorded before "done" is sent, not after
        assert stored(store, answer_id) is not None


@pytest.mark.slow
def test_a_clean_stop_writes_the_answers_still_queued(hash_index: Settings, tmp_path: Path) -> None:
    """`crmkb serve` in its own process: answers served while the store is locked, then SIGTERM (what a
    deploy or Ctrl-C sends): the server waits for the disk and exits with every answer written."""
    data = tmp_path / "data"
    shutil.copytree(hash_index.data_dir, data)
    env = {
        "CRMKB_DATA_DIR": str(data),
        "CRMKB_KB_DIR": str(hash_index.kb_dir),
        "CRMKB_EMBEDDING_BACKEND": "hash",
        "CRMKB_SERVER_RATE_LIMIT": "0",
    }
    with crmkb_serve(env, tmp_path / "serve.log", ready="/readyz") as served:
        with write_locked(data / FEEDBACK_DB):
            ids = [
                httpx.post(f"{served.url}/api/ask", json={"question": QUESTION}, timeout=5).json()["id"]
                for _ in range(3)
            ]
            served.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)  # the server is stopping, its answers still queued behind the lock
        served.process.wait(timeout=60)
    store = FeedbackStore(data / FEEDBACK_DB)
    assert [stored(store, i) is not None for i in ids] == [True] * 3, served.log.read_text()
