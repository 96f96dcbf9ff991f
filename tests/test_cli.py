"""The ``crmkb`` command: in-process with services on the ``hash`` embedder (answering needs the real
model: the session's bot, loaded once), settings errors through the environment, and the installed script
in a process of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkb.bot.service import Bot
from crmkb.cli.app import app
from crmkb.cli.services import Services
from crmkb.core.settings import Settings
from crmkb.ingest import artifacts
from tests.conftest import KB
from tests.support.cli import hash_settings, invoke, run_crmkb, services_for, serving_bot

runner = CliRunner()


def crmkb(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The CLI in-process with the production services, configured by ``env``."""
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    return services_for(hash_settings(tmp_path_factory.mktemp("data"), KB))


def run(services: Services, *args: str) -> tuple[int, str, str]:
    result = invoke(services, *args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def first_ingest(services: Services) -> dict[str, object]:
    code, stdout, stderr = run(services, "ingest", "--json")
    assert code == 0, stderr
    report: dict[str, object] = json.loads(stdout)
    return report


def test_ingest_json_report(first_ingest: dict[str, object]) -> None:
    for key in ("documents", "chunks", "embedded", "unchanged", "removed", "skipped", "seconds"):
        assert key in first_ingest
    assert first_ingest["documents"] == 5
    assert first_ingest["embedded"] == first_ingest["chunks"]
    assert first_ingest["skipped"] == []


def test_second_ingest_embeds_nothing(services: Services, first_ingest: dict[str, object]) -> None:
    code, stdout, _ = run(services, "ingest", "--json")
    report = json.loads(stdout)
    assert code == 0
    assert report["embedded"] == 0
    assert report["unchanged"] == first_ingest["chunks"]


def test_chunks_json_lists_what_the_bot_knows(services: Services, first_ingest: dict[str, object]) -> None:
    code, stdout, _ = run(services, "chunks", "--json")
    chunks = json.loads(stdout)
    assert code == 0 and len(chunks) == first_ingest["chunks"]
    for chunk in chunks:
        assert {"id", "source", "title", "section", "kind", "start", "end", "text"} <= chunk.keys()
    code, stdout, _ = run(services, "chunks", "--source", "003_80d4f176f4050b3e.txt", "--json")
    only = json.loads(stdout)
    assert only and {c["source"] for c in only} == {"003_80d4f176f4050b3e.txt"}
    code, _, stderr = run(services, "chunks", "--source", "nope.txt")
    assert code == 1 and "no chunks" in stderr


def test_search_prints_each_passage_whole_under_its_header(
    services: Services, first_ingest: dict[str, object]
) -> None:
    """A passage's own lines ("2、…", "[1]") are indented under its header and printed as written: none
    reads as a further result, and rich does not take a bracket for markup."""
    code, stdout, _ = run(services, "search", "待解决问题 特殊流程", "--k", "3", "--json")
    passages = json.loads(stdout)
    code, stdout, stderr = run(services, "search", "待解决问题 特殊流程", "--k", "3")
    assert code == 0, stderr
    headers = [line for line in stdout.splitlines() if not line.startswith(" ")]
    assert [h.split(".")[0] for h in headers] == ["1", "2", "3"]
    for passage in passages:
        for line in passage["text"].splitlines():
            assert f"   {line}" in stdout.splitlines()
    assert any(len(p["text"].splitlines()) > 1 for p in passages)


@pytest.mark.slow
def test_search_finds_chinese_passages_for_three_scripts(real_index: Settings, real_bot: Bot) -> None:
    services = services_for(real_index, real_bot.embeddings)  # the session's model, loaded once
    for question, source in (
        ("企业实施CRM系统前要做哪些准备工作?", "002_9683dd2b55d1bf3e.txt"),
        ("CRM實施中有哪些技術層面的風險?", "003_80d4f176f4050b3e.txt"),
        ("What should be settled before the implementation consultant leaves?", "001_4998ac562ddf94fb.txt"),
    ):
        code, stdout, _ = run(services, "search", question, "--k", "5", "--json")
        hits = json.loads(stdout)
        assert code == 0
        assert source in [h["source"] for h in hits], (question, [h["source"] for h in hits])
        assert all(0 < h["score"] <= 1.0001 for h in hits)


def test_human_summary(services: Services, first_ingest: dict[str, object]) -> None:
    code, stdout, _ = run(services, "ingest")
    assert code == 0
    assert "index already up to date" in stdout
    assert "embedded" in stdout and "unchanged" in stdout


def test_a_repair_says_what_it_rewrote(tmp_path: Path) -> None:
    """An ingest that only rewrites a damaged file of the version the store serves says so, not that the
    index was already up to date."""
    services = services_for(hash_settings(tmp_path, KB))
    version = json.loads(run(services, "ingest", "--json")[1])["version"]
    document = artifacts.index_root(tmp_path) / version / artifacts.document_file("000_ea5525b80525cb07.txt")
    document.write_text("")

    code, stdout, _ = run(services, "ingest")
    assert code == 0
    assert f"repaired the files of {version}" in stdout and "index already up to date" not in stdout
    assert document.read_text()  # and the file is whole again
    assert "index already up to date" in run(services, "ingest")[1]


def test_installed_script_ingests_and_searches_with_the_hash_backend(tmp_path: Path) -> None:
    """The index commands' production wiring: settings and embedder from the environment alone."""
    env = {"CRMKB_EMBEDDING_BACKEND": "hash", "CRMKB_DATA_DIR": str(tmp_path), "CRMKB_KB_DIR": str(KB)}
    done = run_crmkb("ingest", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["embedded"] > 0
    done = run_crmkb("search", "实施顾问离开前企业要做好哪些收尾工作", "--k", "3", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert "001_4998ac562ddf94fb.txt" in [h["source"] for h in json.loads(done.stdout)]
    # bytes that are not UTF-8 (a terminal set to another encoding): one clear line, no traceback
    undecoded = b"abc\xff\xfe \xe9\xa1\xb9\xe7\x9b\xae".decode("utf-8", "surrogateescape")
    for args in (("search", undecoded), ("ask", undecoded)):
        done = run_crmkb(*args, env=env)
        assert done.returncode == 1 and "not valid UTF-8" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "UnicodeEncodeError" not in done.stderr


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
def test_ask_json_and_readable(real_bot: Bot) -> None:
    services = serving_bot(real_bot)
    code, stdout, _ = run(services, "ask", "CRM项目团队应该包括哪些人?", "--json")
    body = json.loads(stdout)
    assert code == 0 and body["answerable"] and body["citations"]
    code, stdout, _ = run(services, "ask", "CRM项目团队应该包括哪些人?")
    assert code == 0 and "[1]" in stdout and "002_9683dd2b55d1bf3e.txt" in stdout
    assert "(最佳实践; 002_9683dd2b55d1bf3e.txt" in stdout  # the kind in the asker's words
    code, _, stderr = run(services, "ask", "  ")
    assert code == 1 and "the question is empty" in stderr


@pytest.mark.slow
def test_chat_follow_up(real_bot: Bot) -> None:
    result = invoke(serving_bot(real_bot), "chat", input="CRM项目团队应该包括哪些人?\n为什么?\n\n")
    assert result.exit_code == 0, result.stderr
    answers = result.stdout.split("? ")
    assert len(answers) >= 3
    assert "知识库中没有" not in answers[2]  # the follow-up was answered using the first question


@pytest.mark.slow
def test_chat_goes_on_after_a_question_it_cannot_take(real_bot: Bot) -> None:
    too_long = "项目" * 1500
    result = invoke(serving_bot(real_bot), "chat", input=f"{too_long}\nCRM项目团队应该包括哪些人?\n\n")
    assert result.exit_code == 0, result.stderr
    assert "characters long" in result.stderr
    assert "[1]" in result.stdout  # the next question was answered


def _one_note_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "note.txt").write_text("上线前的准备\n上线前要完成数据迁移演练和用户培训。\n", encoding="utf-8")
    return kb


def test_installed_script_asks_with_the_real_model_on_a_fresh_data_dir(tmp_path: Path) -> None:
    """The answering commands' production wiring: the configured model, the index built on first use."""
    env = {"CRMKB_KB_DIR": str(_one_note_kb(tmp_path)), "CRMKB_DATA_DIR": str(tmp_path / "d")}
    done = run_crmkb("ask", "上线前要完成哪些准备?", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["citations"][0]["source"] == "note.txt"
    assert run_crmkb("chunks", "--json", env=env).returncode == 0  # the ask left an index behind


def _golden_sample(folder: Path) -> tuple[Path, Path]:
    """A few golden questions of both splits, and a gate on citation validity alone (a handful of questions
    cannot meet the set's thresholds)."""
    lines = (KB.parent / "evals" / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    sample = [line for line in lines if '"split": "test"' in line][:3] + [
        line for line in lines if '"split": "dev"' in line
    ][:3]
    dataset, thresholds = folder / "sample.jsonl", folder / "gate.toml"
    dataset.write_text("\n".join(sample) + "\n", encoding="utf-8")
    thresholds.write_text("citation_validity = 1.0\n", encoding="utf-8")
    return dataset, thresholds


@pytest.mark.slow
def test_eval_reports_both_splits_and_gates_on_the_thresholds(real_bot: Bot, tmp_path: Path) -> None:
    dataset, thresholds = _golden_sample(tmp_path)
    report = tmp_path / "out" / "report.json"
    args = ("eval", "--dataset", str(dataset), "--thresholds", str(thresholds), "--json", str(report))
    code, stdout, stderr = run(serving_bot(real_bot), *args)
    assert code == 0, stderr
    assert "of 6 questions have a problem; all thresholds met" in stdout
    written = json.loads(report.read_text(encoding="utf-8"))
    assert {"dev", "test"} <= written["metrics"].keys() and written["gate_failures"] == []
    assert report.with_suffix(".md").is_file()
    thresholds.write_text("hit_at_1 = 1.01\n", encoding="utf-8")
    code, _, stderr = run(serving_bot(real_bot), *args)
    assert code == 1 and "gate:" in stderr and "hit_at_1" in stderr


def test_eval_refuses_an_unknown_mode_and_a_broken_dataset(tmp_path: Path) -> None:
    services = services_for(hash_settings(tmp_path / "d", KB))
    code, _, stderr = run(services, "eval", "--mode", "fast")
    assert code == 1 and "--mode must be extractive or llm" in stderr
    (tmp_path / "bad.jsonl").write_text("{not json\n", encoding="utf-8")
    code, _, stderr = run(services, "eval", "--dataset", str(tmp_path / "bad.jsonl"))
    assert code == 1 and "bad.jsonl:1:" in stderr
    assert not (tmp_path / "d").exists()  # refused before anything was loaded


def test_installed_script_evaluates_with_the_hash_backend(tmp_path: Path) -> None:
    """The eval command's production wiring: it builds the index it measures on a fresh data dir."""
    dataset, thresholds = _golden_sample(tmp_path)
    thresholds.write_text("", encoding="utf-8")  # the hash embedder answers nothing: no citation to gate on
    env = {"CRMKB_EMBEDDING_BACKEND": "hash", "CRMKB_DATA_DIR": str(tmp_path / "d"), "CRMKB_KB_DIR": str(KB)}
    done = run_crmkb("eval", "--dataset", str(dataset), "--thresholds", str(thresholds), env=env)
    assert done.returncode == 0, done.stderr
    assert "of 6 questions have a problem; all thresholds met" in done.stdout
