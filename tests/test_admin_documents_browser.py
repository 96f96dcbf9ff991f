"""The Documents page in a real browser (Debian's Chromium through Playwright, a real uvicorn on loopback):
upload (refused and accepted), re-ingest with its progress and the switch to the new index, skipped files
with their reasons, a catalog edit and a delete. Screenshots go to .data/test-artifacts/admin/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from crmkb.core.settings import Settings
from crmkb.ingest.lock import ingest_lock
from tests.support.admin import console, open_admin, private
from tests.test_admin_documents import NEW_DOC

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / ".data" / "test-artifacts" / "admin"


def test_an_admin_uploads_re_ingests_and_the_server_serves_the_new_document(
    admin_browser: Browser, hash_index: Settings, tmp_path: Path
) -> None:
    settings = private(hash_index, tmp_path)
    (settings.kb_dir / "slides.rtf").write_text("{\\rtf1 not a type ingest reads}")  # dropped in by hand
    (tmp_path / "dolphin.md").write_text(NEW_DOC, encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    dialogs: list[str] = []
    with console(settings) as admin:
        page = open_admin(admin_browser, admin.url, "documents", dialogs)
        hook = page.get_by_test_id
        rows = hook("doc-row")
        expect(rows).to_have_count(6)  # the five articles and the .rtf
        expect(hook("docs-serving")).to_contain_text(f"Serving {admin.bot.served_version}")
        expect(rows.filter(has_text="slides.rtf").get_by_test_id("doc-status")).to_have_text("new: re-ingest")

        hook("upload-file").set_input_files(str(tmp_path / "broken.pdf"))
        hook("upload-button").click()
        expect(hook("admin-status")).to_contain_text("broken.pdf cannot be ingested")
        expect(rows).to_have_count(6)

        hook("upload-file").set_input_files(str(tmp_path / "dolphin.md"))
        hook("upload-button").click()
        expect(hook("admin-status")).to_have_text("dolphin.md added to kb/; re-ingest to answer from it")
        dolphin = rows.filter(has_text="dolphin.md")
        expect(dolphin.get_by_test_id("doc-status")).to_have_text("new: re-ingest")
        expect(dolphin.get_by_test_id("doc-chunks")).to_have_text("0")
        page.screenshot(path=str(ARTIFACTS / "documents-uploaded.png"), full_page=True)

        before = admin.bot.load().knowledge.version.name  # the server may still be loading it
        with ingest_lock(settings.data_dir):  # another ingest runs: the page shows this one waiting
            hook("ingest-start").click()
            expect(hook("ingest-state")).to_have_text("waiting for another ingest")
            expect(hook("ingest-progress")).to_be_visible()
            expect(hook("ingest-start")).to_be_disabled()
            page.screenshot(path=str(ARTIFACTS / "documents-waiting.png"), full_page=True)
            assert admin.bot.served_version == before
        expect(hook("ingest-state")).to_contain_text("Done in", timeout=60_000)
        expect(hook("ingest-progress")).to_be_hidden()
        assert admin.bot.served_version != before
        expect(hook("ingest-state")).to_contain_text(f"serving {admin.bot.served_version}")
        expect(hook("ingest-start")).to_be_enabled()
        expect(dolphin.get_by_test_id("doc-status")).to_have_text("indexed")
        expect(dolphin.get_by_test_id("doc-title")).to_have_text("海豚工单升级规则")
        expect(dolphin.get_by_test_id("doc-chunks")).not_to_have_text("0")
        expect(hook("skipped-file")).to_have_text("slides.rtf unsupported file type .rtf")
        expect(rows.filter(has_text="slides.rtf").get_by_test_id("doc-status")).to_contain_text("skipped")
        page.screenshot(path=str(ARTIFACTS / "documents-ingested.png"), full_page=True)

        dolphin.get_by_test_id("doc-catalog").click()
        editor = hook("catalog-editor")
        editor.get_by_test_id("catalog-title-en").fill("Dolphin ticket escalation")
        editor.get_by_test_id("catalog-kind").select_option("failure-case")
        page.screenshot(path=str(ARTIFACTS / "documents-catalog.png"), full_page=True)
        editor.get_by_test_id("catalog-save").click()
        expect(hook("admin-status")).to_contain_text("catalog.toml saved")
        assert 'title_en = "Dolphin ticket escalation"' in (settings.kb_dir / "catalog.toml").read_text(
            "utf-8"
        )

        delete = dolphin.get_by_test_id("doc-delete")
        delete.click()
        expect(delete).to_have_text("Click again to delete")
        assert (settings.kb_dir / "dolphin.md").exists()
        delete.click()
        expect(hook("admin-status")).to_contain_text("dolphin.md deleted from kb/")
        expect(dolphin.get_by_test_id("doc-status")).to_have_text("deleted: re-ingest")
        assert not (settings.kb_dir / "dolphin.md").exists()
        assert dialogs == []
        page.context.close()
