"""One import root, installed: the wheel holds ``crmkb`` with its data and nothing else at the top level, and
answers a cited question from a fresh virtual environment; state defaults to no folder inside the install."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from crmkb.core.settings import get_settings
from crmkb.ingest import artifacts
from tests.conftest import KB, ROOT
from tests.support.typecheck import package_dirs

ARTICLE = "003_80d4f176f4050b3e.txt"  # the smallest article: one document keeps the real model's work short
QUESTION = "CRM实施中管理层面有哪些风险?"  # golden hans-50, answered from ARTICLE
DATA = [
    "crmkb/web/static/widget.js",
    "crmkb/web/static/demo.html",
    "crmkb/prompts/system.md",
    "crmkb/prompts/user.md",
    "crmkb/prompts/catalog_titles.md",
    "crmkb/evals/golden.jsonl",
    "crmkb/evals/paraphrases.jsonl",
    "crmkb/evals/thresholds.toml",
]
# Run by the installed interpreter: where each package and data file comes from, through the code's own readers.
PROBE = """
import importlib.util, json
import crmkb, crmkb.bot.service, crmkb.ingest.pipeline, crmkb.evals.runner, crmkb.prompts
from crmkb.bot.prompts import chat_prompt, titles_prompt
from crmkb.evals.curated_calibration import paraphrase_pairs
from crmkb.evals.dataset import load_dataset
from crmkb.evals.metrics import load_thresholds
from crmkb.web.routes.widget import static_file
chat_prompt(), titles_prompt()
print(json.dumps({
    "modules": [m.__file__ for m in (crmkb, crmkb.bot.service, crmkb.ingest.pipeline, crmkb.evals.runner,
                                     crmkb.prompts)],
    "widget": str(static_file("widget.js")),
    "questions": len(load_dataset()), "paraphrases": len(paraphrase_pairs()), "thresholds": len(load_thresholds()),
    "old_names": [n for n in ("bot", "ingest", "evals", "prompts") if importlib.util.find_spec(n)],
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree's wheel, built from a copy: setuptools builds in place, and a stale build/ of the
    checkout could slip a deleted module into it."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    for name in ("pyproject.toml", "README.md", *package_dirs().values()):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dist)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (built,) = dist.glob("crmkb-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_crmkb_and_its_data_only(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {name.split("/")[0] for name in names} == {"crmkb", wheel.name.split("-py")[0] + ".dist-info"}
    assert not [n for n in DATA if n not in names]
    checkout = [
        f"{package.replace('.', '/')}/{path.relative_to(ROOT / folder).as_posix()}"
        for package, folder in package_dirs().items()
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
        and (path.suffix == ".py" or path.parent.name in ("static", "prompts"))
    ]  # fmt: skip
    assert not [n for n in checkout if n not in names], "missing from [tool.setuptools] packages?"


@pytest.mark.slow
def test_an_installed_wheel_answers_with_citations(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    # The dependencies come from this environment (after installing, so pip never sees its crmkb); its .pth
    # files, the editable install's import hook among them, are not run from a folder a .pth names.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "crmkb-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    kb, data, cwd = tmp_path / "kb", tmp_path / "data", tmp_path / "elsewhere"
    kb.mkdir()
    cwd.mkdir()
    shutil.copy2(KB / ARTICLE, kb / ARTICLE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMKB_") and k != "PYTHONPATH"}
    env |= {"CRMKB_DATA_DIR": str(data), "CRMKB_KB_DIR": str(kb), "XDG_DATA_HOME": str(tmp_path / "xdg")}

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    probe = json.loads(run(str(python), "-c", PROBE))
    assert all(Path(f).is_relative_to(site) for f in [*probe["modules"], probe["widget"]]), probe
    assert probe["questions"] > 400 and probe["paraphrases"] >= 40 and probe["thresholds"] > 10
    assert probe["old_names"] == []

    crmkb = str(venv / "bin" / "crmkb")
    report = json.loads(run(crmkb, "ingest", "--json"))
    assert report["published"] and report["documents"] == 1, report
    answer = json.loads(run(crmkb, "ask", QUESTION, "--json"))
    assert answer["answerable"] and answer["citations"], answer
    cleaned = artifacts.read_documents(data, report["version"])[ARTICLE].text
    for citation in answer["citations"]:
        assert citation["source"] == ARTICLE and f"[{citation['n']}]" in answer["answer"]
        assert cleaned[citation["start"] : citation["end"]] == citation["quote"]
    # State went where it was told: nothing in the per-user folder, nothing added to the installed package.
    assert not (tmp_path / "xdg").exists()
    installed = {
        path.relative_to(site).as_posix()
        for path in (Path(site) / "crmkb").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert installed == {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("crmkb/")}


def test_state_defaults_to_a_per_user_folder_and_documents_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    settings = get_settings()
    assert settings.data_dir == tmp_path / "xdg" / "crmkb"
    assert settings.kb_dir == tmp_path / "kb"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: only an absolute path counts
    assert get_settings().data_dir == Path.home() / ".local" / "share" / "crmkb"
