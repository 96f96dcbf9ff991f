"""CRMKB_STATE_DIR: the SQLite files a server writes as it serves (feedback, rate limits, Slack replays) on a
host's own disk, apart from a data dir shared between hosts; each replica then keeps its own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from crmkb.bot.service import Bot
from crmkb.cli.services import Services
from crmkb.core.settings import Settings, get_settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.web.app import FEEDBACK_DB
from crmkb.web.guards import RATE_DB
from tests.support.admin import console, private

QUESTIONS = ("项目预算中软件成本占多少?", "CRM项目团队应该包括哪些人?")


def test_unset_it_is_the_data_dir(tmp_path: Path) -> None:
    assert get_settings(data_dir=tmp_path).host_state_dir == tmp_path
    moved = get_settings(data_dir=tmp_path / "shared", state_dir=tmp_path / "local")
    assert moved.host_state_dir == tmp_path / "local"
    assert (
        Services(load_settings=lambda: moved).feedback().path == tmp_path / "local" / FEEDBACK_DB
    )  # crmkb ask


def test_replicas_sharing_a_data_dir_each_keep_their_answers_and_counts(
    hash_index: Settings, tmp_path: Path
) -> None:
    shared = private(hash_index, tmp_path, rate_limit=100)
    before = sorted(p.name for p in shared.data_dir.iterdir())
    replicas = [shared.model_copy(update={"state_dir": tmp_path / f"host-{n}"}) for n in (1, 2)]
    served: list[str] = []
    for settings, question in zip(replicas, QUESTIONS, strict=True):
        with console(settings, Bot(settings, embeddings=HashEmbeddings())) as admin:
            answer = httpx.post(f"{admin.url}/api/ask", json={"question": question}, timeout=30).json()
            rating = {"answer_id": answer["id"], "rating": "up", "rater": "rater-0001"}
            assert httpx.post(f"{admin.url}/api/feedback", json=rating, timeout=30).status_code == 201
            rows = admin.client.get("/api/admin/conversations").json()["rows"]
            # The console shows what this replica served, not what the other one did.
            assert [(r["id"], r["up"]) for r in rows] == [(answer["id"], 1)]
            served.append(answer["id"])
    for settings, answer_id in zip(replicas, served, strict=True):
        state = settings.host_state_dir
        with sqlite3.connect(state / FEEDBACK_DB) as db:
            assert db.execute("SELECT id FROM answers").fetchall() == [(answer_id,)]
        with sqlite3.connect(state / RATE_DB) as db:  # each host counts its own clients
            assert db.execute("SELECT COUNT(*) FROM hits").fetchone()[0] >= 2
    # Nothing of it in the shared folder: no SQLite file that two hosts would write through WAL.
    assert sorted(p.name for p in shared.data_dir.iterdir()) == before
