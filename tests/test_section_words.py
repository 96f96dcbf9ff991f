"""Which sections use a question's wording, read over character pairs (the real articles; the embedder plays
no part, so the model-free one indexes them)."""

from __future__ import annotations

import pytest

from crmkb.bot.section_words import SectionWords
from crmkb.bot.service import Bot
from crmkb.core.settings import Settings
from crmkb.ingest.embeddings import HashEmbeddings
from crmkb.ingest.normalise import normalise_question
from crmkb.ingest.sparse import character_pairs

CLOSE_OUT = "001_4998ac562ddf94fb.txt"
VENDOR = "004_1bc54c01a6e7907a.txt"


@pytest.fixture(scope="module")
def section_words(hash_index: Settings) -> SectionWords:
    return SectionWords(Bot(hash_index, embeddings=HashEmbeddings()).load().knowledge)


def best(section_words: SectionWords, question: str) -> tuple[str, str]:
    shares = section_words.shares(normalise_question(question))
    return max(shares, key=lambda key: shares[key])


def test_character_pairs_match_however_jieba_would_cut_the_words() -> None:
    # Traditional is read as Simplified; each two characters in a row are a token, Latin words whole
    assert character_pairs("教育訓練和CRM systems") == ["教育", "育训", "训练", "练和", "crm", "system"]
    # two characters that only ask or join name nothing, but one beside a content character still counts
    assert character_pairs("我们如何上线?", frozenset("我们如何上")) == ["上线"]


def test_the_section_about_what_is_asked_has_the_whole_share(section_words: SectionWords) -> None:
    shares = section_words.shares(normalise_question("顾问走了以后谁来维护系统?"))
    assert max(shares.values()) == 1.0 and all(0 < share <= 1 for share in shares.values())
    assert best(section_words, "顾问走了以后谁来维护系统?") == (
        CLOSE_OUT,
        "三、企业后续是否有人能够担任项目完善的重任。",
    )
    # 教育訓練 (Taiwan wording) is one word to jieba; the section says 培训 and 教育 apart
    assert best(section_words, "教育訓練的教材要先跟廠商要嗎?") == (VENDOR, "缺乏认识和培训")


def test_a_question_of_function_words_only_favours_no_section(section_words: SectionWords) -> None:
    assert section_words.shares("如何才能是我们的?") == {}
    assert section_words.shares("") == {}
