"""Recognise web-page furniture that is not guidance: navigation trails, image captions, bylines and
date/counter lines, comment widgets, previous/next links, copyright and editor lines, reprint notices,
promotion, and the related-article lists that end a page.

Patterns are written against normalised (Simplified) text and describe kinds of lines, not the five
articles' exact strings, so a newly dropped page from the same kind of site is cleaned too.
"""

from __future__ import annotations

import re

# A line that is furniture wherever it appears.
_LINE_RULES: dict[str, re.Pattern[str]] = {
    "navigation": re.compile(r"^(当前位置|您的位置|首页\s*(>|»))|>>|^\S{0,40}»\S{0,60}$"),
    "image caption": re.compile(r"(^|[,,\s])第\s*\d+\s*张$|^(图|图片)\s*\d+\s*[::]?\S{0,20}$"),
    "byline or date": re.compile(
        r"^[|\s]*[^。!?;]{0,30}\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?[^。!?;]{0,40}$"
    ),
    "comment widget": re.compile(r"^\S{0,6}(评论|回复|留言)\S{0,6}$|评论已关闭|^\d+\s*(条评论|人评论)"),
    "previous/next link": re.compile(r"^[•·\s]*(上一篇|下一篇|上一页|下一页)"),
    "copyright": re.compile(r"copyright|版权所有|©|all rights reserved", re.IGNORECASE),
    "editor or reprint line": re.compile(
        r"^(责编|责任编辑|编辑|作者|来源|原文)\s*[::]|转载请注明|^本文(应|由|来自|转载|首发).{0,60}(撰写|转载|来源|发布)"
    ),
    "promotion": re.compile(
        r"立即查看|了解详情|点击(查看|进入|下载)|扫码|关注我们|资源集合|(Telegram|微信公众号|公众号)\S{0,6}(频道|号)"
    ),
}

# A line from which everything to the end of the page is furniture (related articles, categories,
# source links). Only trusted in the last part of a page, where such lists live.
_TAIL_MARKER = re.compile(
    r"^(相关文章|相关链接|相关阅读|推荐阅读|延伸阅读|分类信息|热门文章|All Articles|Source\s*:|标签\s*[::])",
    re.IGNORECASE,
)
TAIL_ZONE = 0.7  # a tail marker counts only in the last 30% of a page's lines

_SENTENCE_PUNCT = re.compile(r"[。!?;]")


def classify_line(line: str) -> str | None:
    """The kind of furniture a (stripped, normalised) line is, or None for content."""
    if len(line) > 120:
        return None  # furniture is short; long lines are prose even when they mention a date
    for kind, pattern in _LINE_RULES.items():
        if pattern.search(line):
            return kind
    return None


def tail_start(lines: list[str]) -> int | None:
    """Index of the first line of the page's trailing furniture block, or None."""
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        return None
    zone_start = nonblank[int(len(nonblank) * TAIL_ZONE)]
    for i in range(zone_start, len(lines)):
        if _TAIL_MARKER.match(lines[i].strip()):
            return i
    return None


def is_site_label(line: str) -> bool:
    """A short label with no punctuation (a site or column name) sitting just above trailing furniture."""
    stripped = line.strip()
    return 0 < len(stripped) <= 12 and not re.search(r"[,。!?;:、,]", stripped)
