"""Which language and script a question is written in: zh-Hans, zh-Hant, en, or other."""

from __future__ import annotations

import re
from typing import Literal

from crmkb.ingest.normalise import traditional_only_chars

Language = Literal["zh-Hans", "zh-Hant", "en", "other"]

_CJK = re.compile(r"[\u3400-\u9fff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_OTHER_SCRIPT = re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u0590-\u05ff\u0e00-\u0e7f\u0900-\u097f]")
# Common English words: a Latin-script question with none of them is in another language.
_ENGLISH = frozenset(
    """the a an of to and or in on for is are be was were with what how which who why when where do does
    did should can could would we you i our my it this that these those after before during about from
    at by if not no yes first best way ways need needs must any all most more than make get""".split()
)


# Function words of the other languages Latin-script questions arrive in (French, Spanish, German, Italian,
# Portuguese, Dutch); an accented letter says the same. None is an English word too: "price per user" and
# "pros and cons" are English, so per, con, die, van and um say nothing.
_FOREIGN = frozenset(
    """le la les des du est une et que qui pour dans avec el los las es por una del como der das
    und ist nicht mit ein eine wie il di che della sono uma não het een wat hoe""".split()
)
_ACCENTED = re.compile(r"[À-ÖØ-öø-ÿĀ-ž]")


def reply_language(language: Language) -> Language:
    """The language a reply to an asker of ``language`` is written in: Chinese in the asker's script,
    English to everyone else (an English asker, or one whose language is not recognised)."""
    return language if language in ("zh-Hans", "zh-Hant") else "en"


def detect_language(text: str) -> Language:
    if _KANA_HANGUL.search(text):
        return "other"
    cjk = _CJK.findall(text)
    if cjk:
        return "zh-Hant" if traditional_only_chars("".join(cjk)) else "zh-Hans"
    if _OTHER_SCRIPT.search(text):
        return "other"
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    if not words:
        return "other"
    if _ACCENTED.search(text):
        return "other"
    english = sum(w in _ENGLISH for w in words)
    foreign = sum(w in _FOREIGN for w in words)
    # Terse English ("project planning phase - vendor's PM role?") has no function word: Latin script is
    # English unless another language's own function words outnumber English ones.
    return "other" if foreign > english else "en"
