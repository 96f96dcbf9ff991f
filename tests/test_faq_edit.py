"""Editing published curated answers over real HTTP (uvicorn on loopback): admin sign-in (token, session
cookie, expiry, CSRF, origin, the wrong-secret limit), the check, saving (atomic, served at once, refused
when flagged, refused when stale), unpublishing, and `faq publish`'s check of quotes against the sources."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from crmkb.bot.curated import PUBLISHED, publish, published
from crmkb.bot.schemas import Answer
from crmkb.bot.service import Bot
from crmkb.core.settings import Settings, SettingsError, get_settings
from crmkb.faq.entries import Entry
from crmkb.faq.review import review
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from crmkb.web.admin_auth import COOKIE, CSRF_HEADER, AdminAuth
from crmkb.web.app import create_app
from crmkb.web.guards import Guards
from crmkb.web.loopback import serving
from tests.conftest import KB
from tests.support.faq_edit import (
    BUDGET,
    COST,
    GROUNDED,
    INVENTED,
    QUESTION,
    TOKEN,
    cited,
    publish_budget_answer,
    sign_in,
    with_admin,
)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real KB indexed with the fake embedder: curated answers match questions by their words first."""
    settings = get_settings(data_dir=tmp_path_factory.mktemp("edit") / "index", kb_dir=KB)
    run_ingest(settings, embeddings=HashEmbeddings())
    return settings


@dataclass
class Editor:
    client: httpx.Client  # keeps the session cookie
    bot: Bot
    published: Answer
    url: str
    csrf: str = ""  # the session's, once signed in

    @property
    def file(self) -> Path:
        return self.bot.settings.data_dir / PUBLISHED

    def entry(self) -> dict[str, Any]:
        entries = self.client.get("/api/admin/curated").json()
        assert len(entries) == 1
        found: dict[str, Any] = entries[0]
        return found

    def change(
        self, method: str, entry_id: str, body: dict[str, Any] | None = None, check: bool = False
    ) -> httpx.Response:
        """A change to a published entry as the page sends it, with the session's CSRF token."""
        path = f"/api/admin/curated/{entry_id}" + ("/check" if check else "")
        return self.client.request(method, path, json=body, headers={CSRF_HEADER: self.csrf})

    def ask(self) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/api/ask", json={"question": QUESTION}, timeout=30)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        return answer


@contextmanager
def editor(indexed: Settings, tmp_path: Path, **server: object) -> Iterator[Editor]:
    """A server with admin sign-in on, over a private copy of the index with the budget answer published."""
    data = tmp_path / "data"
    shutil.copytree(indexed.data_dir, data)
    settings = with_admin(indexed.model_copy(update={"data_dir": data}), **server)
    bot = Bot(settings, embeddings=HashEmbeddings())
    published = publish_budget_answer(bot)
    with serving(create_app(settings, bot=bot)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield Editor(client, bot, published, url)


@pytest.fixture
def ed(indexed: Settings, tmp_path: Path) -> Iterator[Editor]:
    """Signed in to a server with the budget answer published."""
    with editor(indexed, tmp_path) as signed_in:
        signed_in.csrf = sign_in(signed_in.client)
        yield signed_in


def test_the_admin_token_setting_refuses_a_weak_token_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMKB_SERVER_ADMIN_TOKEN", "changethis")
    with pytest.raises(SettingsError) as refused:
        get_settings()
    assert "CRMKB_SERVER_ADMIN_TOKEN" in str(refused.value) and "changethis" not in str(refused.value)
    monkeypatch.setenv("CRMKB_SERVER_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("CRMKB_SERVER_ADMIN_SESSION_S", "600")
    server = get_settings().server
    assert server.admin_token is not None and server.admin_token.get_secret_value() == TOKEN
    assert server.admin_session_s == 600 and TOKEN not in repr(server)
    monkeypatch.setenv("CRMKB_SERVER_ADMIN_TOKEN", "")  # set but empty: off, as unset
    assert get_settings().server.admin_token is None


def test_without_an_admin_token_editing_is_off_and_says_how_to_turn_it_on(
    indexed: Settings, tmp_path: Path
) -> None:
    with editor(indexed, tmp_path, admin_token=None) as ed:
        state = ed.client.get("/api/admin/session").json()
        assert state["enabled"] is False and "CRMKB_SERVER_ADMIN_TOKEN" in state["detail"]
        for response in (ed.client.post("/api/admin/session", json={"token": TOKEN}),
                         ed.client.get("/api/admin/curated")):  # fmt: skip
            assert response.status_code == 503 and "CRMKB_SERVER_ADMIN_TOKEN" in response.json()["detail"]
        assert COOKIE not in ed.client.cookies


def test_sign_in_gives_a_signed_httponly_strict_expiring_cookie(indexed: Settings, tmp_path: Path) -> None:
    with editor(indexed, tmp_path, admin_session_s=3600) as ed:
        assert ed.client.get("/api/admin/curated").status_code == 401  # no session
        wrong = ed.client.post("/api/admin/session", json={"token": TOKEN[:-1] + "x"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong admin token"
        assert ed.client.post("/api/admin/session", json={"token": ""}).status_code == 401
        assert ed.client.post("/api/admin/session", json={}).status_code == 422  # the token is missing
        assert "set-cookie" not in wrong.headers and COOKIE not in ed.client.cookies

        right = ed.client.post("/api/admin/session", json={"token": TOKEN})
        assert right.status_code == 200
        cookie = right.headers["set-cookie"]
        for attribute in ("HttpOnly", "SameSite=strict", "Max-Age=3600", "Path=/"):
            assert attribute in cookie
        assert TOKEN not in cookie and TOKEN not in right.text
        state = ed.client.get("/api/admin/session").json()
        assert state["signed_in"] is True and state["csrf_token"] == right.json()["csrf_token"]
        assert [e["question"] for e in ed.client.get("/api/admin/curated").json()] == [QUESTION]

        assert ed.client.delete("/api/admin/session").status_code == 200  # sign out
        assert ed.client.get("/api/admin/curated").status_code == 401


def test_expired_forged_and_foreign_cookies_are_refused(indexed: Settings, tmp_path: Path) -> None:
    with editor(indexed, tmp_path) as ed:
        guards = Guards(ed.bot.settings.server, tmp_path)
        auth = AdminAuth(ed.bot.settings.server, guards)  # the server's key: the token is the same
        expired = auth.issue(expires=time.time() - 1)
        forged = auth.cookie_value(auth.issue(expires=time.time() - 1)).split(".")
        forged[1] = str(int(time.time()) + 3600)  # the expiry pushed out, the signature left as it was
        other = AdminAuth(
            with_admin(ed.bot.settings, admin_token=SecretStr("another-token-0123456789")).server, guards
        )
        for value, reason in ((auth.cookie_value(expired), "expired"), (".".join(forged), "not valid"),
                              (other.cookie_value(other.issue()), "not valid"), ("garbage", "not valid")):  # fmt: skip
            response = httpx.get(f"{ed.url}/api/admin/curated", cookies={COOKIE: value})
            assert response.status_code == 401 and reason in response.json()["detail"]
        valid = httpx.get(f"{ed.url}/api/admin/curated", cookies={COOKIE: auth.cookie_value(auth.issue())})
        assert valid.status_code == 200


def test_changes_need_the_sessions_csrf_token_and_this_origin(ed: Editor) -> None:
    csrf = ed.csrf
    entry = ed.entry()
    before = ed.file.read_bytes()
    save = {"answer": GROUNDED, "revision": entry["revision"]}
    path = f"/api/admin/curated/{entry['id']}"
    with httpx.Client(base_url=ed.url) as other:
        other_session = sign_in(other)
    for headers in ({}, {CSRF_HEADER: "0" * 64}, {CSRF_HEADER: other_session}):
        refused = ed.client.put(path, json=save, headers=headers)
        assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
        assert ed.client.delete(path, headers=headers).status_code == 403
    cross = ed.client.put(path, json=save, headers={CSRF_HEADER: csrf, "Origin": "https://evil.example"})
    assert cross.status_code == 403 and "cross-origin" in cross.json()["detail"]
    assert ed.file.read_bytes() == before
    same = ed.client.put(path, json=save, headers={CSRF_HEADER: csrf, "Origin": ed.url})
    assert same.status_code == 200, same.text


def test_wrong_admin_tokens_count_with_wrong_api_keys(indexed: Settings, tmp_path: Path) -> None:
    """One limit for every secret an address guesses: past it, even the right token gets 429."""
    with editor(indexed, tmp_path, api_key=SecretStr("api-key"), auth_failures=3) as ed:
        assert (
            httpx.get(f"{ed.url}/api/sources/x.txt?start=0&end=1", headers={"X-API-Key": "guess"}).status_code
            == 401
        )
        for _ in range(2):
            assert ed.client.post("/api/admin/session", json={"token": "guess"}).status_code == 401
        blocked = ed.client.post("/api/admin/session", json={"token": TOKEN})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
        assert COOKIE not in ed.client.cookies


def test_list_and_fetch_show_question_answer_and_citations(ed: Editor) -> None:
    entry = ed.entry()
    assert entry["answer"] == ed.published.answer
    citations = entry["citations"]
    assert isinstance(citations, list) and [c["quote"] for c in citations] == [BUDGET, COST]
    assert citations[0]["title"] == "企业实施CRM系统项目要做哪些准备" and citations[0]["section"]
    # The editor shows these as they are: the articles' own titles, whatever the answer's language.
    assert [c["label"] for c in citations] == [f"{c['title']} › {c['section']}" for c in citations]
    assert citations[0]["label"] == "企业实施CRM系统项目要做哪些准备 › 四、CRM执行计划"
    assert {c["kind_label"] for c in citations} == {"最佳实践"}
    assert ed.client.get(f"/api/admin/curated/{entry['id']}").json() == entry
    assert ed.client.get("/api/admin/curated/0123456789abcdef").status_code == 404


def test_the_check_names_each_failing_claim_and_quote_and_writes_nothing(ed: Editor) -> None:
    entry = ed.entry()
    before = ed.file.read_bytes()
    edit = {"answer": f"{GROUNDED}\n{INVENTED}[1]\n项目要成功。", "quotes": {"2": "成本是最不重要的因素。"}}
    report = ed.change("POST", entry["id"], edit, check=True)
    assert report.status_code == 200
    body = report.json()
    assert body["ok"] is False
    assert [(c["ok"], c["markers"]) for c in body["claims"]] == [(True, [1]), (False, [1]), (False, [])]
    assert body["claims"][1]["problem"] == f"not supported by [1]: {INVENTED}"
    assert body["claims"][2]["problem"] == "uncited: 项目要成功。"
    quotes = {q["n"]: q for q in body["quotes"]}
    assert quotes[1]["ok"] and not quotes[2]["ok"] and "is not in" in quotes[2]["problem"]
    assert body["check"].count(";") == 2  # the one line `faq publish` prints
    assert ed.file.read_bytes() == before
    unknown = ed.change("POST", entry["id"], {"answer": "x[1]", "quotes": {"7": "y"}}, check=True)
    assert unknown.status_code == 422 and "no citation [7]" in unknown.json()["detail"]


def test_a_grounded_edit_is_saved_and_served_at_once(ed: Editor) -> None:
    entry = ed.entry()
    assert ed.ask()["answer"] == f"{COST}[1]{BUDGET}[2]"  # as published, renumbered as cited
    trimmed = BUDGET.split(",")[0]  # a quote cut to the clause the edit needs, still the source's words
    edit = {"answer": GROUNDED, "quotes": {"1": trimmed}, "revision": entry["revision"]}

    answers: list[tuple[int, object]] = []
    stop = threading.Event()

    def keep_asking() -> None:  # an asker while the file is replaced: served throughout, never torn
        while not stop.is_set():
            response = httpx.post(f"{ed.url}/api/ask", json={"question": QUESTION}, timeout=30)
            answers.append((response.status_code, response.json().get("curated")))

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        saved = ed.change("PUT", entry["id"], edit)
        time.sleep(0.3)
    finally:
        stop.set()
        asker.join()
    assert saved.status_code == 200, saved.text
    assert saved.json()["check"]["ok"] is True and saved.json()["entry"]["revision"] != entry["revision"]
    assert answers and set(answers) == {(200, True)}

    served = ed.ask()  # the same process, no restart: the edit, cited [1], its quote re-anchored
    assert served["curated"] is True and served["answer"] == GROUNDED
    [citation] = served["citations"]
    document = ed.bot.load().knowledge.documents[citation["source"]].text
    assert citation["quote"] == trimmed == document[citation["start"] : citation["end"]]
    restarted = Bot(ed.bot.settings, embeddings=HashEmbeddings())  # another worker process reads the same
    assert restarted.ask(QUESTION).answer == GROUNDED


def test_a_flagged_edit_is_refused_and_the_file_stays_byte_for_byte(ed: Editor) -> None:
    entry = ed.entry()
    before = ed.file.read_bytes()
    refused = ed.change(
        "PUT", entry["id"], {"answer": f"{GROUNDED}{INVENTED}[1]", "revision": entry["revision"]}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == f"not saved: not supported by [1]: {INVENTED}"
    assert [c["ok"] for c in refused.json()["check"]["claims"]] == [True, False]
    moved = {"answer": GROUNDED, "quotes": {"1": "软件成本占一半。"}, "revision": entry["revision"]}
    refused = ed.change("PUT", entry["id"], moved)
    assert refused.status_code == 422 and "is not in" in refused.json()["detail"]
    assert ed.file.read_bytes() == before
    assert ed.ask()["answer"] != GROUNDED and ed.entry() == entry


def test_a_save_the_disk_refuses_leaves_the_published_file_whole(
    ed: Editor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fails after the new file's bytes are written (a crash at that point is the same): the
    published file is the old one, byte for byte, no temporary file is left, and the old answer is served."""
    entry = ed.entry()
    before = ed.file.read_bytes()
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:  # nothing but the save writes a file meanwhile
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    failed = ed.change("PUT", entry["id"], {"answer": GROUNDED, "revision": entry["revision"]})
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert failed.status_code == 503 and "No space left on device" in failed.json()["detail"]
    assert ed.file.read_bytes() == before
    assert sorted(p.name for p in ed.file.parent.iterdir() if not p.name.endswith(".lock")) == [ed.file.name]
    assert ed.ask()["answer"] == f"{COST}[1]{BUDGET}[2]"


def test_a_save_based_on_an_older_revision_is_a_conflict(ed: Editor) -> None:
    entry = ed.entry()
    assert (
        ed.change("PUT", entry["id"], {"answer": GROUNDED, "revision": entry["revision"]}).status_code == 200
    )
    after_first = ed.file.read_bytes()
    stale = {"answer": f"{COST}[2]", "revision": entry["revision"]}  # a second trainer opened it before
    conflict = ed.change("PUT", entry["id"], stale)
    assert conflict.status_code == 409 and "changed since it was opened" in conflict.json()["detail"]
    assert ed.file.read_bytes() == after_first


def test_unpublish_one_entry(ed: Editor) -> None:
    other = ed.published.model_copy(update={"question": "成本是最主要的因素吗?", "answer": f"{COST}[2]"})
    publish(ed.bot.settings.data_dir, ed.bot.embeddings, [other])
    entries = ed.client.get("/api/admin/curated").json()
    budget = next(e for e in entries if e["question"] == QUESTION)
    assert ed.change("DELETE", budget["id"]).status_code == 200
    assert [e["question"] for e in ed.client.get("/api/admin/curated").json()] == [other.question]
    assert ed.ask()["curated"] is False
    assert ed.change("DELETE", budget["id"]).status_code == 404


def test_the_check_re_anchors_a_quote_and_flags_one_not_in_the_source(indexed: Settings) -> None:
    """The check `faq publish` runs: a quote is found in its source even where its offsets no longer point
    (the article was edited and ingested again), and refused when the source does not hold it."""
    knowledge = Bot(indexed, embeddings=HashEmbeddings()).load().knowledge
    citations = [cited(knowledge, 1, BUDGET).model_dump(), cited(knowledge, 2, COST).model_dump()]
    where = citations[0]["start"]
    citations[0].update(start=0, end=len(BUDGET))  # offsets from an older version of the article
    citations[1]["quote"] = "成本无关紧要。"
    entry = Entry(
        id="1", question=QUESTION, status="approved", answer=f"{COST}[2]{BUDGET}[1]", citations=citations
    )
    result = review(entry, None, knowledge)
    assert [q.problem == "" for q in result.quotes] == [True, False]
    assert entry.citations[0]["start"] == where and entry.citations[0]["end"] == where + len(BUDGET)
    assert entry.check.startswith("quote [2] is not in 企业实施CRM系统项目要做哪些准备")


def test_publishers_at_once_lose_none_of_each_others_entries(indexed: Settings, tmp_path: Path) -> None:
    """The CLI and the page's workers publish into one file: each reads, changes and writes it under a lock."""
    knowledge = Bot(indexed, embeddings=HashEmbeddings()).load().knowledge
    citation = cited(knowledge, 1, COST)
    embeddings = HashEmbeddings()

    def publisher(name: str) -> None:
        for i in range(15):
            answer = Answer(question=f"{name}问题{i}?", answer=f"{COST}[1]", answerable=True, language="zh-Hans",
                            mode="extractive", citations=[citation])  # fmt: skip
            publish(tmp_path, embeddings, [answer])

    threads = [threading.Thread(target=publisher, args=(name,)) for name in ("甲", "乙", "丙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(published(tmp_path)) == 45
