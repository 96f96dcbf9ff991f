"""The one normaliser, applied to documents at ingest and to questions at ask time.

It folds the variants the articles carry into one Simplified form, so that a word is indexed, embedded
and matched the same way wherever it came from: compatibility forms (NFKC), pinyin annotations left by a
bad converter, characters an old converter got wrong, and Traditional script (OpenCC ``tw2s``, which also knows Taiwan phrasing such as 意味著 → 意味着).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

from opencc import OpenCC

from crmkb.ingest.tracked import Tracked

# Characters an old Traditional→Simplified converter (and one site's font tricks) produced instead of
# the right ones. OpenCC leaves them alone because each is a real, if rare, character, so they are
# mapped here, before t2s. Found by listing every character of the articles outside GB2312 after t2s.
MISCONVERTED: dict[str, str] = {
    "琯": "管", "儅": "当", "竝": "并", "蓡": "参", "麪": "面", "侷": "局", "躰": "体", "騐": "验",
    "処": "处", "曏": "向", "廻": "回", "襍": "杂", "傚": "效", "郃": "合", "霛": "灵", "衹": "只",
    # OpenCC turns 槼 into the equally wrong 椝 and 逕 into 迳; the intended words are 规则 and 捷径.
    "槼": "规", "逕": "径",
    # 002 writes the financial numeral 壹 for 一 and the feminine 妳 for 你 throughout.
    "壹": "一", "妳": "你",
}  # fmt: skip

_MISCONVERTED_TABLE = str.maketrans(MISCONVERTED)

# `業(yè)務(wù)`: a CJK character followed by its pinyin in parentheses. Only lower-case Latin letters
# with tone marks count, so real parentheticals such as (ROI) or (CRM) survive. A '?' stands where the
# converter lost the character itself.
PINYIN_ANNOTATION = re.compile(
    r"(?<=[\u3400-\u9fff?])\((?:[bpmfdtnlgkhjqxzcsryw]?h?[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,5}(?:ng?|r)?)\)"
)

# 002's converter wrote an em dash for 一 in 一个 / 一种.
DASH_FOR_ONE = re.compile(r"(?<=[\u3400-\u9fff])—(?=[个种])")

_KEEP_CONTROLS = {"\n", "\t"}
_PHRASE_CHARS = 4  # the longest word looked at when a Taiwan phrase would replace a word the articles use


@cache
def _converter(config: str) -> OpenCC:
    # OpenCC loads its dictionaries on construction; build each once, on first use, never at import.
    return OpenCC(config)


def _fold_char(ch: str) -> str:
    if unicodedata.category(ch) in {"Cc", "Cf"} and ch not in _KEEP_CONTROLS:
        return ""
    if ch == "\t":
        return " "
    return unicodedata.normalize("NFKC", ch)


def fold_width(text: str) -> str:
    """``text`` with its compatibility forms folded as documents' are, script untouched: full-width
    punctuation and letters ("？", "，", "ＣＲＭ") as their ASCII forms."""
    return "".join(_fold_char(ch) for ch in text)


def normalise_tracked(doc: Tracked) -> Tracked:
    """Normalise while keeping the map back to the original text."""
    doc = doc.map_chars(_fold_char)
    doc = doc.sub(PINYIN_ANNOTATION, "")
    doc = doc.map_chars(lambda ch: ch.translate(_MISCONVERTED_TABLE))
    t2s = _converter("tw2s")
    doc = doc.map_lines(t2s.convert, t2s.convert)
    return doc.sub(DASH_FOR_ONE, "一")


def normalise(text: str) -> str:
    """Normalise a question (or any text) exactly as documents are normalised."""
    return normalise_tracked(Tracked.of(text)).text


def normalise_question(text: str, uses: Callable[[str], bool] | None = None) -> str:
    """Like :func:`normalise`, but a question written in Traditional script also has its Taiwan vocabulary
    mapped onto the mainland words the articles use (軟體 → 软件, 資料庫 → 数据库). A Simplified question
    keeps its words: the phrase map would turn its 呼叫 into 调用. Questions only: the map changes lengths,
    which document offsets cannot. ``uses`` tells which words the articles use: a word they use is not
    swapped for one they never do (the map writes 建立 as 创建, but the articles say 建立CRM项目团队)."""
    if traditional_only_chars(text):
        text = _mainland_words(text, uses)
    return normalise(text)


def _mainland_words(text: str, uses: Callable[[str], bool] | None) -> str:
    phrases = _converter("tw2sp")
    plain = _converter("tw2s").convert(text)
    if uses is None or len(plain) != len(text):
        return phrases.convert(text)
    kept: list[str] = []
    start = position = 0
    while position < len(text):
        for end in range(min(len(text), position + _PHRASE_CHARS), position + 1, -1):
            word, swapped = plain[position:end], phrases.convert(text[position:end])
            if swapped != word and uses(word) and not uses(swapped):
                kept += [phrases.convert(text[start:position]), word]
                start = position = end
                break
        else:
            position += 1
    return "".join([*kept, phrases.convert(text[start:])])


def traditional_only_chars(text: str) -> int:
    """How many characters of ``text`` Simplified Chinese writes differently (a Traditional-script signal)."""
    converted = _converter("tw2s").convert(text)
    if len(converted) != len(text):
        converted = "".join(_converter("tw2s").convert(ch) for ch in text)
    return sum(a != b for a, b in zip(text, converted, strict=True))


def to_simplified(text: str) -> str:
    """Traditional → Simplified, characters only (no NFKC, no Taiwan phrases): for answer text written in
    Traditional that a Simplified asker reads."""
    return _converter("tw2s").convert(text)  # 著 written for 着 (as to_traditional writes it) comes back


def to_traditional(text: str) -> str:
    """Simplified → Traditional for answers to Traditional questions, in the characters Taiwan and Hong Kong
    readers write (為, 著, 審核: OpenCC's plain s2t gives the dictionary forms 爲, 着, 審覈). Characters
    only: Taiwan phrasing (s2twp) would also swap words, and 审核 would become 稽核, another meaning."""
    return _converter("s2tw").convert(text)
