"""LLM mode through LangChain's ChatOpenAI against a scripted OpenAI-compatible server on loopback, and
the grounding guard on every reply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import opencc
import pytest

from crmkb.bot.prompts import REFUSAL_SENTINEL, PromptError, chat_prompt, load_template
from crmkb.bot.schemas import Citation
from crmkb.bot.service import Bot, QuestionError
from crmkb.core.settings import Settings
from crmkb.ingest import artifacts
from crmkb.web.loopback import serving
from tests.support.fake_openai import Script, first_sentence, make_app, passage

pytestmark = pytest.mark.slow
QUESTION = "CRM项目团队应该包括哪些人?"
INVENTED = "只要购买最贵的CRM软件,项目就一定会成功。"


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def llm_bot(real_index: Settings, real_bot: Bot, script: Script) -> Iterator[Bot]:
    with serving(make_app(script)) as url:
        settings = real_index.model_copy(
            update={
                "llm": real_index.llm.model_copy(
                    update={"base_url": f"{url}/v1", "timeout_s": 2.0, "passages": 3}
                )
            }
        )
        # The session's model and store: only the index is loaded again; the LLM path is what is under test.
        bot = Bot(settings, embeddings=real_bot.embeddings, index_store=real_bot.index_store)
        yield bot


def assert_citations_check_out(bot: Bot, answer_citations: list[Citation]) -> None:
    documents = artifacts.read_documents(bot.settings.data_dir, bot.load().knowledge.version.name)
    for c in answer_citations:
        assert documents[c.source].text[c.start : c.end] == c.quote


def test_good_answer_is_kept_with_verbatim_quotes(llm_bot: Bot, script: Script) -> None:
    script.then(lambda prompt: first_sentence(passage(prompt, 1)) + "[1]")
    answer = llm_bot.ask(QUESTION, mode="llm")
    assert answer.mode == "llm" and answer.answerable
    assert answer.answer.endswith("[1]") and len(answer.citations) == 1
    assert_citations_check_out(llm_bot, answer.citations)
    request = script.requests[0]
    assert request["stream"] is True
    assert "[3]" in str(request["messages"]) and "[4]" not in str(request["messages"])
    assert REFUSAL_SENTINEL in str(request["messages"])


def test_invented_sentence_is_dropped(llm_bot: Bot, script: Script) -> None:
    script.then(lambda prompt: first_sentence(passage(prompt, 1)) + "[1]" + INVENTED + "[2]")
    answer = llm_bot.ask(QUESTION, mode="llm")
    assert answer.mode == "llm"
    assert "最贵" not in answer.answer
    assert len(answer.citations) == 1


def test_a_marker_covers_the_uncited_sentences_before_it_on_its_line(llm_bot: Bot, script: Script) -> None:
    # Supported: the passage's first sentence, uncited, then the marker after a second copy of it.
    script.then(
        lambda prompt: first_sentence(passage(prompt, 1)) + first_sentence(passage(prompt, 1)) + "[1]"
    )
    kept = llm_bot.ask(QUESTION, mode="llm")
    assert kept.mode == "llm" and kept.answer.count("[1]") == 2  # each kept sentence now carries its marker
    # Invented and uncited before a good cited sentence: checked against that citation, and dropped.
    script.then(lambda prompt: INVENTED + first_sentence(passage(prompt, 1)) + "[1]")
    dropped = llm_bot.ask(QUESTION, mode="llm")
    assert dropped.mode == "llm" and "最贵" not in dropped.answer


def test_impossible_citation_falls_back_to_extractive(llm_bot: Bot, script: Script) -> None:
    script.then(lambda prompt: first_sentence(passage(prompt, 1)) + "[9]")
    answer = llm_bot.ask(QUESTION, mode="llm")
    assert answer.mode == "extractive" and answer.answerable
    assert "[9]" not in answer.answer
    assert_citations_check_out(llm_bot, answer.citations)


def test_refusal_sentinel_becomes_a_refusal(llm_bot: Bot, script: Script) -> None:
    script.then(REFUSAL_SENTINEL)
    answer = llm_bot.ask(QUESTION, mode="llm")
    assert not answer.answerable and answer.citations == [] and answer.topics


@pytest.mark.parametrize(("delay", "status"), [(3.0, 200), (0.0, 500)], ids=["timeout", "server-error"])
def test_slow_or_failed_endpoint_falls_back(llm_bot: Bot, script: Script, delay: float, status: int) -> None:
    script.then("不会被使用的回答[1]", delay=delay, status=status)
    answer = llm_bot.ask(QUESTION, mode="llm")
    assert answer.mode == "extractive" and answer.answerable
    assert answer.latency_ms < 10_000


def test_near_miss_never_reaches_the_model(llm_bot: Bot, script: Script) -> None:
    answer = llm_bot.ask("实施顾问的日薪是多少?", mode="llm")
    assert not answer.answerable
    assert script.requests == []


def test_traditional_question_gets_traditional_llm_answer(llm_bot: Bot, script: Script) -> None:
    script.then(lambda prompt: first_sentence(passage(prompt, 1)) + "[1]")
    answer = llm_bot.ask("CRM項目團隊應該包括哪些人?", mode="llm")
    assert answer.mode == "llm" and answer.language == "zh-Hant"
    assert opencc.OpenCC("t2s").convert(answer.answer) != answer.answer  # written in Traditional


def test_llm_mode_off_without_endpoint(real_bot: Bot) -> None:
    with pytest.raises(QuestionError, match="CRMKB_LLM_BASE_URL"):
        real_bot.ask(QUESTION, mode="llm")


def test_prompt_files_declare_their_variables(tmp_path: Path) -> None:
    assert set(chat_prompt().input_variables) == {"refusal", "language_instruction", "passages", "question"}
    bad = tmp_path / "system.md"
    bad.write_text("---\nvariables: [question]\n---\nAnswer {question} in {language}.\n", encoding="utf-8")
    with pytest.raises(PromptError, match="language"):
        load_template(bad)
    bad.write_text("no front matter {question}", encoding="utf-8")
    with pytest.raises(PromptError, match="variables"):
        load_template(bad)
