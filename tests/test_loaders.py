"""Loaders on every supported format, every encoding the KB may arrive in, and every bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest

from ingest.loaders import SkipFile, decode_text, load_file
from tests.conftest import ARTICLES, KB

TRADITIONAL = (KB / "002_9683dd2b55d1bf3e.txt").read_text(encoding="utf-8").splitlines()[4]
SIMPLIFIED = (KB / "001_4998ac562ddf94fb.txt").read_text(encoding="utf-8").splitlines()[6]


def test_kb_articles_load_unaltered() -> None:
    for path in ARTICLES:
        loaded = load_file(path)
        assert loaded.encoding == "utf-8"
        assert loaded.text == path.read_bytes().decode("utf-8")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (SIMPLIFIED, "gb18030"),
        (TRADITIONAL, "big5"),
        (TRADITIONAL, "gb18030"),
        ("项目失败后第一步做什么", "gb18030"),
        ("項目失敗後第一步做什麼", "big5"),
    ],
)
def test_legacy_chinese_encodings_are_detected(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    loaded = load_file(path)
    assert loaded.text == text
    assert loaded.encoding == encoding


def test_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "第一行\r\n第二行\r第三行".encode())
    assert load_file(path).text == "第一行\n第二行\n第三行"
    assert decode_text("你好".encode())[1] == "utf-8"


def test_markdown_is_returned_as_written(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("# 上线准备\n\n- 数据迁移演练\n", encoding="utf-8")
    assert load_file(path).text == "# 上线准备\n\n- 数据迁移演练\n"


def test_html_keeps_text_and_drops_page_machinery(tmp_path: Path) -> None:
    page = (
        "<html><head><meta charset='gb2312'><style>.x{color:red}</style><script>alert('x')</script></head>"
        "<body><nav>首页 &gt; 资讯</nav><h1>CRM实施准备</h1><p>先建立项目团队。</p><div>再做需求分析。</div>"
        "<footer>版权所有</footer></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_bytes(page.encode("gb2312"))
    text = load_file(path).text
    assert [line for line in text.splitlines() if line] == [
        "CRM实施准备",
        "先建立项目团队。",
        "再做需求分析。",
    ]
    for machinery in ("alert", "color", "首页", "版权所有"):
        assert machinery not in text


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("项目收尾检查", level=1)
    document.add_paragraph("实施顾问离开前,要把待解决问题整理清楚。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "负责人"
    table.rows[0].cells[1].text = "项目经理"
    path = tmp_path / "closing.docx"
    document.save(str(path))
    text = load_file(path).text
    assert "项目收尾检查\n实施顾问离开前,要把待解决问题整理清楚。" in text
    assert "负责人 | 项目经理" in text


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "risks.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawString(72, 800, "CRM implementation risks")
    pdf.setFont("STSong-Light", 14)
    pdf.drawString(72, 770, "业务范围反复定义是最大的风险之一。")
    pdf.showPage()
    pdf.setFont("Helvetica", 12)
    pdf.drawString(72, 800, "Page two: plan the cut-over.")
    pdf.save()
    text = load_file(path).text
    assert "CRM implementation risks" in text
    assert "Page two: plan the cut-over." in text
    assert "\n\n" in text  # pages are separated
    assert "业务范围反复定义" in text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\t\n", "empty file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)), "binary file, not text"),
        ("garbled.txt", bytes([0x81, 0xFF, 0xFE, 0x80]) * 40, "undecodable bytes"),
        ("notes.xyz", b"CRM", "unsupported file type .xyz"),
        ("broken.docx", b"this is not a zip archive", "unreadable DOCX"),
        ("broken.pdf", b"%PDF-1.4 nonsense without objects", "unreadable PDF"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SkipFile) as info:
        load_file(path)
    message = str(info.value)
    assert message.startswith(reason)
    assert "\n" not in message and len(message) <= 140


def test_unreadable_paths(tmp_path: Path) -> None:
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    for path in (tmp_path / "folder.txt", tmp_path / "dangling.txt", tmp_path / "absent.md"):
        with pytest.raises(SkipFile, match=r"^unreadable"):
            load_file(path)


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("很长的内容。" * 1000, encoding="utf-8")
    with pytest.raises(SkipFile, match=r"^too large"):
        load_file(path, max_bytes=1000)


def test_docx_without_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    with pytest.raises(SkipFile, match="no text found"):
        load_file(path)
    assert zipfile.is_zipfile(path)
