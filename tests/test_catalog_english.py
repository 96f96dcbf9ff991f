"""English titles from kb/catalog.toml: parsed and checked, carried into citations, shown to English
askers above the Chinese quotes and in refusal topics, and drafted by ``crmkb catalog translate`` against
a scripted OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkb.bot import render
from crmkb.bot.schemas import Citation
from crmkb.bot.service import Bot
from crmkb.cli.app import app
from crmkb.core.settings import Settings
from crmkb.ingest import artifacts
from crmkb.ingest.catalog import CATALOG_FILE, CatalogError, english_section, load_catalog
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.pipeline import run_ingest
from crmkb.slack.blocks import citation_block
from crmkb.web.loopback import serving
from tests.support.fake_openai import Script, make_app

RESCUE = "000_ea5525b80525cb07.txt"
VENDOR = "004_1bc54c01a6e7907a.txt"
CLOSING = "001_4998ac562ddf94fb.txt"
CJK = re.compile(r"[\u3400-\u9fff]")
ENTRY = '["a.txt"]\ntitle = "甲"\nkind = "failure-case"\n'


def write_catalog(kb: Path, text: str) -> None:
    (kb / CATALOG_FILE).write_text(text, encoding="utf-8")


# ---- the catalog ----


def test_english_titles_parse_and_compose(tmp_path: Path) -> None:
    write_catalog(
        tmp_path, ENTRY + 'title_en = " Rescue "\n\n["a.txt".sections_en]\n"甲" = "A"\n"甲 > 乙" = "B"\n'
    )
    entry = load_catalog(tmp_path)["a.txt"]
    assert entry.title_en == "Rescue"  # surrounding blanks are an editing slip, not part of the title
    assert english_section("甲 > 乙", entry.sections_en) == "A > B"
    assert english_section("甲 > 丙", entry.sections_en) == "A > 丙"  # a missing heading stays Chinese
    assert english_section("丁", entry.sections_en) == ""
    assert english_section("", entry.sections_en) == ""


@pytest.mark.parametrize(
    ("extra", "field"),
    [('title_en = 3\n', "title_en"), ('sections_en = "甲"\n', "sections_en"), ('title_en = ""\n', "title_en"),
     ('\n["a.txt".sections_en]\n"甲" = ["A"]\n', "sections_en.甲")],
)  # fmt: skip
def test_a_bad_english_title_is_an_error_naming_it(tmp_path: Path, extra: str, field: str) -> None:
    write_catalog(tmp_path, ENTRY + extra)
    with pytest.raises(CatalogError, match=rf"catalog.toml \[a.txt\]: {re.escape(field)}"):
        load_catalog(tmp_path)


def test_an_unknown_section_is_a_warning_and_english_changes_publish(
    settings: Settings, fake_embeddings: HashEmbeddings
) -> None:
    kb = settings.kb_dir
    text = (kb / CATALOG_FILE).read_text(encoding="utf-8")
    write_catalog(kb, text.replace('"设置客户流" = ', '"设置客户" = '))
    first = run_ingest(settings, embeddings=fake_embeddings)
    assert first.published and first.documents == 5  # a typo does not stop the ingest
    assert first.warnings == [
        f"catalog.toml [{RESCUE}] sections_en: no section named '设置客户'; did you mean '设置客户流'?"
    ]
    documents = artifacts.read_documents(settings.data_dir, str(first.version))
    assert documents[RESCUE].title_en == "How to rescue a failed CRM system"

    # Only an English title changes: a new version servers switch to, with nothing embedded again.
    write_catalog(kb, text.replace("How to rescue a failed CRM system", "Rescuing a failed CRM system"))
    second = run_ingest(settings, embeddings=fake_embeddings)
    assert second.published and second.embedded == 0 and second.sentences_embedded == 0
    assert not second.warnings
    documents = artifacts.read_documents(settings.data_dir, str(second.version))
    assert documents[RESCUE].title_en == "Rescuing a failed CRM system"
    assert documents[RESCUE].sections_en["设置客户流"] == "Map the customer flow"
    assert not run_ingest(settings, embeddings=fake_embeddings).published


def test_a_new_author_or_subject_publishes_with_nothing_embedded_again(
    settings: Settings, fake_embeddings: HashEmbeddings
) -> None:
    # they are what a question naming the article ("the vendor article") is matched to, so servers need them
    kb = settings.kb_dir
    text = (kb / CATALOG_FILE).read_text(encoding="utf-8")
    assert run_ingest(settings, embeddings=fake_embeddings).published
    write_catalog(kb, text.replace('author = "RegionSoft, a CRM vendor"', 'author = "RegionSoft"'))
    second = run_ingest(settings, embeddings=fake_embeddings)
    assert second.published and second.embedded == 0 and second.sentences_embedded == 0
    documents = artifacts.read_documents(settings.data_dir, str(second.version))
    assert documents[VENDOR].author == "RegionSoft"
    assert documents[VENDOR].subject.startswith("How CRM implementations fail")


def test_every_section_of_the_kb_has_an_english_title(settings: Settings) -> None:
    from crmkb.catalog_translate import missing_titles

    assert missing_titles(settings) == ([], [])


# ---- what askers see ----


def citation(**fields: object) -> Citation:
    base = dict(n=1, source=RESCUE, title="如何挽救一个失败的CRM系统", section="设置客户流", kind="failure-case",
                quote="重做CRM项目之前,应从客户群体的角度来体验客户的感受。", start=0, end=1, score=1.0)  # fmt: skip
    return Citation.model_validate(base | fields)


def test_missing_english_titles_fall_back_to_the_chinese() -> None:
    bare = render.answer("q", "en", [citation()])
    assert bare.answer.splitlines()[1:] == [citation().quote + "[1]"]  # as before English titles existed
    half = render.answer("q", "en", [citation(title_en="How to rescue a failed CRM system")])
    assert half.answer.splitlines()[1] == "设置客户流 — How to rescue a failed CRM system, failure case:"
    assert (
        render.place(citation(section_en="Map the customer flow"), "en")
        == "如何挽救一个失败的CRM系统 › Map the customer flow"
    )
    assert (
        render.place(citation(section_en="Map the customer flow"), "zh-Hans")
        == "如何挽救一个失败的CRM系统 › 设置客户流"
    )


def test_slack_citation_lines_follow_the_askers_language() -> None:
    cited = citation(title_en="How to rescue a failed CRM system", section_en="Map the customer flow")
    english = citation_block(cited, "en")["elements"][0]["text"]
    assert english.startswith(
        "*[1]* How to rescue a failed CRM system › Map the customer flow · _Failure case_"
    )
    chinese = citation_block(cited, "zh-Hans")["elements"][0]["text"]
    assert chinese.startswith("*[1]* 如何挽救一个失败的CRM系统 › 设置客户流 · _失败案例_")


@pytest.mark.slow
def test_an_english_question_gets_english_titles_before_the_quotes(real_bot: Bot) -> None:
    answer = real_bot.ask("What should we do first after a CRM project fails?")
    assert answer.answerable
    lines = answer.answer.splitlines()
    first = answer.citations[0]
    assert first.title_en == "How to rescue a failed CRM system" and first.section_en.startswith(
        "Analyse, don't blame"
    )
    heading = f"{first.section_en} — How to rescue a failed CRM system, failure case:"
    assert lines[1] == heading and lines[2].endswith("[1]")  # the title, then its Chinese quote
    for c in answer.citations:  # every quote sits under its own section's title
        quote_line = next(i for i, line in enumerate(lines) if line.endswith(f"[{c.n}]"))
        above = [line for line in lines[1:quote_line] if line.endswith(":")]
        assert above and above[-1].startswith(c.section_en or c.section) and c.title_en in above[-1]


@pytest.mark.slow
def test_a_chinese_question_sees_no_english(real_bot: Bot) -> None:
    answer = real_bot.ask("CRM项目失败后第一步应该做什么?")
    assert answer.answerable and answer.citations[0].title_en  # the API still carries the fields
    assert not any(c.title_en in answer.answer or c.section_en in answer.answer for c in answer.citations)
    assert all(line.endswith("]") for line in answer.answer.splitlines()[1:])  # no title lines


@pytest.mark.slow
def test_an_english_refusal_lists_english_topics(real_bot: Bot) -> None:
    answer = real_bot.ask("What does Salesforce Einstein cost per seat?")
    assert not answer.answerable and answer.topics
    assert not any(CJK.search(t) for t in answer.topics), answer.topics
    assert "Nearby topics it does cover: " + "; ".join(answer.topics) in answer.answer
    chinese = real_bot.ask("Salesforce Einstein每个席位多少钱?")
    assert not chinese.answerable and all(CJK.search(t) for t in chinese.topics)


@pytest.mark.slow
@pytest.mark.parametrize(
    "message", ["-" * 1500, "12345", "???", "Wie implementiere ich ein CRM-System erfolgreich?"]
)
def test_a_reply_in_english_to_an_unrecognised_language_lists_english_titles(
    real_bot: Bot, message: str
) -> None:
    answer = real_bot.ask(message)
    assert answer.language == "other" and not answer.answerable
    assert answer.topics and not any(CJK.search(t) for t in answer.topics), answer.topics
    assert not CJK.search(answer.answer), answer.answer


# ---- crmkb catalog translate ----

runner = CliRunner()
COMMENT = "# the closing article: titles still to come\n"


def drafted(prompt: str) -> str:
    """A faithful-enough translator: titles every heading it is asked about, in a code fence like models do."""
    request = json.loads(prompt[prompt.index("\n{\n") + 1 :])
    sections = {name: f"Part {i}." for i, name in enumerate(request["sections"], 1)}
    body = {"sections": sections} | ({"title": "Closing a CRM project well"} if "title" in request else {})
    return "```json\n" + json.dumps(body, ensure_ascii=False) + "\n```"


def without_closing_titles(kb: Path) -> str:
    text = (kb / CATALOG_FILE).read_text(encoding="utf-8")
    text = re.sub(r'title_en = "How to close out[^\n]*\n', "", text)
    text = re.sub(rf'\["{CLOSING}".sections_en\]\n(?:"[^\n]*\n)+\n', "", text)
    text = text.replace(f'["{CLOSING}"]\n', COMMENT + f'["{CLOSING}"]\n')
    write_catalog(kb, text)
    return text


def env_for(settings: Settings, url: str | None) -> dict[str, str]:
    env = {"CRMKB_KB_DIR": str(settings.kb_dir), "CRMKB_DATA_DIR": str(settings.data_dir)}
    return env | ({"CRMKB_LLM_BASE_URL": f"{url}/v1"} if url else {})


def test_translate_drafts_what_is_missing_and_keeps_the_rest(settings: Settings) -> None:
    before = without_closing_titles(settings.kb_dir)
    script = Script().then(drafted).then(drafted)
    with serving(make_app(script)) as url:
        dry = runner.invoke(app, ["catalog", "translate", "--dry-run"], env=env_for(settings, url))
        assert dry.exit_code == 0, dry.output
        assert '"二、待解决问题是否整理完整。" = "Part 2"' in dry.stdout  # the final full stop is dropped
        assert (settings.kb_dir / CATALOG_FILE).read_text(encoding="utf-8") == before

        result = runner.invoke(app, ["catalog", "translate"], env=env_for(settings, url))
    assert result.exit_code == 0, result.output
    assert "4 English titles added" in result.stderr
    assert len(script.requests) == 2  # one document lacked titles, asked once per run
    after = (settings.kb_dir / CATALOG_FILE).read_text(encoding="utf-8")
    # Everything that was there is still there, in order: comments, other entries, their titles.
    assert (
        re.sub(r'title_en = "Closing[^\n]*\n|\n\["001[^\n]*sections_en\]\n(?:"[^\n]*\n)+', "", after)
        == before
    )
    assert (
        COMMENT
        + f'["{CLOSING}"]\ntitle = "如何有始有终地做好CRM项目结束工作"\ntitle_en = "Closing a CRM project well"\n'
        in after
    )
    entry = load_catalog(settings.kb_dir)[CLOSING]
    assert entry.title_en == "Closing a CRM project well"
    assert entry.sections_en["一、业务流程有没有定义下来。"] == "Part 1"
    assert load_catalog(settings.kb_dir)[RESCUE].sections_en["底线"] == "The bottom line"

    with serving(make_app(Script())) as url:  # nothing left to draft: the model is not called
        again = runner.invoke(app, ["catalog", "translate"], env=env_for(settings, url))
    assert again.exit_code == 0 and "Every catalogued document has English titles" in again.stdout


def test_translate_without_an_endpoint_says_what_to_configure(settings: Settings) -> None:
    result = runner.invoke(app, ["catalog", "translate"], env=env_for(settings, None))
    assert result.exit_code == 1
    assert "set CRMKB_LLM_BASE_URL" in result.stderr and "Traceback" not in result.output


def test_translate_with_a_failing_endpoint_is_one_line_and_writes_nothing(settings: Settings) -> None:
    before = without_closing_titles(settings.kb_dir)
    with serving(make_app(Script().then("", status=500))) as url:
        result = runner.invoke(app, ["catalog", "translate"], env=env_for(settings, url))
    assert result.exit_code == 1 and "failed" in result.stderr and "Traceback" not in result.output
    assert (settings.kb_dir / CATALOG_FILE).read_text(encoding="utf-8") == before
