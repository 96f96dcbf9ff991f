"""Which language and script a question is written in: zh-Hans, zh-Hant, en, or other."""

from __future__ import annotations

import re
from typing import Literal

from ingest.normalise import traditional_only_chars

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
    english = sum(w in _ENGLISH for w in words)
    # "CRM rollout risks?" has no function word but is plainly English; two-word fragments count as English.
    return "en" if english or len(words) <= 3 else "other"
