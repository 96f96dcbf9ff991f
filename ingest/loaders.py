"""Turn one knowledge-base file into text, or say in one short line why it cannot be.

The text returned is the "original" that cleaning maps its offsets back to, so loaders change as little as
possible: decode, unify line ends, drop a BOM, and for structured formats (HTML, PDF, DOCX) extract the
readable text through their well-kept parsers. Every way a file can be bad becomes :class:`SkipFile` with
a reason a KB admin can act on; nothing else escapes for a bad file.
"""

from __future__ import annotations

import hashlib
import io
import re
import stat
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"})
_TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})

_SCORED = re.compile(r"[^\x00-\x7f\s]")  # ASCII and spaces read alike in every candidate: no evidence
_SAMPLE = 4000  # plenty to tell readings apart, and bounded for 50 MB files
_MIN_PLAUSIBLE = 0.5  # real text scores 2+; Shift-JIS read as GB18030 scores ~0.3
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# Browsers read these labels as a superset (WHATWG Encoding); UTF-16 in an ASCII-readable <meta> is a lie.
_HTML_LABELS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "utf-16": "utf-8"}
_DROP_TAGS = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template"]
_BLOCK_TAGS = [
    "title", "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "blockquote",
    "pre", "table", "ul", "ol", "dl", "dd", "dt", "main", "figcaption", "hr",
]  # fmt: skip
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
# A source line break between two CJK characters is no space at all (CSS Text, segment break transform).
_CJK_BREAK = re.compile(rf"(?<=[{_WIDE}])[ \t]*\n\s*(?=[{_WIDE}])")
_BLANK_RUNS = re.compile(r"\n{3,}")


class SkipFile(Exception):
    """The file cannot be ingested; ``str(exc)`` is a one-line reason a KB admin understands."""

    def __init__(self, reason: str) -> None:
        flat = " ".join(reason.split())
        super().__init__(flat if len(flat) <= 120 else flat[:119] + "…")


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    text: str  # the "original" that cleaning maps offsets back to
    encoding: str | None  # "utf-8", "gb18030" or "big5" for text files; None when a parser read the bytes
    sha256: str  # of the raw bytes


@lru_cache(maxsize=8192)
def _weight(char: str) -> int:
    # GB2312 level 1 and Big5 level 1: the common Simplified (3,755) and Traditional (5,401) characters.
    for codec, low, high in (("gb2312", 0xB0A1, 0xD7F9), ("big5", 0xA440, 0xC67E)):
        with suppress(UnicodeEncodeError):
            if low <= int.from_bytes(char.encode(codec), "big") <= high:
                return 1
    return 0


def _plausibility(text: str) -> tuple[float, int]:
    """Mean weight of the first non-ASCII characters, and how many were scored."""
    weights = [_weight(m.group()) for m in islice(_SCORED.finditer(text), _SAMPLE)]
    return (sum(weights) / len(weights) if weights else 1.0), len(weights)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM), GB18030/GBK or Big5 bytes; return ``(text, encoding)``.

    GB18030 and Big5 often decode each other's bytes without error, so a strict decode proves nothing: each
    reading that succeeds is scored by how common its characters are in real Chinese and the best wins (a
    tie goes to GB18030). Raises :class:`SkipFile` when no reading is plausible text.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best: tuple[float, str, str] | None = None
    for encoding in ("gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score, scored = _plausibility(text)
        # A few characters may be a rare name; a long run of rarities is another encoding or binary.
        if (score >= _MIN_PLAUSIBLE or scored < 20) and (best is None or score > best[0]):
            best = (score, encoding, text)
    if best is None:
        raise SkipFile("undecodable bytes: not UTF-8, GB18030 or Big5")
    return best[2], best[1]


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KB" if n < 2**20 else f"{n / 2**20:.1f} MB"


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise SkipFile("unreadable: is a directory")
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            raise SkipFile("unreadable: not a regular file")
        if info.st_size > max_bytes:
            raise SkipFile(f"too large: {_size(info.st_size)} (limit {_size(max_bytes)})")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SkipFile(f"unreadable: {reason}") from None
    if len(data) > max_bytes:
        raise SkipFile(f"too large: over the limit of {_size(max_bytes)}")
    return data


def _check_text_bytes(data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # 0xFF never starts UTF-8, GB18030 or Big5
        raise SkipFile("undecodable bytes: UTF-16 text, save it as UTF-8")
    head = data[:8192]
    # Text in these encodings never holds NUL and hardly any C0 controls besides tab, newlines, FF and ESC.
    if b"\x00" in data or len(_CONTROL.findall(head)) > len(head) // 100 + 2:
        raise SkipFile("binary file, not text")


def _decode_html(data: bytes) -> str:
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        label = declared.group(1).decode("ascii").lower()
        try:
            return data.decode(_HTML_LABELS.get(label, label))
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: judge the bytes themselves
    return decode_text(data)[0]


def _html_text(data: bytes) -> str:
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(_decode_html(data), "lxml")
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    # Source whitespace is layout, not text; only block boundaries and <br> become line breaks.
    for node in soup.find_all(string=True):
        if type(node) is NavigableString and node.find_parent("pre") is None:  # not comments, doctype
            node.replace_with(_squash(str(node)))
    for br in soup("br"):
        br.replace_with("\n")
    for cell in soup(["td", "th"]):
        if cell.find_previous_sibling(["td", "th"]):
            cell.insert_before(" | ")
    for tag in soup(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (line.strip() for line in soup.get_text().splitlines())
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def _squash(text: str) -> str:
    """Collapse a text node's whitespace, keeping one space at an edge so neighbouring words do not glue."""
    inner = " ".join(_CJK_BREAK.sub("", text).split())
    if not inner:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + inner + (" " if text[-1].isspace() else "")


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _pdf_text(data: bytes, max_chars: int) -> str:
    from pypdf import PdfReader

    reader: Any = None
    try:
        reader = PdfReader(io.BytesIO(data))
        # An owner-password-only PDF opens with the empty user password, as any viewer would.
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("unreadable PDF: password protected")
        pages: list[str] = []
        length = 0
        for page in reader.pages:  # page by page, so a PDF full of text stops at the limit, not after
            pages.append((page.extract_text() or "").strip())
            length += len(pages[-1])
            if length > max_chars:
                raise SkipFile(_too_much_text(max_chars))
        return "\n\n".join(pages)
    except SkipFile:
        raise
    except Exception as exc:  # pypdf raises a wide, undocumented range of errors on damaged files
        encrypted = "encrypted, " if reader is not None and reader.is_encrypted else ""
        raise SkipFile(f"unreadable PDF: {encrypted}{_describe(exc)}") from None


def _check_unpacked(data: bytes, limit: int) -> None:
    """Refuse a zip (a DOCX is one) that unpacks to more than ``limit`` bytes. The sizes its directory
    declares can lie, so every member is inflated and counted, a block at a time, stopping at the limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            declared = sum(m.file_size for m in members)
            if declared > limit:
                raise SkipFile(
                    f"unpacks to {_size(declared)} (limit {_size(limit)}): a zip bomb, or too large"
                )
            total = 0
            for member in members:
                with archive.open(member) as stream:
                    while block := stream.read(1 << 20):
                        total += len(block)
                        if total > limit:
                            raise SkipFile(
                                f"unpacks to over {_size(limit)}, more than its directory declares"
                            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError) as exc:
        raise SkipFile(f"unreadable DOCX: {_describe(exc)}") from None


def _docx_text(data: bytes) -> str:
    import docx
    from docx.table import Table

    lines: list[str] = []
    try:
        for block in docx.Document(io.BytesIO(data)).iter_inner_content():  # body order, tables in place
            if not isinstance(block, Table):
                lines.append(block.text)
                continue
            for row in block.rows:
                grid = row.cells  # a cell spanning several columns is repeated once per column
                cells = [c for i, c in enumerate(grid) if i == 0 or c is not grid[i - 1]]
                lines.append(" | ".join(" ".join(c.text.split()) for c in cells))
    except Exception as exc:  # python-docx surfaces zip, XML and package errors unwrapped
        raise SkipFile(f"unreadable DOCX: {_describe(exc)}") from None
    return "\n".join(lines)


def _too_much_text(limit: int) -> str:
    return f"too much text: over {limit:,} characters (CRMKB_INGEST_MAX_TEXT_CHARS)"


def load_file(
    path: Path, *, max_bytes: int = 50 * 2**20, max_unpacked: int = 200 * 2**20, max_chars: int = 5_000_000
) -> LoadedFile:
    """Load one file; raises :class:`SkipFile` for anything that cannot become text, or whose unpacked size
    or extracted text would be out of proportion (``max_unpacked`` bytes, ``max_chars`` characters)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkipFile(f"unsupported file type {suffix or '(no extension)'}")
    data = _read(path, max_bytes)
    if not data.strip():
        raise SkipFile("empty file")
    encoding: str | None = None
    if suffix in _TEXT_SUFFIXES:
        _check_text_bytes(data)
        text, encoding = decode_text(data)
    elif suffix in {".html", ".htm"}:
        _check_text_bytes(data)
        text = _html_text(data)
    elif suffix == ".pdf":
        text = _pdf_text(data, max_chars)
    else:
        _check_unpacked(data, max_unpacked)
        text = _docx_text(data)
    if len(text) > max_chars:
        raise SkipFile(_too_much_text(max_chars))
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        hint = " (scanned pages need OCR first)" if suffix == ".pdf" else ""
        raise SkipFile("empty file" if suffix in _TEXT_SUFFIXES else f"no text found{hint}")
    return LoadedFile(path, text, encoding, hashlib.sha256(data).hexdigest())
