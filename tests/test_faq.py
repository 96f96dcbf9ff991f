"""The FAQ builder on the real KB: suggestions, every format, determinism, the review round-trip, curated
answers published and unpublished, bad input, and the trainer's endpoint."""

from __future__ import annotations

import codecs
import csv
import io
import json
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crmkb.bot.prompts import CITATION
from crmkb.bot.service import Bot
from crmkb.cli.services import Services
from crmkb.core.settings import ServerSettings, get_settings
from crmkb.faq.formats import NOT_COVERED_TITLE
from crmkb.faq.phrasing import reads_as_question
from crmkb.faq.suggest import filed_correctly, suggestions
from crmkb.insights.conversations import ConversationLog, Filters
from crmkb.web.app import create_app
from tests.conftest import ARTICLES, KB
from tests.support.cli import invoke, run_crmkb, services_for

pytestmark = pytest.mark.slow

QUESTIONS = [
    "CRM软件至少应当提供哪些功能?",
    "",
    "项目预算中软件成本占多少?",
    "CRM项目团队应该包括哪些人?",
    "CRM项目团队应该由哪些人组成?",  # a near-duplicate: merged as "also asked"
    "CRM软件至少应当提供哪些功能?",  # an exact repeat: dropped
    "今天北京天气怎么样?",  # off-topic: not covered
    "实施顾问离开前要整理哪些问题?",
    "   ",
]


@pytest.fixture(scope="module")
def data(real_bot: Bot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the real index, so publishing here never reaches other tests' bot."""
    data = tmp_path_factory.mktemp("faq") / "data"
    shutil.copytree(real_bot.settings.data_dir, data)
    return data


@pytest.fixture(scope="module")
def services(real_bot: Bot, data: Path) -> Services:
    """Each command's bot reads the private copy afresh, as the command would; the model is the session's."""
    return services_for(get_settings(data_dir=data, kb_dir=KB), real_bot.embeddings)


def crmkb(services: Services, *args: str) -> tuple[int, str, str]:
    result = invoke(services, *args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def questions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("questions") / "questions.txt"
    path.write_text("\n".join(QUESTIONS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(services: Services, questions: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("built")
    files = {}
    for fmt in ("md", "html", "csv", "json"):
        files[fmt] = folder / f"faq.{fmt}"
        code, _, stderr = crmkb(
            services, "faq", "build", "--questions", str(questions), "--format", fmt, "--out", str(files[fmt])
        )
        assert code == 0, stderr
    return files


def test_the_builders_answers_are_recorded_under_the_faq_channel(
    services: Services, built: dict[str, Path], questions: Path
) -> None:
    """The admin console's Conversations lists a trainer's drafts too (channel faq)."""
    _, rows = ConversationLog(services.feedback()).page(Filters(channel="faq"), limit=1000)
    asked = {q.strip() for q in questions.read_text(encoding="utf-8").splitlines() if q.strip()}
    assert rows and {r.question for r in rows} <= asked


def _rows(path: Path) -> list[dict[str, str]]:
    """A CSV export's rows as a spreadsheet reads them: byte-order mark skipped, line breaks in cells kept."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_suggest_draws_answerable_questions_from_the_kb(services: Services, real_bot: Bot) -> None:
    code, stdout, stderr = crmkb(services, "faq", "suggest", "--json")
    assert code == 0, stderr
    suggested = json.loads(stdout)
    assert len(set(suggested)) == len(suggested) >= 20
    assert all(reads_as_question(q) for q in suggested)
    code, stdout, _ = crmkb(services, "faq", "suggest", "--per-source", "2", "--where")
    assert code == 0 and 5 <= len(stdout.splitlines()) <= 10
    # --where says where each is filed, after a tab: the list still reads as questions in column one
    filed = [line.split("\t") for line in stdout.splitlines()]
    assert all(len(row) == 2 and row[0] in suggested and " › " in row[1] for row in filed)


def test_installed_script_suggests_from_the_environment_s_index(data: Path) -> None:
    """The faq commands' production wiring: settings from the environment, the model loaded by the command."""
    done = run_crmkb(
        "faq",
        "suggest",
        "--per-source",
        "1",
        "--json",
        env={"CRMKB_DATA_DIR": str(data), "CRMKB_KB_DIR": str(KB)},
    )
    assert done.returncode == 0, done.stderr
    suggested = json.loads(done.stdout)
    assert 1 <= len(suggested) <= len(ARTICLES) and all(reads_as_question(q) for q in suggested)


def test_suggestions_are_filed_under_the_section_that_answers_them(real_bot: Bot) -> None:
    found = suggestions(real_bot)
    assert {s.source for s in found} == {p.name for p in ARTICLES}
    for suggestion in found:
        answer = real_bot.ask(suggestion.question)
        assert filed_correctly(suggestion, answer), (
            suggestion,
            [(c.source, c.section) for c in answer.citations],
        )
    # The kinds trainers rejected: a truncated heading, a survey item, a statement with "?", a "how to fail".
    questions = "\n".join(s.question for s in found)
    for junk in ("集中你所有的", "你采取何种数据类型", "真的,没有异常吗", "如何无法实施", "「"):
        assert junk not in questions


def test_json_entries_grouped_with_gaps_last(built: dict[str, Path]) -> None:
    entries = json.loads(built["json"].read_text(encoding="utf-8"))
    questions = [e["question"] for e in entries]
    assert questions.count("CRM软件至少应当提供哪些功能?") == 1 and len(entries) == 5
    team = next(e for e in entries if e["question"] == "CRM项目团队应该包括哪些人?")
    assert team["also_asked"] == ["CRM项目团队应该由哪些人组成?"]
    assert entries[-1]["question"] == "今天北京天气怎么样?" and entries[-1]["status"] == "not-covered"
    covered = entries[:-1]
    assert all(e["status"] == "draft" and e["citations"] and e["edited_answer"] == "" for e in covered)
    assert [e["source"] for e in covered] == sorted(e["source"] for e in covered)  # topics in document order


def test_csv_has_a_review_row_per_entry(built: dict[str, Path]) -> None:
    rows = _rows(built["csv"])
    assert len(rows) == 5 and {"status", "edited_answer", "check", "citations"} <= set(rows[0])
    assert all(json.loads(r["citations"]) for r in rows if r["status"] == "draft")


def test_markdown_has_topic_headings_and_footnotes(built: dict[str, Path]) -> None:
    text = built["md"].read_text(encoding="utf-8")
    assert text.startswith("# CRM 实施 FAQ\n")
    topics = [line for line in text.splitlines() if line.startswith("## ")]
    assert topics[-1].startswith("## 知识库未覆盖的问题") and len(topics) >= 3
    assert len([line for line in text.splitlines() if line.startswith("### ")]) == 5
    references = {r for line in text.splitlines() if not line.startswith("[^") for r in _footnotes(line)}
    definitions = {line.split("]:")[0] + "]" for line in text.splitlines() if line.startswith("[^")}
    assert references and references == definitions


def _footnotes(line: str) -> list[str]:
    import re

    return re.findall(r"\[\^[\d-]+\]", line)


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_standalone_and_printable(built: dict[str, Path]) -> None:
    text = built["html"].read_text(encoding="utf-8")
    outline = _Outline()
    outline.feed(text)
    assert outline.tags.count("h3") == 5 and outline.tags.count("h2") >= 3
    assert "script" not in outline.tags and "link" not in outline.tags and "@media print" in text
    assert "软件成本占三分之一" in "".join(outline.text)
    assert outline.tags.count("sup") == outline.tags.count("li")  # every marker links to its footnote


def test_same_inputs_give_byte_identical_files(
    services: Services, questions: Path, built: dict[str, Path], tmp_path: Path
) -> None:
    for fmt, first in built.items():
        again = tmp_path / f"again.{fmt}"
        assert (
            crmkb(
                services, "faq", "build", "--questions", str(questions), "--format", fmt, "--out", str(again)
            )[0]
            == 0
        )
        assert again.read_bytes() == first.read_bytes(), fmt


def test_untouched_round_trip_gives_byte_identical_files(
    services: Services, built: dict[str, Path], tmp_path: Path
) -> None:
    """build → export → build --from the export → export: every file as the first build wrote it, line
    breaks of answers included."""
    answers = [e["answer"] for e in json.loads(built["json"].read_text(encoding="utf-8"))]
    assert any("\n" in answer.strip() for answer in answers)  # the round trip has line breaks to keep
    for review in ("csv", "json"):
        for fmt, first in built.items():
            again = tmp_path / f"{review}-again.{fmt}"
            code, _, stderr = crmkb(
                services, "faq", "build", "--from", str(built[review]), "--format", fmt, "--out", str(again)
            )
            assert code == 0, stderr
            assert again.read_bytes() == first.read_bytes(), (review, fmt)


@pytest.fixture(scope="module")
def reviewed(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trainer's review: two approvals, one edit that keeps to its quote, one that invents a claim; one
    entry rejected."""
    rows = _rows(built["csv"])
    by_question = {r["question"]: r for r in rows}
    by_question["CRM软件至少应当提供哪些功能?"]["status"] = "rejected"
    budget = by_question["项目预算中软件成本占多少?"]
    budget["status"] = "approved"
    budget["edited_answer"] = "典型项目的预算成本中软件成本占三分之一。[1]"
    team = by_question["CRM项目团队应该包括哪些人?"]
    team["status"] = "approved"
    team["edited_answer"] = "项目团队只需要IT部门的两名工程师。[1]"
    path = tmp_path_factory.mktemp("review") / "reviewed.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_review_round_trip_flags_an_edit_that_lost_its_grounding(
    services: Services, reviewed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rerendered.json"
    code, _, stderr = crmkb(
        services, "faq", "build", "--from", str(reviewed), "--format", "json", "--out", str(out)
    )
    assert code == 0, stderr
    entries = {e["question"]: e for e in json.loads(out.read_text(encoding="utf-8"))}
    assert entries["项目预算中软件成本占多少?"]["check"] == ""
    assert entries["项目预算中软件成本占多少?"]["edited_answer"].startswith("典型项目")  # the edit is kept
    assert "not supported" in entries["CRM项目团队应该包括哪些人?"]["check"]
    assert entries["CRM项目团队应该包括哪些人?"]["status"] == "approved"  # kept, but flagged
    assert "flagged" in stderr


def test_reader_files_never_show_a_flagged_edit_or_a_rejected_entry(
    services: Services, reviewed: Path, tmp_path: Path
) -> None:
    rows = {r["question"]: r for r in _rows(reviewed)}
    original = CITATION.sub("", max(rows["CRM项目团队应该包括哪些人?"]["answer"].splitlines(), key=len))
    for fmt in ("html", "md"):
        out = tmp_path / f"faq.{fmt}"
        code, _, stderr = crmkb(
            services, "faq", "build", "--from", str(reviewed), "--format", fmt, "--out", str(out)
        )
        assert code == 0, stderr
        text = out.read_text(encoding="utf-8")
        # The bot's cited answer instead of the flagged edit.
        assert "两名工程师" not in text and original[:30] in text
        assert "典型项目的预算成本中软件成本占三分之一" in text  # a supported edit is shown
        assert "CRM软件至少应当提供哪些功能" not in text  # rejected
        assert "shown instead" in stderr and "1 rejected left out" in stderr
    out = tmp_path / "review.json"  # the review file keeps everything, for the trainer
    assert (
        crmkb(services, "faq", "build", "--from", str(reviewed), "--format", "json", "--out", str(out))[0]
        == 0
    )
    entries = {e["question"]: e for e in json.loads(out.read_text(encoding="utf-8"))}
    assert entries["CRM软件至少应当提供哪些功能?"]["status"] == "rejected"
    assert entries["CRM项目团队应该包括哪些人?"]["edited_answer"] == "项目团队只需要IT部门的两名工程师。[1]"


def test_publish_serves_approved_grounded_entries_as_curated(services: Services, reviewed: Path) -> None:
    code, stdout, stderr = crmkb(services, "faq", "publish", str(reviewed))
    assert code == 0, stderr
    assert "published 1 of 2" in stdout and "not published" in stderr
    code, stdout, _ = crmkb(services, "ask", "--json", "项目预算中软件成本占多少?")
    answer = json.loads(stdout)
    assert answer["curated"] is True and answer["answer"] == "典型项目的预算成本中软件成本占三分之一。[1]"
    assert answer["citations"][0]["quote"].startswith("典型的项目的预算成本中软件成本占三分之一")
    paraphrase = json.loads(crmkb(services, "ask", "--json", "项目预算里软件成本占多少?")[1])
    assert paraphrase["curated"] is True
    flagged = json.loads(crmkb(services, "ask", "--json", "CRM项目团队应该包括哪些人?")[1])
    assert flagged["curated"] is False and "两名工程师" not in flagged["answer"]
    assert crmkb(services, "faq", "unpublish", str(reviewed))[0] == 0
    assert json.loads(crmkb(services, "ask", "--json", "项目预算中软件成本占多少?")[1])["curated"] is False


def test_publish_refuses_a_quote_the_source_does_not_hold(
    services: Services, built: dict[str, Path], tmp_path: Path
) -> None:
    """A quote changed in the spreadsheet is not the source's words: the bot would cite something no
    article says. The answer is untouched, so only the quote check can catch it."""
    rows = _rows(built["csv"])
    budget = next(r for r in rows if r["question"] == "项目预算中软件成本占多少?")
    citations = json.loads(budget["citations"])
    citations[0]["quote"] = "软件成本占预算的一半。"
    budget["status"], budget["citations"] = "approved", json.dumps(citations, ensure_ascii=False)
    path = tmp_path / "tampered.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    code, stdout, stderr = crmkb(services, "faq", "publish", str(path))
    assert code == 0 and "published 0 of 1" in stdout
    assert "not published" in stderr and "quote [1] is not in" in " ".join(stderr.split())
    assert json.loads(crmkb(services, "ask", "--json", "项目预算中软件成本占多少?")[1])["curated"] is False


def test_trainers_round_trip_through_a_csv_saved_by_excel(
    services: Services, questions: Path, tmp_path: Path
) -> None:
    """build → CSV → opened in Excel, cells edited, saved as "CSV UTF-8" → build --from → publish → ask."""
    export = tmp_path / "faq.csv"
    code, _, stderr = crmkb(services, "faq", "build", "--questions", str(questions), "--out", str(export))
    assert code == 0, stderr
    assert export.read_bytes().startswith(codecs.BOM_UTF8)  # so Excel reads it as UTF-8, not the ANSI page
    rows = list(csv.reader(io.StringIO(export.read_bytes().decode("utf-8-sig"), newline="")))
    column = rows[0].index
    edit = "典型项目中:\n预算成本中软件成本占三分之一。[1]"  # two lines: Alt+Enter in the cell
    for row in rows[1:]:
        row[column("id")] = str(int(row[column("id")]))  # Excel shows 00003 as the number 3, and saves it so
        if row[column("question")] == "项目预算中软件成本占多少?":
            row[column("status")], row[column("edited_answer")] = "approved", edit
        if row[column("question")] == "实施顾问离开前要整理哪些问题?":
            row[column("status")] = "approved"
            untouched = row[column("answer")]
    assert "\n" in untouched
    # Excel's "CSV UTF-8": a byte-order mark, CRLF after each row, LF inside a cell, quotes only where needed.
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    saved = tmp_path / "faq-reviewed.csv"
    saved.write_bytes(buffer.getvalue().encode("utf-8-sig"))

    page = tmp_path / "faq.html"
    code, _, stderr = crmkb(services, "faq", "build", "--from", str(saved), "--out", str(page))
    assert code == 0 and "0 edits flagged" in stderr, stderr
    assert "<p>典型项目中:</p>\n<p>预算成本中软件成本占三分之一。<sup>" in page.read_text(encoding="utf-8")
    code, stdout, stderr = crmkb(services, "faq", "publish", str(saved))
    assert code == 0 and "published 2 of 2" in stdout, stderr
    try:
        for question, expected in (
            ("项目预算中软件成本占多少?", edit),
            ("实施顾问离开前要整理哪些问题?", untouched),
        ):
            answer = json.loads(crmkb(services, "ask", "--json", question)[1])
            assert answer["curated"] is True and answer["answer"] == expected  # line breaks kept
    finally:
        assert crmkb(services, "faq", "unpublish", str(saved))[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "no questions"), (b"\n  \n\n", "no questions"), ("问题".encode("gb18030"), "not UTF-8")],
)
def test_bad_question_files(services: Services, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "q.txt"
    path.write_bytes(content)
    out = tmp_path / "faq.md"
    code, _, stderr = crmkb(services, "faq", "build", "--questions", str(path), "--out", str(out))
    assert code == 1 and message in " ".join(stderr.split())
    assert list(tmp_path.iterdir()) == [path]  # nothing half-written


def test_unknown_format_and_unwritable_path(services: Services, questions: Path, tmp_path: Path) -> None:
    code, _, stderr = crmkb(
        services,
        "faq",
        "build",
        "--questions",
        str(questions),
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "x"),
    )
    assert code == 1 and "unknown format" in " ".join(stderr.split())
    code, _, stderr = crmkb(
        services, "faq", "build", "--questions", str(questions), "--out", str(tmp_path / "no" / "x.md")
    )
    assert code == 1 and "no such folder" in " ".join(stderr.split())
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def api(real_bot: Bot) -> Iterator[TestClient]:
    settings = real_bot.settings.model_copy(update={"server": ServerSettings(rate_limit=0)})
    with TestClient(create_app(settings, bot=real_bot)) as client:
        yield client


def test_faq_endpoint_and_page(api: TestClient) -> None:
    response = api.post(
        "/api/faq",
        json={"questions": [*QUESTIONS[:4], "今天北京天气怎么样?"], "format": "csv"},
        timeout=60,
    )
    assert response.status_code == 200
    body = response.json()
    assert [e["status"] for e in body["entries"]][-1] == "not-covered"
    # The page shows headings and citation labels as the server words them, as the files have them.
    assert body["entries"][-1]["heading"] == NOT_COVERED_TITLE
    for entry in (e for e in body["entries"] if e["status"] != "not-covered"):
        first = entry["citations"][0]
        assert entry["heading"] == f"{first['title']} › {first['section'].split(' > ')[0]}"
        for c in entry["citations"]:
            assert c["label"] == (f"{c['title']} › {c['section']}" if c["section"] else c["title"])
            assert c["kind_label"] == {"best-practice": "最佳实践", "failure-case": "失败案例"}[c["kind"]]
    assert body["filename"] == "faq.csv" and body["content"].startswith("\ufeff")  # Excel reads it as UTF-8
    assert list(csv.DictReader(io.StringIO(body["content"].removeprefix("\ufeff"), newline="")))
    assert api.post("/api/faq", json={"questions": []}).status_code == 422
    assert api.post("/api/faq", json={"questions": ["x"], "format": "pdf"}).status_code == 422
    page = api.get("/faq")
    assert page.status_code == 200 and 'data-testid="faq-build"' in page.text and "innerHTML" not in page.text
