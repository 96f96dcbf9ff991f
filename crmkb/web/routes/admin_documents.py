"""The admin console's Documents page (/admin/documents): what the index holds and what kb/ holds, upload,
delete, catalog entries, and re-ingest with its progress.

An upload is streamed to a hidden file in kb/ (ingest skips dot-files), capped at the ingest's file size
limit while it arrives, loaded as ingest would load it, and only then renamed into place: a refused or
broken upload never leaves a file for ingest to find. Uploads are on ``/admin/documents/upload/<name>``,
outside /api/*, because every /api/* body is capped at ``max_body_bytes`` (a question's size) before any
route runs; this route caps its own. Changes to kb/ are served after a re-ingest, which the page starts.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crmkb.core.errors import Conflict, NotFound, Unavailable, UserError
from crmkb.core.files import sync_folder
from crmkb.core.settings import Settings
from crmkb.ingest.catalog import CATALOG_FILE, load_catalog
from crmkb.ingest.catalog_edit import set_entry, write_catalog
from crmkb.ingest.last_report import last_report
from crmkb.ingest.loaders import SkipFile, load_file
from crmkb.ingest.pipeline import RESERVED_FILES, discover, display_path
from crmkb.web.admin_auth import AdminRoute
from crmkb.web.deps import BotDep
from crmkb.web.reingest import Reingester

router = APIRouter(prefix="/api/admin/documents", tags=["admin"], route_class=AdminRoute)
upload = APIRouter(prefix="/admin/documents", tags=["admin"], route_class=AdminRoute)
UPLOAD_TYPES = frozenset({".txt", ".md", ".html", ".pdf", ".docx"})
Status = Literal["indexed", "changed", "new", "deleted", "skipped"]


class Document(BaseModel):
    path: str = Field(description="The file, relative to kb/ (what delete takes).")
    source: str = Field(description="The file name: the catalog's key.")
    title: str
    kind: str
    chunks: int = Field(description="Chunks in the index being served (0 when not indexed).")
    bytes: int | None = Field(default=None, description="The file's size in kb/; null once it is deleted.")
    modified_at: float | None = Field(default=None, description="The file's modification time (Unix).")
    status: Status = Field(
        description="indexed: served as the file is; changed/new/deleted: kb/ differs from the index until "
        "the next re-ingest; skipped: the last re-ingest could not use it (see reason)."
    )
    reason: str = ""
    catalog: dict[str, Any] | None = Field(default=None, description="Its kb/catalog.toml entry, if any.")


class DocumentList(BaseModel):
    serving: str | None = Field(description="The index version answers come from.")
    published_at: float | None = Field(description="When that version was written (Unix time).")
    documents: list[Document]
    skipped: list[dict[str, str]] = Field(description="Files the last ingest skipped, and why.")
    last_ingest: dict[str, Any] | None
    upload_types: list[str]
    upload_limit_bytes: int


class CatalogFields(BaseModel):
    title: str = Field(max_length=200)
    kind: Literal["best-practice", "failure-case"]
    title_en: str = Field(default="", max_length=200)
    subject: str = Field(default="", max_length=200)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _listing(bot: Any) -> DocumentList:
    settings: Settings = bot.settings
    kb_dir = settings.kb_dir
    try:
        knowledge = bot.load().knowledge
    except Unavailable:
        knowledge = None  # no index yet, or the store is down: kb/ is still worth showing
    indexed = dict(knowledge.index.documents) if knowledge else {}
    chunks: dict[str, int] = {}
    for chunk in knowledge.chunks.values() if knowledge else ():
        chunks[chunk.source] = chunks.get(chunk.source, 0) + 1
    report = last_report(settings.data_dir)
    skipped = {s["file"]: s["reason"] for s in (report or {}).get("skipped", [])}
    try:
        catalog = {k: v.model_dump(exclude_defaults=True) for k, v in load_catalog(kb_dir).items()}
    except UserError:
        catalog = {}  # the page still lists files; a re-ingest names the catalog's problem
    files, _ = discover([kb_dir], kb_dir) if kb_dir.is_dir() else ([], [])
    rows: list[Document] = []
    for file in files:
        path, stat = display_path(file, kb_dir), file.stat()
        stored = indexed.pop(file.name, None)
        status: Status
        if stored is not None:
            status = "indexed" if stored.sha256 == _sha256(file) else "changed"
            title, kind = stored.title, stored.kind
        else:
            status = "skipped" if path in skipped else "new"
            title, kind = (
                catalog.get(file.name, {}).get("title", ""),
                catalog.get(file.name, {}).get("kind", ""),
            )
        rows.append(Document(path=path, source=file.name, title=title, kind=kind, chunks=chunks.get(file.name, 0),
                             bytes=stat.st_size, modified_at=stat.st_mtime, status=status,
                             reason=skipped.get(path, ""), catalog=catalog.get(file.name)))  # fmt: skip
    for source, stored in indexed.items():  # in the index, gone from kb/
        rows.append(Document(path=stored.path, source=source, title=stored.title, kind=stored.kind,
                             chunks=chunks.get(source, 0), status="deleted", catalog=catalog.get(source)))  # fmt: skip
    version = knowledge.index.version.name if knowledge else None
    manifest = settings.data_dir / "index" / version / "manifest.json" if version else None
    return DocumentList(
        serving=version,
        published_at=manifest.stat().st_mtime if manifest and manifest.exists() else None,
        documents=sorted(rows, key=lambda d: d.path),
        skipped=[{"file": f, "reason": r} for f, r in skipped.items()],
        last_ingest=report,
        upload_types=sorted(UPLOAD_TYPES),
        upload_limit_bytes=_limit(settings),
    )


def _limit(settings: Settings) -> int:
    return int(settings.ingest.max_file_mb * 2**20)


def kb_file(settings: Settings, path: str) -> Path:
    """``path`` (relative to kb/) as a file inside kb/; 404 for anything else."""
    kb_dir = settings.kb_dir.resolve()
    target = (kb_dir / path).resolve()
    if kb_dir not in target.parents or target.name in RESERVED_FILES or not target.is_file():
        raise NotFound(f"no document {path} in kb/")
    return target


@contextmanager
def _kb_written() -> Iterator[None]:
    """A kb/ that refuses the change (missing, read-only, full) as an answer the admin can act on."""
    try:
        yield
    except OSError as exc:
        raise HTTPException(
            status_code=503, detail=f"kb/ could not be changed ({exc.strerror or exc})"
        ) from exc


def _reingester(request: Request) -> Reingester:
    reingester: Reingester = request.app.state.reingester  # built in the app's lifespan
    return reingester


@router.get("", response_model=DocumentList)
async def list_documents(bot: BotDep) -> DocumentList:
    return await run_in_threadpool(_listing, bot)


@router.delete("/files/{path:path}")
def delete_document(path: str, bot: BotDep) -> dict[str, str]:
    with _kb_written():
        kb_file(bot.settings, path).unlink()
        sync_folder(bot.settings.kb_dir)
    return {"deleted": path, "detail": f"{path} deleted from kb/; re-ingest to stop answering from it"}


@router.put("/catalog/{source}")
def edit_catalog(source: str, body: CatalogFields, bot: BotDep) -> dict[str, Any]:
    kb_dir = bot.settings.kb_dir
    if source in RESERVED_FILES or "/" in source or not (kb_dir / source).exists():
        raise NotFound(f"no document {source} in kb/")
    text = set_entry(kb_dir, source, body.model_dump())
    with _kb_written():
        write_catalog(kb_dir, text)
    return {"source": source, "catalog": load_catalog(kb_dir)[source].model_dump(exclude_defaults=True),
            "detail": f"{CATALOG_FILE} saved; re-ingest to serve the new title and kind"}  # fmt: skip


@router.post("/ingest", status_code=202)
def start_ingest(request: Request) -> dict[str, Any]:
    return _reingester(request).start().public()


@router.get("/ingest")
def ingest_state(request: Request) -> dict[str, Any]:
    job = _reingester(request).current
    return {"job": job.public() if job else None}


# What a file system takes in a name (255 bytes on ext4, NFS, APFS), less room for the upload's hidden
# ".<name>.<random>.part" beside it.
NAME_BYTES = 200


def _checked_name(name: str) -> str:
    suffix = Path(name).suffix.lower()
    stem = Path(name).stem
    # control and format characters (a NUL, a newline, a right-to-left override that shows "evil\u202etxt.md"
    # as "eviltxt.md") make a name the table cannot show as it is, or the file system refuses
    hidden = any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name)
    if (
        "/" in name or "\\" in name or name.startswith(".") or not stem.strip() or hidden
        or len(name.encode("utf-8")) > NAME_BYTES
    ):  # fmt: skip
        raise UserError(
            f"{name!r} is not a file name to put in kb/ (no folders, no leading dot, no control "
            f"characters, at most {NAME_BYTES} bytes)"
        )
    if suffix not in UPLOAD_TYPES:
        raise UserError(
            f"{name}: unsupported file type {suffix or '(none)'}; upload {', '.join(sorted(UPLOAD_TYPES))}"
        )
    return name


def _too_large(name: str, settings: Settings) -> HTTPException:
    limit = f"{settings.ingest.max_file_mb:g} MB limit (CRMKB_INGEST_MAX_FILE_MB)"
    return HTTPException(status_code=413, detail=f"{name} is larger than the {limit}")


@upload.put("/upload/{name}", status_code=201)
async def upload_document(name: str, request: Request, bot: BotDep, replace: bool = False) -> dict[str, Any]:
    """The request body is the file. Refused (and nothing written) when the name, type, size or content is
    not one ingest can use; 409 when kb/ has the file already, unless ``replace``."""
    settings = bot.settings
    target = settings.kb_dir / _checked_name(name)
    if target.exists() and not replace:
        raise Conflict(f"kb/{name} exists already: delete it first, or upload with replace")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _limit(settings):
        raise _too_large(name, settings)
    with _kb_written():
        size = await _store(request, settings, target)
    return {"uploaded": name, "bytes": size, "detail": f"{name} added to kb/; re-ingest to answer from it"}


async def _store(request: Request, settings: Settings, target: Path) -> int:
    """Stream the body to a hidden file beside ``target``, load it as ingest would, then rename it into
    place; the hidden file is gone whatever happens."""
    limit, limits = _limit(settings), settings.ingest
    tmp = target.parent / f".upload-{secrets.token_hex(6)}{target.suffix.lower()}"
    try:
        size = 0
        with tmp.open("xb") as handle:
            async for block in request.stream():
                size += len(block)
                if size > limit:
                    raise _too_large(target.name, settings)
                handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            await run_in_threadpool(load_file, tmp, max_bytes=limit, max_unpacked=int(limits.max_unpacked_mb * 2**20),
                                    max_chars=limits.max_text_chars)  # fmt: skip
        except SkipFile as exc:
            raise UserError(f"{target.name} cannot be ingested: {exc}") from None
        os.replace(tmp, target)
        sync_folder(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return size
