"""Loaders on every supported format, every encoding the KB may arrive in, and every bad input."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from crmkb.ingest.loaders import SUPPORTED_SUFFIXES, SkipFile, decode_text, load_file
from tests.conftest import ARTICLES, KB

SIMPLIFIED_ARTICLE = (KB / "001_4998ac562ddf94fb.txt").read_text(encoding="utf-8")
TRADITIONAL_ARTICLE = (KB / "002_9683dd2b55d1bf3e.txt").read_text(encoding="utf-8")
# Big5 has no 裏 or 麽 (the article's only such characters), so its Big5 copy leaves those lines out.
TRADITIONAL_BIG5 = "\n".join(
    line for line in TRADITIONAL_ARTICLE.splitlines() if not re.search("[裏麽]", line)
)
SIMPLIFIED = SIMPLIFIED_ARTICLE.split("\n\n")[3]  # 俗话说,好的开始是成功的一半……
TRADITIONAL = TRADITIONAL_ARTICLE.split("\n\n")[3]  # 開展客戶關系管理的關鍵之處在於……


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_passages_are_the_intended_ones() -> None:
    assert SIMPLIFIED.startswith("俗话说,好的开始是成功的一半") and len(SIMPLIFIED) > 150
    assert TRADITIONAL.startswith("開展客戶關系管理的關鍵之處") and len(TRADITIONAL) > 80
    assert len(TRADITIONAL_BIG5) > 0.9 * len(TRADITIONAL_ARTICLE)


def test_kb_articles_load_unaltered() -> None:
    assert len(ARTICLES) >= 5
    for path in ARTICLES:
        raw = path.read_bytes()
        loaded = load_file(path)
        assert loaded.encoding == "utf-8"
        assert loaded.text == raw.decode("utf-8")
        assert loaded.sha256 == hashlib.sha256(raw).hexdigest()
        assert loaded.path == path


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (SIMPLIFIED_ARTICLE, "gb18030"),
        (TRADITIONAL_ARTICLE, "gb18030"),
        (TRADITIONAL_BIG5, "big5"),
        (SIMPLIFIED, "gb18030"),
        (TRADITIONAL, "big5"),
        (TRADITIONAL, "gb18030"),
        ("项目失败后第一步做什么", "gb18030"),
        ("項目失敗後第一步做什麼", "big5"),
        ("項目失敗後第一步做什麼", "gb18030"),
        ("客户关系管理", "gb18030"),
        ("客戶關係管理", "big5"),
        ("数据迁移", "gb18030"),
        # Four Big5 characters alone ("數據遷移") also read as plausible GB18030: too short to tell apart
        # by character commonness; a line of text is enough.
        ("如何有始有终地做好CRM项目结束工作\n一、业务流程有没有定义下来。", "gb18030"),
        ("企業實施CRM系統項目要做哪些準備\n壹、獲得企業內部的全方位支持", "big5"),
    ],
    ids=lambda value: value[:12].replace("\n", " ") if isinstance(value, str) else None,
)
def test_legacy_chinese_encodings_are_detected(tmp_path: Path, text: str, encoding: str) -> None:
    loaded = load_file(write(tmp_path / "legacy.txt", text.encode(encoding)))
    assert loaded.text == text
    assert loaded.encoding == encoding


def test_every_line_of_both_articles_in_every_encoding_that_holds_it() -> None:
    """GB18030 and Big5 decode each other's bytes without error; only judging the text tells them apart."""
    lines = [
        line
        for line in (SIMPLIFIED_ARTICLE + TRADITIONAL_ARTICLE).splitlines()
        if re.search("[\u4e00-\u9fff]", line)  # titles and bylines such as "0條評論" too
    ]
    wrong: list[tuple[str, str, str]] = []
    tried = 0
    for line in lines:
        for encoding in ("gb18030", "big5"):
            try:
                data = line.encode(encoding)
            except UnicodeEncodeError:
                continue
            tried += 1
            text, found = decode_text(data)
            if (text, found) != (line, encoding):
                wrong.append((encoding, found, line[:20]))
    assert tried > 200
    assert wrong == []


def test_very_short_gb18030_that_is_also_valid_utf8_reads_as_utf8() -> None:
    # UTF-8 is tried strictly first, as it must be for the real KB. A two-character GB18030 file can be
    # valid UTF-8 by chance (D0 BB is "л"); past a handful of characters that chance vanishes.
    assert decode_text("谢谢".encode("gb18030")) == ("лл", "utf-8")


def test_utf8_plain_and_with_bom(tmp_path: Path) -> None:
    plain = load_file(write(tmp_path / "plain.txt", SIMPLIFIED.encode()))
    assert (plain.text, plain.encoding) == (SIMPLIFIED, "utf-8")
    bom = load_file(write(tmp_path / "bom.txt", b"\xef\xbb\xbf" + TRADITIONAL.encode()))
    assert (bom.text, bom.encoding) == (TRADITIONAL, "utf-8")
    assert decode_text(b"\xef\xbb\xbf" + "上线".encode()) == ("上线", "utf-8")


def test_line_ends_become_lf_and_nothing_else_changes(tmp_path: Path) -> None:
    raw = "第一行  \r\n\r\n第二行\t\r第三行 ** 不清理 **\r\n"
    for encoding in ("utf-8", "gb18030"):
        loaded = load_file(write(tmp_path / f"{encoding}.txt", raw.encode(encoding)))
        assert loaded.text == "第一行  \n\n第二行\t\n第三行 ** 不清理 **\n"


def test_markdown_is_returned_as_written(tmp_path: Path) -> None:
    source = "# 上线准备\n\n- 数据迁移**演练**\n- [清单](http://example.com)\n\n> 先做试点。\n"
    for name in ("note.md", "NOTE.MARKDOWN"):
        loaded = load_file(write(tmp_path / name, source.encode()))
        assert (loaded.text, loaded.encoding) == (source, "utf-8")


HTML_PAGE = """<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<style>.lead {{ color: red }}</style><script>var tracker = "统计代码";</script></head>
<body><!-- 页面注释 -->
<header>网站标志</header><nav>首页 &gt; 资讯</nav>
<article><h1>CRM实施
准备</h1>
<p>先建立<b>项目团队</b>,再请
   顾问{rare}参与。<br>第二行</p>


<div><div><p>三、数据迁移要演练。</p></div></div>
<table><tr><th>负责人</th><td>项目经理</td></tr></table>
</article>
<aside>热门文章</aside><form>搜索<input></form><noscript>请启用脚本</noscript>
<footer>版权所有</footer></body></html>"""


def test_html_keeps_text_and_drops_page_machinery(tmp_path: Path) -> None:
    # 喆 is GBK, not GB2312: a page labelled gb2312 is read as the superset, as browsers do.
    path = write(tmp_path / "page.html", HTML_PAGE.format(rare="喆").encode("gb18030"))
    loaded = load_file(path)
    assert loaded.encoding is None
    assert loaded.text.split("\n") == [
        "CRM实施准备",  # heading on its own line; a source line break inside Chinese is no space
        "",
        "先建立项目团队,再请顾问喆参与。",
        "第二行",  # <br>
        "",  # never more than one empty line, however many there were
        "三、数据迁移要演练。",
        "",
        "负责人 | 项目经理",
    ]
    for machinery in "tracker 统计代码 color 注释 网站标志 首页 热门 搜索 脚本 版权".split():
        assert machinery not in loaded.text


def test_html_without_charset_or_with_a_wrong_one_is_judged_by_its_bytes(tmp_path: Path) -> None:
    body = f"<html><body><h2>企業實施CRM系統項目要做哪些準備</h2><p>{TRADITIONAL}</p></body></html>"
    undeclared = load_file(write(tmp_path / "big5.htm", body.encode("big5")))
    assert undeclared.text == f"企業實施CRM系統項目要做哪些準備\n\n{TRADITIONAL}"
    lying = "<meta charset='utf-8'>" + body.replace(TRADITIONAL, SIMPLIFIED).replace("企業實施", "")
    wrong_label = load_file(write(tmp_path / "gbk.html", lying.encode("gb18030")))
    assert wrong_label.text == f"CRM系統項目要做哪些準備\n\n{SIMPLIFIED}"


def test_html_meta_charset_is_respected(tmp_path: Path) -> None:
    western = "<meta charset='windows-1252'><p>Café résumé, naïve</p>".encode("cp1252")
    assert load_file(write(tmp_path / "western.html", western)).text == "Café résumé, naïve"
    # A <meta> that an ASCII-compatible parser can read cannot be telling the truth about UTF-16.
    page = '<html><head><meta charset="utf-16"></head><body><p>客户关系管理的关键步骤。</p></body></html> '
    assert len(page.encode()) % 2 == 0  # so that a UTF-16 decode would "succeed" with nonsense
    assert load_file(write(tmp_path / "label.html", page.encode())).text == "客户关系管理的关键步骤。"


def test_docx_paragraphs_and_tables_in_document_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("项目收尾检查", level=1)
    document.add_paragraph(SIMPLIFIED)
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "事项"
    table.cell(0, 2).text = "负责人"
    table.cell(1, 0).text = "整理待解决问题"
    table.cell(1, 1).text = "本周"
    table.cell(1, 2).text = "项目经理\n实施顾问"
    document.add_paragraph("表格之后的段落。")
    path = tmp_path / "closing.docx"
    document.save(str(path))
    loaded = load_file(path)
    assert loaded.encoding is None
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.text.split("\n") == [
        "项目收尾检查",
        SIMPLIFIED,
        "事项 | 负责人",  # the merged cell once, not once per column it spans
        "整理待解决问题 | 本周 | 项目经理 实施顾问",  # one row, one line
        "表格之后的段落。",
    ]


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # reportlab's built-in CJK font
    pdf = canvas.Canvas(str(path))
    for lines in pages:
        pdf.setFont("STSong-Light", 14)
        for n, line in enumerate(lines):
            pdf.drawString(72, 780 - 24 * n, line)
        pdf.showPage()
    pdf.save()
    return path


def test_pdf_pages_are_extracted_and_separated(tmp_path: Path) -> None:
    path = make_pdf(
        tmp_path / "risks.pdf",
        [["业务范围反复定义是最大的风险之一。", "企業實施CRM系統項目要做哪些準備"], ["第二页:切换计划。"]],
    )
    loaded = load_file(path)
    assert loaded.encoding is None
    assert loaded.text.split("\n\n") == [
        "业务范围反复定义是最大的风险之一。\n企業實施CRM系統項目要做哪些準備",
        "第二页:切换计划。",
    ]


def test_pdf_with_only_an_owner_password_opens(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(make_pdf(tmp_path / "plain.pdf", [["上线前的数据迁移。"]])))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    writer.write(str(tmp_path / "owner.pdf"))
    assert load_file(tmp_path / "owner.pdf").text == "上线前的数据迁移。"


def test_pdf_needing_a_password_is_skipped(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(make_pdf(tmp_path / "plain.pdf", [["机密"]])))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    writer.write(str(tmp_path / "locked.pdf"))
    with pytest.raises(SkipFile, match=r"^unreadable PDF: password protected$"):
        load_file(tmp_path / "locked.pdf")


def zip_but_not_docx(tmp_path: Path) -> bytes:
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("notes.txt", "不是 Word 文档")
    return (tmp_path / "other.zip").read_bytes()


def truncated_pdf(tmp_path: Path) -> bytes:
    data = make_pdf(tmp_path / "whole.pdf", [["完整的文档"]]).read_bytes()
    return data[: len(data) // 2]


def blank_docx(tmp_path: Path) -> bytes:
    docx.Document().save(str(tmp_path / "blank.docx"))
    return (tmp_path / "blank.docx").read_bytes()


NOT_DECODABLE = "undecodable bytes: not UTF-8, GB18030 or Big5"
# Japanese in Shift-JIS decodes as GB18030 without error, but as a run of rarities no Chinese text has.
SHIFT_JIS = "顧客関係管理システムを導入する前に、何を準備すべきですか。".encode("shift_jis")
BAD_FILES: list[tuple[str, Callable[[Path], bytes], str]] = [
    ("empty.txt", lambda tmp: b"", "empty file"),
    ("blank.md", lambda tmp: b"  \r\n\t\n", "empty file"),
    ("bom-only.txt", lambda tmp: b"\xef\xbb\xbf\n" + "\u3000".encode(), "empty file"),
    (
        "image.txt",
        lambda tmp: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)),
        "binary file, not text",
    ),
    ("late-nul.md", lambda tmp: SIMPLIFIED.encode() + b"\x00\x00", "binary file, not text"),
    ("controls.txt", lambda tmp: bytes(range(1, 9)) * 20, "binary file, not text"),
    ("utf16.txt", lambda tmp: "客户关系管理".encode("utf-16"), "undecodable bytes: UTF-16"),
    ("garbled.txt", lambda tmp: bytes([0x81, 0xFF, 0xFE, 0x80]) * 40, NOT_DECODABLE),
    ("japanese.txt", lambda tmp: SHIFT_JIS, NOT_DECODABLE),
    ("notes.xyz", lambda tmp: "客户".encode(), "unsupported file type .xyz"),
    ("README", lambda tmp: "客户".encode(), "unsupported file type (no extension)"),
    ("report.doc", lambda tmp: b"\xd0\xcf\x11\xe0", "unsupported file type .doc"),
    ("broken.docx", lambda tmp: b"PK\x03\x04 this is not a zip archive", "unreadable DOCX: "),
    ("other.docx", zip_but_not_docx, "unreadable DOCX: "),
    ("blank.docx", blank_docx, "no text found"),
    ("broken.pdf", lambda tmp: b"%PDF-1.4 nonsense without objects", "unreadable PDF: "),
    ("truncated.pdf", truncated_pdf, "unreadable PDF: "),
    ("scan.pdf", lambda tmp: make_pdf(tmp / "blank.pdf", [[]]).read_bytes(), "no text found"),
    (
        "empty.html",
        lambda tmp: b"<html><head><script>x()</script></head><body> </body></html>",
        "no text found",
    ),
]


@pytest.mark.parametrize(("name", "make", "reason"), BAD_FILES, ids=[name for name, _, _ in BAD_FILES])
def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, name: str, make: Callable[[Path], bytes], reason: str
) -> None:
    path = write(tmp_path / name, make(tmp_path))
    with pytest.raises(SkipFile) as info:
        load_file(path)
    message = str(info.value)
    assert message.startswith(reason)
    assert "\n" not in message and len(message) <= 120


def test_unreadable_paths(tmp_path: Path) -> None:
    (tmp_path / "x.txt").mkdir()
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # opening it to read would block forever: fail fast instead

    def hung(signum: int, frame: object) -> None:
        raise AssertionError("load_file blocked on a FIFO")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    expected = {
        "x.txt": "unreadable: is a directory",
        "dangling.txt": "unreadable: No such file or directory",
        "absent.md": "unreadable: No such file or directory",
        "pipe.txt": "unreadable: not a regular file",
    }
    for name, reason in expected.items():
        with pytest.raises(SkipFile) as info:
            load_file(tmp_path / name)
        assert str(info.value) == reason
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.txt", "内部资料".encode())
    path.chmod(0)
    with pytest.raises(SkipFile, match=r"^unreadable: Permission denied$"):
        load_file(path)


def test_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", ("很长的内容。" * 1000).encode())  # 18,000 bytes
    with pytest.raises(SkipFile, match=r"^too large: 17\.6 KB \(limit 1000 B\)$"):
        load_file(path, max_bytes=1000)
    assert load_file(path, max_bytes=18_000).text == "很长的内容。" * 1000  # the limit itself is allowed


def test_skip_reasons_are_one_short_line() -> None:
    message = str(SkipFile("unreadable PDF: first line\nsecond line " + "x" * 300))
    assert message.startswith("unreadable PDF: first line second line x")
    assert "\n" not in message and len(message) <= 120


def test_supported_suffixes() -> None:
    assert {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"} == SUPPORTED_SUFFIXES
