"""Find text that carries no language: machine-translation residue and mojibake.

004 lost its Chinese in a long stretch, leaving only punctuation and Latin fragments
(``CRM-, , « », , . , ,``); 003 carries fragments of GBK-misdecoded bytes (``赡芤蚰承┬≡``). Neither
may reach the index. Both are found as spans of the normalised text so the tracked cleaner can drop them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_CJK = re.compile(r"[\u3400-\u9fff]")
_NON_CJK_RUN = re.compile(r"[^\u3400-\u9fff\n]+")
_PUNCT = set(",.;:!?«»\"'()[]{}-–—…•·/\\|")
MIN_RESIDUE_MARKS = 3

_MOJIBAKE_SIGNS = re.compile(r"[\u2500-\u259f\u2200-\u22ff\ue000-\uf8ff\ufffd]")
# What is left of a pinyin annotation whose character and opening parenthesis were lost: `?fù)p`.
_BROKEN_PINYIN = re.compile(r"\?[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,6}\)[a-z]?")
_CLAUSE = re.compile(r"[^,。;!?\s]+[,。;!?]?")


def _is_orphan(text: str, i: int) -> bool:
    """A punctuation mark with no word before it: what remains when the words around it were lost."""
    j = i - 1
    while j >= 0 and text[j] == " ":
        j -= 1
    return j < 0 or text[j] in _PUNCT


def residue_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of punctuation-and-fragment residue, found within runs that contain no CJK."""
    for run in _NON_CJK_RUN.finditer(text):
        chunk = run.group()
        orphans = [i for i, ch in enumerate(chunk) if ch in _PUNCT and _is_orphan(chunk, i)]
        if len(orphans) < MIN_RESIDUE_MARKS:
            continue
        # The longest head that ends at an orphan mark and is mostly marks is residue; what follows it
        # (e.g. "RegionSoft CRM" leading into Chinese) is real text that starts the surviving clause.
        for last in reversed(orphans[MIN_RESIDUE_MARKS - 1 :]):
            head = chunk[: last + 1].replace(" ", "")
            if sum(ch in _PUNCT for ch in head) * 2 >= len(head):
                end = last + 1
                while end < len(chunk) and chunk[end] == " ":
                    end += 1
                yield run.start(), run.start() + end
                break


def _is_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def mojibake_spans(text: str) -> Iterator[tuple[int, int]]:
    """Clauses that hold misdecoded bytes: box-drawing, maths or private-use symbols among CJK, or two or
    more CJK characters outside GB2312 (after normalisation real Simplified text almost never has them;
    one alone, as in 啰嗦, is a real word)."""
    for clause in _CLAUSE.finditer(text):
        body = clause.group()
        rare = sum(1 for ch in body if _CJK.match(ch) and not _is_gb2312(ch))
        if _MOJIBAKE_SIGNS.search(body) or rare >= 2:
            yield clause.start(), clause.end()
    for m in _BROKEN_PINYIN.finditer(text):
        yield m.start(), m.end()


# A short English line ("Before You Refresh", "2 Rolling back", "Test, then deploy."): words, each at most
# followed by a comma, and a final mark; residue always has marks standing alone between its fragments.
_WORD_RUN = r"[A-Za-z0-9][A-Za-z0-9'’&/-]*,?"
_SHORT_LINE = re.compile(rf"^(\d{{1,2}}(\.\d{{1,2}})*\.?\s+)?{_WORD_RUN}(\s+{_WORD_RUN}){{0,11}}[.!?:]?$")


def has_language(line: str) -> bool:
    """Whether a line still says something: any CJK, an English sentence (several words, some of them
    lower-case function words; a row of names such as a sign-off is not a sentence), or a short English
    line such as a heading (a run of words with a lower-case word of three letters or more, so "CRM"
    alone is not one)."""
    if _CJK.search(line):
        return True
    words = re.findall(r"[A-Za-z]{2,}", line)
    if len(words) >= 4 and sum(word.islower() for word in words) >= 3:
        return True
    return bool(_SHORT_LINE.match(line)) and any(re.search(r"[a-z]{3}", word) for word in words)
