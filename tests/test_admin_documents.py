"""The admin console's Documents API over real HTTP: sign-in and CSRF on every route, upload validation
(type, size, content; nothing half-written left in kb/), delete, catalog edits, and a re-ingest that waits
for another ingest, refuses a second one, keeps answering meanwhile, and switches the served index."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from crmkb.core.settings import Settings
from crmkb.ingest.lock import ingest_lock
from crmkb.web.admin_auth import CSRF_HEADER
from tests.conftest import KB
from tests.support.admin import Console, console, private
from tests.support.cli import invoke, services_for

API = "/api/admin/documents"
NEW_DOC = (
    "海豚工单升级规则\n\n"
    "一、升级时限\n\n"
    "海豚客服的工单在四小时内没有回复时,系统自动升级给值班主管。值班主管必须在一小时内给客户回电。\n"
)


@pytest.fixture
def admin(hash_index: Settings, tmp_path: Path) -> Iterator[Console]:
    settings = private(hash_index, tmp_path)
    small = settings.ingest.model_copy(update={"max_file_mb": 0.05})  # 52 KB: a size test stays small
    with console(settings.model_copy(update={"ingest": small})) as signed_in:
        yield signed_in


def listing(admin: Console) -> dict[str, Any]:
    response = admin.client.get(API)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def row(admin: Console, path: str) -> dict[str, Any]:
    [found] = [d for d in listing(admin)["documents"] if d["path"] == path]
    return found


def upload(admin: Console, name: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    return admin.change("PUT", f"/admin/documents/upload/{quote(name, safe='')}", content=content)


def leftovers(admin: Console) -> list[str]:
    return sorted(p.name for p in admin.bot.settings.kb_dir.iterdir() if p.name.startswith("."))


def test_every_route_needs_a_session_and_every_change_the_csrf_token(admin: Console) -> None:
    anyone = httpx.Client(base_url=admin.url)
    for method, path in (("GET", API), ("GET", f"{API}/ingest"), ("POST", f"{API}/ingest"),
                         ("DELETE", f"{API}/files/000_ea5525b80525cb07.txt"), ("PUT", "/admin/documents/upload/a.txt"),
                         ("PUT", f"{API}/catalog/000_ea5525b80525cb07.txt")):  # fmt: skip
        assert anyone.request(method, path, content=b"x").status_code == 401, path
        if method != "GET":
            refused = admin.client.request(method, path, content=b"x")  # signed in, no CSRF token
            assert refused.status_code == 403 and "CSRF" in refused.json()["detail"], path
            wrong = admin.client.request(method, path, content=b"x", headers={CSRF_HEADER: "0" * 64})
            assert wrong.status_code == 403
    assert (admin.bot.settings.kb_dir / "000_ea5525b80525cb07.txt").exists()
    assert not (admin.bot.settings.kb_dir / "a.txt").exists()


def test_the_list_shows_each_document_with_its_chunks_and_the_served_version(admin: Console) -> None:
    found = listing(admin)
    assert found["serving"] == admin.bot.served_version and found["published_at"] is not None
    documents = {d["path"]: d for d in found["documents"]}
    assert set(documents) == {p.name for p in KB.glob("*.txt")}
    chunks = admin.bot.load().knowledge.chunks.values()
    for path, document in documents.items():
        assert document["status"] == "indexed" and document["title"] and document["kind"]
        assert document["chunks"] == sum(1 for c in chunks if c.source == path) > 0
    assert found["upload_types"] == [".docx", ".html", ".md", ".pdf", ".txt"]


def test_uploads_of_the_wrong_type_size_or_content_are_refused_and_leave_nothing(admin: Console) -> None:
    kb = admin.bot.settings.kb_dir
    before = sorted(p.name for p in kb.iterdir())
    cases = {
        "tool.exe": (b"MZ...", 422, "unsupported file type .exe"),
        "notes": (b"text", 422, "unsupported file type (none)"),
        ".hidden.txt": (b"text", 422, "no leading dot"),
        "big.txt": ("长" * 20_000).encode(),  # 60 KB, over the 52 KB limit
        "empty.md": (b"  \n", 422, "empty file"),
        "fake.pdf": (b"%PDF-1.4 not really", 422, "fake.pdf cannot be ingested"),
        "fake.docx": (b"PK\x03\x04 not a zip", 422, "fake.docx cannot be ingested"),
        "binary.txt": (bytes(range(256)) * 4, 422, "binary.txt cannot be ingested"),
        # names the file system refuses, the table cannot show as they are, or the console cannot delete
        "a\x00b.md": (b"text", 422, "no control characters"),
        "a\nb.md": (b"text", 422, "no control characters"),
        "evil\u202edm.txt": (b"text", 422, "no control characters"),  # shown as "eviltxt.md"
        "数" * 100 + ".md": (b"text", 422, "at most 200 bytes"),  # 200 characters, 303 bytes
        " .md": (b"text", 422, "not a file name"),
    }
    for name, case in cases.items():
        content, status, words = case if isinstance(case, tuple) else (case, 413, "larger than")
        response = upload(admin, name, content)
        assert response.status_code == status, (name, response.text)
        assert words in response.json()["detail"], (name, response.text)
    chunked = upload(admin, "stream.txt", iter([b"a" * 40_000, b"b" * 40_000]))  # no length declared
    assert chunked.status_code == 413 and "larger than the 0.05 MB limit" in chunked.json()["detail"]
    assert sorted(p.name for p in kb.iterdir()) == before and leftovers(admin) == []


def test_an_upload_is_added_refused_twice_then_replaced_and_deleted(admin: Console) -> None:
    kb = admin.bot.settings.kb_dir
    added = upload(admin, "dolphin.md", NEW_DOC.encode())
    assert added.status_code == 201, added.text
    assert (kb / "dolphin.md").read_text(encoding="utf-8") == NEW_DOC
    assert row(admin, "dolphin.md")["status"] == "new" and row(admin, "dolphin.md")["chunks"] == 0
    again = upload(admin, "dolphin.md", b"# other\n\ntext")
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    replaced = admin.change(
        "PUT", "/admin/documents/upload/dolphin.md?replace=true", content=b"# other\n\ntext"
    )
    assert replaced.status_code == 201 and (kb / "dolphin.md").read_bytes() == b"# other\n\ntext"

    for outside in ("../pyproject.toml", "catalog.toml", "nope.txt", "%2e%2e/x.txt"):
        assert admin.change("DELETE", f"{API}/files/{outside}").status_code == 404, outside
    deleted = admin.change("DELETE", f"{API}/files/dolphin.md")
    assert deleted.status_code == 200 and not (kb / "dolphin.md").exists()
    served = "000_ea5525b80525cb07.txt"
    assert admin.change("DELETE", f"{API}/files/{served}").status_code == 200
    assert row(admin, served)["status"] == "deleted"  # still served until the next re-ingest
    assert leftovers(admin) == []


def test_a_catalog_edit_keeps_the_rest_of_the_file_and_refuses_a_bad_entry(admin: Console) -> None:
    catalog = admin.bot.settings.kb_dir / "catalog.toml"
    before = catalog.read_text(encoding="utf-8")
    source = "000_ea5525b80525cb07.txt"
    edit = {"title": "新标题", "kind": "failure-case", "title_en": "A new title", "subject": ""}
    saved = admin.change("PUT", f"{API}/catalog/{source}", json=edit)
    assert saved.status_code == 200, saved.text
    assert saved.json()["catalog"]["title"] == "新标题" and saved.json()["catalog"]["kind"] == "failure-case"
    after = catalog.read_text(encoding="utf-8")
    assert after.splitlines()[:5] == before.splitlines()[:5]  # the admin's comments stay
    assert row(admin, source)["catalog"]["title_en"] == "A new title"
    bad = admin.change("PUT", f"{API}/catalog/{source}", json={**edit, "kind": "anecdote"})
    assert bad.status_code == 422 and catalog.read_text(encoding="utf-8") == after
    assert admin.change("PUT", f"{API}/catalog/nope.txt", json=edit).status_code == 404


def test_a_re_ingest_waits_for_another_refuses_a_second_keeps_answering_and_switches_the_index(
    admin: Console,
) -> None:
    assert upload(admin, "dolphin.md", NEW_DOC.encode()).status_code == 201
    before = admin.bot.load().knowledge.version.name  # the server may still be loading it
    question = {"question": "海豚客服的工单多久没有回复会自动升级?"}
    with ingest_lock(admin.bot.settings.data_dir):  # another ingest (the CLI, another worker) is running
        started = admin.change("POST", f"{API}/ingest")
        assert started.status_code == 202 and started.json()["state"] == "running"
        second = admin.change("POST", f"{API}/ingest")
        assert second.status_code == 409 and "already running" in second.json()["detail"]
        for _ in range(600):  # until the run reaches the lock (on a busy machine, a while)
            job = admin.client.get(f"{API}/ingest").json()["job"]
            if job["phase"] == "waiting for another ingest":
                break
            time.sleep(0.05)
        assert job["phase"] == "waiting for another ingest" and job["state"] == "running"
        answered = httpx.post(f"{admin.url}/api/ask", json=question, timeout=30)
        assert answered.status_code == 200  # answering goes on from the version served
        assert "海豚" not in " ".join(answered.json()["topics"])
        assert admin.bot.served_version == before
    job = admin.wait_for_ingest()
    assert job["state"] == "done", job
    assert job["serving"] != before and job["serving"] == admin.bot.served_version
    assert job["report"]["embedded"] > 0
    new = row(admin, "dolphin.md")
    assert new["status"] == "indexed" and new["chunks"] > 0 and new["title"] == "海豚工单升级规则"
    assert listing(admin)["last_ingest"]["version"] == job["serving"]
    served = httpx.post(f"{admin.url}/api/ask", json=question, timeout=30).json()
    # The fake embedder scores too low to answer, but what the bot found nearest is the new document.
    assert served["topics"][0] == "海豚工单升级规则 › 一、升级时限"


def test_a_re_ingest_that_fails_says_why_and_the_served_index_stays(admin: Console) -> None:
    catalog = admin.bot.settings.kb_dir / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n[broken\n", encoding="utf-8")
    before = admin.bot.load().knowledge.version.name  # the server may still be loading it
    assert admin.change("POST", f"{API}/ingest").status_code == 202
    job = admin.wait_for_ingest()
    assert job["state"] == "failed" and "catalog.toml" in job["error"] and job["report"] is None
    assert admin.bot.served_version == before
    assert (
        httpx.post(f"{admin.url}/api/ask", json={"question": "CRM项目失败怎么办?"}, timeout=30).status_code
        == 200
    )
    again = admin.change("POST", f"{API}/ingest")  # a failed run does not block the next one
    assert again.status_code == 202 and again.json()["id"] == job["id"] + 1
    admin.wait_for_ingest()


def test_files_crmkb_ingest_skipped_are_listed_with_its_reasons(admin: Console) -> None:
    settings = admin.bot.settings
    (settings.kb_dir / "slides.rtf").write_text("{\\rtf1 not a type ingest reads}")
    assert row(admin, "slides.rtf")["status"] == "new"
    hashed = settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"backend": "hash"})}
    )
    result = invoke(services_for(hashed), "ingest", "--json")
    assert result.exit_code == 0, result.stderr
    found = listing(admin)
    assert found["skipped"] == [{"file": "slides.rtf", "reason": "unsupported file type .rtf"}]
    assert found["last_ingest"]["by"] == "cli"
    assert row(admin, "slides.rtf")["status"] == "skipped"
