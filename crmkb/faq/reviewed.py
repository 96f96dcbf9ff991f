"""Reviewed FAQ files (CSV or JSON) read back into entries, every field checked, and CSV formula cells.

A CSV may come back in any encoding a spreadsheet saves on the trainers' machines (``_decoded``). A
trainer's file is untrusted input: each field's type, allowed values and length are checked, and the
first fault stops the read with one line naming the file, the row and the field, before anything is
written or published. CSV cells a spreadsheet would run as a formula get a leading ``'`` when written
(OWASP's CSV-injection advice); reading takes off exactly that prefix, so an untouched export reads back
as it was written.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crmkb.bot.service import MAX_QUESTION_CHARS
from crmkb.core.errors import UserError
from crmkb.faq.entries import STATUSES, Entry
from crmkb.ingest.loaders import SkipFile, decode_text

COLUMNS = ["id", "status", "question", "also_asked", "answer", "edited_answer", "check", "source", "title",
           "section", "kind", "citations", "order"]  # fmt: skip
ANSWERS = ("answer", "edited_answer")  # the cells whose line breaks a reader sees
SHORT = 1_000  # a source, title, section or kind
LONG = 50_000  # an answer, an edit, a check or a quote
TEXT_LIMITS = {"id": 20, "status": 20, "question": MAX_QUESTION_CHARS, "answer": LONG, "edited_answer": LONG,
               "check": LONG, "source": SHORT, "title": SHORT, "section": SHORT, "kind": SHORT}  # fmt: skip
CITATION_TEXT = {"source": SHORT, "title": SHORT, "section": SHORT, "kind": SHORT, "quote": LONG}
CITATION_ENGLISH = ("title_en", "section_en")  # optional: files written before the catalog had them lack them
MAX_MARKER = 999  # markers are [1] to [999] (crmkb.bot.prompts.CITATION)
ID = re.compile(r"[0-9A-Za-z_-]+")
# Cells a spreadsheet reads as a formula (or that hide one behind a tab or CR), and those that already
# start with our quote, so that taking one quote off on reading is exact.
FORMULA = re.compile(r"'*[=+\-@\t\r]")


class ReviewError(UserError):
    """A reviewed file that cannot be used; the message names the file, and the row and field at fault."""


class _Fault(ValueError):
    """What is wrong with one field; ``read_reviewed`` adds the file and the row."""


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs."""
    return "'" + cell if FORMULA.match(cell) else cell


def restore(cell: str) -> str:
    """The cell ``neutralise`` was given."""
    return cell[1:] if cell.startswith("'") and FORMULA.match(cell) else cell


def read_reviewed(path: Path) -> list[Entry]:
    """Entries from a reviewed CSV or JSON file written by ``formats.write``; ``ReviewError`` if malformed."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ReviewError(f'{path}: a reviewed file is .csv or .json (save a spreadsheet as "CSV UTF-8")')
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReviewError(f"{path}: {exc.strerror or exc}") from None
    text = _decoded(path, data)
    entries: list[Entry] = []
    ids: set[str] = set()
    rows = _csv_rows(path, text) if suffix == ".csv" else _json_rows(path, text)
    for where, row in rows:
        try:
            entry = _entry(row)
            if entry.id in ids:
                raise _Fault(f"field 'id': {entry.id!r} is repeated")
        except _Fault as exc:
            raise ReviewError(f"{path}: {where}, {exc}") from None
        ids.add(entry.id)
        entries.append(entry)
    if not entries:
        raise ReviewError(f"{path}: no entries")
    return entries


def _decoded(path: Path, data: bytes) -> str:
    """The file's text in whichever encoding a spreadsheet saved it: "CSV UTF-8" (with a byte-order mark),
    plain UTF-8, or the ANSI code page of Chinese Windows (GB18030/GBK, Big5), as WPS and Excel save "CSV"."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReviewError(f'{path}: UTF-16 text ("Unicode Text"); save it as "CSV UTF-8"')
    try:
        # GB18030 and Big5 decode each other's bytes without error, so trying them in turn and taking the
        # first that decodes would read every Big5 file as GB18030 nonsense: the ingest loader's decoder
        # tries UTF-8 strictly, then judges both readings by how common their characters are.
        text = decode_text(data)[0]
    except SkipFile:
        raise ReviewError(
            f'{path}: not text in any encoding tried (UTF-8 with or without BOM, GB18030, Big5); save it as "CSV UTF-8"'
        ) from None
    return text.removeprefix("\ufeff")  # a GB18030 byte-order mark decodes to U+FEFF


def _csv_rows(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    # newline="": a cell may hold line breaks, and a CR a formula hides behind must survive to be restored.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    number = 1  # the header is row 1, as a spreadsheet numbers it
    try:
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or COLUMNS)]
        if missing:
            raise ReviewError(f"{path}: row 1 (the header): no column {missing[0]!r}")
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise ReviewError(f"{path}: row {number}: more cells than the header has columns")
            if any(v is None for v in row.values()):
                raise ReviewError(f"{path}: row {number}: fewer cells than the header has columns")
            cells = {k: restore(v) for k, v in row.items()}
            for name in ANSWERS:  # Excel breaks lines in a cell with LF; a Windows editor or git may use CRLF
                cells[name] = cells[name].replace("\r\n", "\n")
            yield f"row {number}", _parsed_cells(cells)
    except csv.Error as exc:
        raise ReviewError(f"{path}: row {number + 1}: not CSV ({exc})") from None


def _parsed_cells(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row's cells as JSON would hold them: lists as JSON text parsed, ``order`` a number."""
    parsed: dict[str, Any] = dict(row)
    for name in ("also_asked", "citations"):
        try:
            parsed[name] = json.loads(row[name] or "[]")
        except (json.JSONDecodeError, RecursionError):
            parsed[name] = _Unparsable(name)
    text = row["order"].strip() or "0"
    parsed["order"] = int(text) if text.isascii() and text.isdigit() else _Unparsable("order")
    return parsed


class _Unparsable:
    def __init__(self, field: str) -> None:
        self.field = field


def _json_rows(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReviewError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise ReviewError(f"{path}: not a FAQ review file (nested too deeply)") from None
    if not isinstance(data, list):
        raise ReviewError(f"{path}: expected a JSON list of entries, found {_kind(data)}")
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise ReviewError(f"{path}: entry {number}: expected an object, found {_kind(item)}")
        yield f"entry {number}", item


def _entry(row: dict[str, Any]) -> Entry:
    for name in COLUMNS:
        if name not in row:
            raise _Fault(f"field {name!r} is missing")
    texts = {name: _text(f"field {name!r}", row[name], limit) for name, limit in TEXT_LIMITS.items()}
    if not ID.fullmatch(texts["id"]):
        raise _Fault(f"field 'id': {_show(texts['id'])} is not an id (letters, digits, - and _)")
    if texts["status"] not in STATUSES:
        raise _Fault(f"field 'status': {_show(texts['status'])} is not one of {', '.join(STATUSES)}")
    if not texts["question"].strip():
        raise _Fault("field 'question' is empty")
    also_asked = [
        _text(f"field 'also_asked', item {i}", q, MAX_QUESTION_CHARS)
        for i, q in enumerate(_list("also_asked", row["also_asked"]), start=1)
    ]
    citations = [_citation(i, c) for i, c in enumerate(_list("citations", row["citations"]), start=1)]
    numbers = [c["n"] for c in citations]
    if len(set(numbers)) != len(numbers):
        raise _Fault("field 'citations': a marker number n is used twice")
    order = _number("field 'order'", row["order"], minimum=0)
    return Entry(**texts, also_asked=also_asked, citations=citations, order=order)


def _citation(index: int, value: object) -> dict[str, Any]:
    where = f"field 'citations', citation {index}"
    if not isinstance(value, dict):
        raise _Fault(f"{where}: expected an object, found {_kind(value)}")
    for name in ("n", *CITATION_TEXT, "start", "end", "score"):
        if name not in value:
            raise _Fault(f"{where}: {name!r} is missing")
    score = value["score"]
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise _Fault(f"{where}, 'score': expected a number, found {_kind(score)}")
    # Built in the order Citation declares its fields, as the writers do, so a round trip is exact.
    return {
        "n": _number(f"{where}, 'n'", value["n"], minimum=1, maximum=MAX_MARKER),
        **{name: _text(f"{where}, {name!r}", value[name], limit) for name, limit in CITATION_TEXT.items()},
        "start": _number(f"{where}, 'start'", value["start"], minimum=0),
        "end": _number(f"{where}, 'end'", value["end"], minimum=0),
        "score": score,
        **{
            name: _text(f"{where}, {name!r}", value[name], SHORT)
            for name in CITATION_ENGLISH
            if name in value
        },
    }


def _text(where: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise _Fault(f"{where}: expected text, found {_kind(value)}")
    if len(value) > limit:
        raise _Fault(f"{where}: {len(value)} characters long; at most {limit}")
    if "\0" in value:
        raise _Fault(f"{where}: holds a NUL character (a binary file?)")
    return value


def _list(name: str, value: object) -> list[object]:
    if isinstance(value, _Unparsable):
        raise _Fault(f"field {name!r}: not a JSON list")
    if not isinstance(value, list):
        raise _Fault(f"field {name!r}: expected a list, found {_kind(value)}")
    return value


def _number(where: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, _Unparsable | bool) or not isinstance(value, int):
        raise _Fault(f"{where}: expected a whole number, found {_kind(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        raise _Fault(f"{where}: {value} is out of range")
    return value


def _kind(value: object) -> str:
    if isinstance(value, _Unparsable):
        return "text that is not a number"
    if isinstance(value, str):
        return f"text {_show(value)}"
    names = {bool: "true/false", int: "a number", float: "a decimal number", list: "a list", dict: "an object"}  # fmt: skip
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")
