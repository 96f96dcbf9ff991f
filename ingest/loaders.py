"""Turn one file into text, or say in one short line why it cannot be.

The text returned is the "original" that cleaning maps its offsets back to, so loaders change as little as
possible: decode, unify line ends, and for structured formats (HTML, PDF, DOCX) extract the readable text
through their well-kept parsers.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"})
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
CANDIDATE_ENCODINGS = ("gb18030", "big5")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", re.IGNORECASE)
_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template")
_BLOCK_TAGS = (
    "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "section", "article", "blockquote",
    "pre", "table", "ul", "ol", "dd", "dt",
)  # fmt: skip


class SkipFile(Exception):
    """The file cannot be ingested; ``str(exc)`` is a one-line reason a KB admin understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(reason.split())[:140])


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    text: str
    encoding: str | None
    sha256: str


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM), GB18030/GBK or Big5 bytes; return ``(text, encoding)``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # GB18030 and Big5 often decode each other's bytes without error, so a strict decode proves nothing;
    # charset-normalizer judges which reading is coherent text.
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(CANDIDATE_ENCODINGS)).best()
    if best is None or best.encoding not in CANDIDATE_ENCODINGS:
        raise SkipFile("undecodable bytes: not UTF-8, GB18030 or Big5")
    return str(best), best.encoding


def _unify_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise SkipFile("unreadable: is a directory")
        if size > max_bytes:
            raise SkipFile(f"too large: {size / 2**20:.1f} MB (limit {max_bytes / 2**20:.1f} MB)")
        return path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"unreadable: {exc.strerror or type(exc).__name__}") from None


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    return b"\x00" in head or len(_CONTROL.findall(head.decode("latin-1"))) > len(head) // 100 + 2


def _html_text(data: bytes) -> str:
    from bs4 import BeautifulSoup

    declared = _META_CHARSET.search(data[:4096])
    text: str | None = None
    if declared:
        try:
            text = data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            text = None
    if text is None:
        text, _ = decode_text(data)
    soup = BeautifulSoup(text, "lxml")
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkipFile("unreadable PDF: encrypted")
        return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise SkipFile(f"unreadable PDF: {exc}") from None


def _docx_text(data: bytes) -> str:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SkipFile(f"unreadable DOCX: {exc}") from None
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows)
    return "\n".join(lines)


def load_file(path: Path, *, max_bytes: int = 50 * 2**20) -> LoadedFile:
    """Load one file; raises :class:`SkipFile` for anything that cannot become text."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkipFile(f"unsupported file type {suffix or '(no extension)'}")
    data = _read(path, max_bytes)
    if not data.strip():
        raise SkipFile("empty file")
    digest = hashlib.sha256(data).hexdigest()
    encoding: str | None = None
    if suffix in TEXT_SUFFIXES:
        if _looks_binary(data):
            raise SkipFile("binary file, not text")
        text, encoding = decode_text(data)
    elif suffix in {".html", ".htm"}:
        text = _html_text(data)
    elif suffix == ".pdf":
        text = _pdf_text(data)
    else:
        text = _docx_text(data)
    text = _unify_newlines(text)
    if not text.strip():
        raise SkipFile("no text found" if suffix in {".pdf", ".docx", ".html", ".htm"} else "empty file")
    return LoadedFile(path, text, encoding, digest)
