"""The ingest run: discover files, load, clean, chunk, embed what is new, and publish a new version.

Idempotent by construction: a chunk's id hashes its source and exactly what is embedded, so an unchanged
chunk keeps its id and its vector stays where it is in the pool, neither recomputed nor written again. All
slow and fallible work (reading, cleaning, embedding) happens before the store is touched; the new version
becomes visible in one step at the end.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crmkb.core.settings import Settings
from crmkb.ingest import artifacts, unchanged
from crmkb.ingest.artifacts import StoredDocument
from crmkb.ingest.cache import CACHE_FILE, IngestCache, bm25_tokens, embed_passages, latent_terms
from crmkb.ingest.catalog import CATALOG_FILE, CatalogEntry, guess_kind, load_catalog, unknown_sections
from crmkb.ingest.chunking import Chunk, chunk_document, chunk_id, embed_text
from crmkb.ingest.clean import clean, fallback_title
from crmkb.ingest.embeddings import IdentifiedEmbeddings, make_embeddings
from crmkb.ingest.glossary_file import GLOSSARY_FILE, read_glossary
from crmkb.ingest.index import IndexStore, chunk_from_store, make_store
from crmkb.ingest.latent import LatentIndex, Terms, made_by
from crmkb.ingest.loaders import SUPPORTED_SUFFIXES, SkipFile, load_file
from crmkb.ingest.lock import ingest_lock
from crmkb.ingest.sentences import SentenceTable, sentence_units
from crmkb.ingest.sparse import SparseIndex
from crmkb.ingest.store import Record, VectorStore, Version, remove_orphan_storage

# Files in kb/ that configure the knowledge base rather than belong to it.
RESERVED_FILES = frozenset({CATALOG_FILE, GLOSSARY_FILE})

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Skipped:
    file: str
    reason: str


@dataclass
class IngestReport:
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    sentences_embedded: int = 0
    from_cache: int = 0  # chunk and sentence vectors read from the ingest cache instead of embedded
    unchanged: int = 0
    removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    cleaning: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    version: str | None = None
    published: bool = False
    repaired: list[str] = field(default_factory=list)
    cleaned_up: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. an English title for a section that is not there

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "sentences_embedded": self.sentences_embedded,
            "from_cache": self.from_cache,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": [{"file": s.file, "reason": s.reason} for s in self.skipped],
            "cleaning_removed": dict(sorted(self.cleaning.items())),
            "seconds": round(self.seconds, 3),
            "version": self.version,
            "published": self.published,
            "repaired": self.repaired,
            "cleaned_up": self.cleaned_up,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class Prepared:
    document: StoredDocument
    chunks: list[Chunk]
    cleaning: Counter[str]
    warnings: list[str] = field(default_factory=list)


def discover(
    paths: Sequence[Path], kb_dir: Path, *, follow_links_out: bool = False
) -> tuple[list[Path], list[Skipped]]:
    """Candidate files under the given paths, and paths that cannot be ingested at all.

    A link must stay inside what the admin chose: a file found in a folder must resolve inside that folder,
    and a file named directly must not be a link to somewhere else; otherwise anyone who can drop a link
    into kb/ could have the bot quote /etc/passwd. ``follow_links_out`` lifts this.
    """
    files: list[Path] = []
    skipped: list[Skipped] = []

    def take(file: Path, root: Path) -> None:
        target = file.resolve()
        if follow_links_out or not file.exists() or target == root or root in target.parents:
            files.append(file)
        else:
            skipped.append(Skipped(display_path(file, kb_dir), f"links outside {root} (to {target}); "
                                   "set CRMKB_INGEST_FOLLOW_LINKS_OUT=true to allow"))  # fmt: skip

    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or child.is_dir():
                    continue
                if child.name in RESERVED_FILES:
                    continue
                take(child, root)
        elif path.exists() or path.is_symlink():
            take(path, path.parent.resolve() / path.name)
        else:
            skipped.append(Skipped(display_path(path, kb_dir), "unreadable: no such file or directory"))
    return files, skipped


def display_path(path: Path, kb_dir: Path) -> str:
    """How a file is named in records and reports: relative to kb/ when inside it."""
    absolute = Path(path).absolute()
    try:
        return str(absolute.relative_to(kb_dir.absolute()))
    except ValueError:
        return str(absolute)


def prepare(path: Path, *, kb_dir: Path, catalog: dict[str, CatalogEntry], settings: Settings) -> Prepared:
    """Load, clean and chunk one file; raises SkipFile with the reason it cannot be ingested."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise SkipFile(f"unsupported file type {path.suffix or '(none)'}")
    limits = settings.ingest
    loaded = load_file(
        path,
        max_bytes=int(limits.max_file_mb * 2**20),
        max_unpacked=int(limits.max_unpacked_mb * 2**20),
        max_chars=limits.max_text_chars,
    )
    suffix = path.suffix.lower()
    cleaned = clean(loaded.text, markdown=suffix in {".md", ".markdown"}, wrapped=suffix == ".pdf")
    if not cleaned.text.strip():
        raise SkipFile("nothing left after cleaning (only boilerplate or residue)")
    entry = catalog.get(path.name)
    title = entry.title if entry else fallback_title(cleaned.text)
    kind = entry.kind if entry else guess_kind(title)
    document = StoredDocument.from_tracked(
        cleaned.tracked,
        source=path.name,
        path=display_path(path, kb_dir),
        title=title,
        kind=kind,
        sha256=loaded.sha256,
        encoding=loaded.encoding,
        original_length=len(loaded.text),
        title_en=(entry.title_en or "") if entry else "",
        sections_en=dict(entry.sections_en) if entry else {},
        subject=entry.subject if entry else "",
        author=entry.author if entry else "",
        prepared_with=unchanged.fingerprint(settings.ingest, entry),
    )
    spans = chunk_document(
        cleaned.text,
        title=title,
        limit=settings.ingest.chunk_chars,
        overlap=settings.ingest.overlap_chars,
    )
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    for start, end, section in spans:
        text = cleaned.text[start:end]
        cid = chunk_id(path.name, embed_text(title, section, text))
        seen[cid] += 1
        if seen[cid] > 1:  # the same passage twice in one document keeps distinct, stable ids
            cid = f"{cid}-{seen[cid]}"
        orig_start, orig_end = document.original_span(start, end)
        chunks.append(Chunk(cid, path.name, title, section, kind, start, end, orig_start, orig_end, text))
    if not chunks:
        raise SkipFile("nothing left after cleaning (only headings)")
    warnings = unknown_sections(path.name, entry, (c.section for c in chunks)) if entry else []
    return Prepared(document, chunks, cleaned.removed, warnings)


def chunk_record(chunk: Chunk, path: str) -> Record:
    return Record(
        chunk.id,
        chunk.text,
        {
            "source": chunk.source,
            "path": path,
            "title": chunk.title,
            "section": chunk.section,
            "kind": chunk.kind,
            "start": chunk.start,
            "end": chunk.end,
            "orig_start": chunk.orig_start,
            "orig_end": chunk.orig_end,
        },
    )


def _in_scope(path: str, scopes: Sequence[Path], kb_dir: Path) -> bool:
    absolute = (kb_dir / path).absolute() if not Path(path).is_absolute() else Path(path)
    return any(absolute == scope or scope in absolute.parents for scope in scopes)


def _prepare_all(
    scopes: Sequence[Path],
    settings: Settings,
    catalog: dict[str, CatalogEntry],
    report: IngestReport,
    progress: Progress | None,
    previous: dict[str, tuple[StoredDocument, list[Chunk]]],
) -> tuple[dict[str, Prepared], set[str]]:
    """Every file under ``scopes`` loaded, cleaned and chunked (or taken over from ``previous``, the
    active version's documents and chunks by path, when unchanged), keyed by document id; plus the paths
    that failed (recorded in ``report.skipped`` with their reasons)."""
    kb_dir = settings.kb_dir
    files, report.skipped = discover(scopes, kb_dir, follow_links_out=settings.ingest.follow_links_out)
    prepared: dict[str, Prepared] = {}
    failed_paths: set[str] = set()
    for n, path in enumerate(files, 1):
        name = display_path(path, kb_dir)
        if progress:
            progress("reading", n, len(files))
        try:
            item = _taken_over(path, name, catalog, settings, previous) or prepare(
                path, kb_dir=kb_dir, catalog=catalog, settings=settings
            )
        except SkipFile as exc:
            report.skipped.append(Skipped(name, str(exc)))
            failed_paths.add(name)
            continue
        if item.document.source in prepared:
            other = prepared[item.document.source].document.path
            report.skipped.append(Skipped(name, f"duplicate document id: {other} has the same file name"))
            continue
        prepared[item.document.source] = item
        report.cleaning.update(item.cleaning)
        report.warnings.extend(item.warnings)
    return prepared, failed_paths


def _taken_over(
    path: Path, name: str, catalog: dict[str, CatalogEntry], settings: Settings,
    previous: dict[str, tuple[StoredDocument, list[Chunk]]],
) -> Prepared | None:  # fmt: skip
    if name not in previous:
        return None
    entry = catalog.get(path.name)
    stamp = unchanged.fingerprint(settings.ingest, entry)
    found = unchanged.take_over(path, *previous[name], stamp, int(settings.ingest.max_file_mb * 2**20))
    if found is None:
        return None
    document, chunks, removed = found
    warnings = unknown_sections(path.name, entry, (c.section for c in chunks)) if entry else []
    return Prepared(document, chunks, removed, warnings)


def run_ingest(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    *,
    rebuild: bool = False,
    embeddings: IdentifiedEmbeddings | None = None,
    store: IndexStore | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index in line with the files under ``paths`` (default: the kb folder).

    Documents indexed from outside ``paths`` are left as they are; documents under ``paths`` that no
    longer exist are removed; a file that exists but fails to load keeps its previous chunks. Index files
    found damaged are rewritten, and what killed runs and retired versions left behind is removed. One
    ingest runs at a time per data dir; another waits for it.

    Three steps: :func:`plan` reads the files and decides what changes, :func:`embed` computes the vectors
    that are new, :func:`publish` writes the version and points readers at it. Only the last one writes.
    """
    waiting = (lambda: progress("waiting for another ingest", 0, 1)) if progress else None
    with ingest_lock(settings.data_dir, on_wait=waiting):
        began = time.perf_counter()
        store = store or make_store(settings)
        embeddings = embeddings or make_embeddings(settings.embedding)
        planned = plan(settings, store, paths, embeddings, rebuild=rebuild, progress=progress)
        if planned.needed:
            with _opened_cache(settings, planned.report) as cache:
                publish(
                    settings, store, planned, embed(planned, embeddings, progress, cache), progress, cache
                )
        report = planned.report
        report.seconds = time.perf_counter() - began
        report.cleaned_up = clean_up(settings, store.vectors)
        return report


@contextmanager
def _opened_cache(settings: Settings, report: IngestReport) -> Iterator[IngestCache | None]:
    """The data dir's ingest cache (``None`` when turned off); what is wrong with it goes to the report."""
    if not settings.ingest.cache:
        yield None
        return
    cache = IngestCache(settings.data_dir / CACHE_FILE, warn=report.warnings.append)
    try:
        yield cache
    finally:
        cache.close()


def ensure_index(
    settings: Settings, embeddings: IdentifiedEmbeddings, store: IndexStore | None = None
) -> IngestReport | None:
    """Ingest kb/ when no index exists yet, so a fresh checkout answers at once (what `crmkb serve`,
    `crmkb ask` and the HTTP app do before their bot loads); ``None`` when one exists."""
    store = store or make_store(settings)
    if store.active() is not None:
        return None
    return run_ingest(settings, embeddings=embeddings, store=store)


def clean_up(settings: Settings, store: VectorStore) -> list[str]:
    """Drop versions no reader needs (interrupted runs', and retired ones past the grace period), their
    index folders, ``.tmp`` folders, the pools' chunks no remaining version lists, pools no version is in,
    and the storage embedded Chroma leaves behind for dropped collections. Call it holding the ingest lock."""
    dropped = store.droppable(settings.ingest.retired_grace_s)
    pooled = {name for names in store.live_pools().values() for name in names}
    for name in dropped:
        store.drop(name)
    active = store.active()
    keep = {name for name in store.stale_versions() if name not in dropped}
    keep |= {active.name} if active is not None else set()
    removed = [f"index folder {name}" for name in artifacts.remove_except(settings.data_dir, keep)]
    for pool, versions in store.live_pools().items():
        listed = [artifacts.read_chunk_ids(settings.data_dir, name) for name in versions]
        if all(ids is not None for ids in listed):  # a version whose list is unreadable keeps every chunk
            count = store.remove_unlisted(pool, {rid for ids in listed for rid in ids or ()})
            removed += [f"{count} unlisted chunks of {pool}"] if count else []
    removed += [f"pool {name}" for name in store.drop_unused_pools()]
    if not settings.chroma_url:
        removed += [f"chroma storage {name}" for name in remove_orphan_storage(settings.data_dir / "chroma")]
    return [f"{'version' if name in pooled else 'collection'} {name}" for name in dropped] + removed


@dataclass
class Plan:
    """What an ingest will write, decided from the files and the active version before anything is
    embedded. ``report`` is filled in as the steps go."""

    report: IngestReport
    records: list[Record]  # the new version's chunks, in order
    stored: dict[str, Any]  # vectors carried over, by chunk id, for the records of ``write`` not embedded
    to_embed: list[Record]
    pool: str | None  # the pool the new version shares with the active one; None: a new pool
    write: list[Record]  # what goes into the pool: the chunks it lacks
    documents: list[StoredDocument]
    known_sentences: SentenceTable | None  # the active version's sentences, to take over what is unchanged
    old_spans: dict[str, frozenset[tuple[str, int, int]]]  # the active version's chunks by source
    current: Version | None  # the active version when it already holds exactly this content
    damage: list[str]  # what is wrong with the active version's files
    base: str | None = None  # the active version, when its files are whole
    linkable: frozenset[str] = frozenset()  # documents taken from ``base`` as they are
    glossary: str | None = None  # kb/glossary.toml, published with the version
    known_latent: dict[str, Terms] | None = None  # the active version's latent terms by chunk id

    @property
    def needed(self) -> bool:
        """False when nothing could be ingested (the index stays exactly as it was), or the index is already
        up to date and its files are whole."""
        return bool(self.records) and (self.current is None or bool(self.damage))


@dataclass(frozen=True)
class Embedded:
    embedder: str  # the model's name, recorded with the version so vectors of two models never mix
    matrix: np.ndarray  # one row per ``Plan.write``
    sentences: SentenceTable
    latent: LatentIndex | None = None  # the records' latent terms, when the model has them


def plan(
    settings: Settings,
    store: IndexStore,
    paths: Sequence[Path] | None,
    embeddings: IdentifiedEmbeddings,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> Plan:
    """Read, clean and chunk the files under ``paths`` and compare them with the active version: what is
    kept, reused, removed and to embed. Writes nothing."""
    kb_dir = settings.kb_dir
    scopes = [Path(p).absolute() for p in (paths or [kb_dir])]
    report = IngestReport()
    catalog = load_catalog(kb_dir)
    glossary = read_glossary(kb_dir)  # a malformed one stops the ingest here, before anything is written

    vectors = store.vectors
    active = vectors.active()
    damage = artifacts.damaged(settings.data_dir, active.name) if active is not None else []
    made = made_by(embeddings.cache_identity)  # what made the latent terms this ingest writes
    if active is not None and not rebuild:
        vectors.check_embedder(active, embeddings.name, embeddings.dimension)
    stored = _stored_records(settings, vectors, active, damage)
    if stored is None:  # a pooled version whose chunk list is lost: write a whole new version
        active, stored = None, []
    previous: dict[str, tuple[StoredDocument, list[Chunk]]] = {}
    if active is not None and not damage and not rebuild and settings.ingest.cache:  # taken over unread
        by_path: dict[str, list[Chunk]] = {}
        for record, _ in stored:
            by_path.setdefault(str(record.metadata.get("path", "")), []).append(
                chunk_from_store(record.id, record.text, record.metadata)
            )
        for document in artifacts.read_documents(settings.data_dir, active.name).values():
            previous[document.path] = (document, by_path.get(document.path, []))

    prepared, failed_paths = _prepare_all(scopes, settings, catalog, report, progress, previous)

    # What the active version holds, split into what this run may reuse or remove (``old``) and what it
    # carries over untouched (``kept``: outside the paths given, or a file that failed to load this time).
    old: dict[str, tuple[Record, Any]] = {}
    kept: list[tuple[Record, Any]] = []
    if active is not None:
        for record, vector in stored:
            stored_path = str(record.metadata.get("path", ""))
            source = str(record.metadata.get("source", ""))
            untouched = not _in_scope(stored_path, scopes, kb_dir) or stored_path in failed_paths
            if untouched and source not in prepared:
                kept.append((record, vector))
            else:
                old[record.id] = (record, vector)

    new_records = [chunk_record(c, p.document.path) for p in prepared.values() for c in p.chunks]
    reuse = {} if rebuild else {r.id: old[r.id][1] for r in new_records if r.id in old}
    new_ids = {r.id for r in new_records}
    report.unchanged = len(reuse)
    report.removed = sum(1 for rid in old if rid not in new_ids)
    kept_sources = {str(r.metadata.get("source")) for r, _ in kept}
    report.documents = len(prepared) + len(kept_sources)
    report.chunks = len(new_records) + len(kept)
    metadata_same = all(old[r.id][0].metadata == r.metadata for r in new_records if r.id in reuse)
    to_embed = [r for r in new_records if r.id not in reuse] + ([r for r, _ in kept] if rebuild else [])
    current = active if active is not None and not to_embed and not report.removed and metadata_same else None
    if current is not None and not damage and _described_differently(settings, current, prepared):
        current = None  # new English titles or descriptions are a new version (no re-embedding), so servers pick them up
    if (
        current is not None
        and not damage
        and artifacts.read_glossary(settings.data_dir, current.name) != glossary
    ):
        current = None  # and so is an edited glossary
    if (
        current is not None
        and not damage
        and embeddings.latent_width
        and artifacts.own_latent(settings.data_dir, current.name, made) is None
    ):
        damage = ["latent terms missing, unreadable or made by another model release"]  # rewritten
    if current is not None and not damage:
        report.version = current.name  # already up to date: embed nothing, write nothing

    records = [r for r, _ in kept] + new_records
    # A change to most of the knowledge base (or --rebuild, or a first or older-style version) starts a new
    # pool: it costs a complete write anyway, and keeps a pool's unlisted chunks a small share of it.
    share = active.pool if active is not None and not rebuild else None
    if share is not None and 2 * (len(to_embed) + report.removed) > len(records):
        share = None
    planned = Plan(
        report=report,
        records=records,
        stored={r.id: v for r, v in kept} | reuse,
        to_embed=to_embed,
        pool=share,
        write=records if share is None else to_embed,
        documents=[p.document for p in prepared.values()],
        known_sentences=None,
        old_spans=_spans(r for r, _ in stored),
        current=current,
        damage=damage,
        glossary=glossary,
    )
    # What the active version can lend the new one, read only when there is a new one to write.
    if planned.needed and active is not None and not damage:
        known = {document.source: document for document, _ in previous.values()}
        if kept_sources:
            lent = artifacts.read_documents(settings.data_dir, active.name)
            planned.documents += [lent[s] for s in sorted(kept_sources) if s in lent]
            known |= lent
        planned.base = active.name  # its files are whole: the documents taken from it are linked
        planned.linkable = frozenset(d.source for d in planned.documents if known.get(d.source) is d)
        if not rebuild:
            planned.known_latent = _known_latent(settings, active.name, made)
    # Its sentences are lent whenever their files are whole: damaged latent terms (the one optional part)
    # cost their own rewrite, not every sentence embedded again.
    essential = [problem for problem in damage if not artifacts.optional_problem(problem)]
    if planned.needed and active is not None and not essential and not rebuild:
        planned.known_sentences = artifacts.read_sentence_table(settings.data_dir, active.name)
    if planned.needed and planned.current is None:
        _locate_vectors(planned, vectors, active)
    return planned


def _stored_records(
    settings: Settings, vectors: VectorStore, active: Version | None, damage: list[str]
) -> list[tuple[Record, Any]] | None:
    """The active version's chunks, with their vectors when it has a collection of its own (a pooled
    version's are in its pool; its chunks are read from its files, not from Chroma). ``None`` when a pooled
    version's chunk list cannot be read."""
    if active is None:
        return []
    if active.pool is None:
        return list(vectors.records(active, with_embeddings=True))
    if any(problem.startswith((artifacts.CHUNKS, artifacts.MANIFEST)) for problem in damage):
        return None
    try:
        records = artifacts.read_records(settings.data_dir, active.name)
    except (OSError, ValueError, TypeError):
        return None
    return None if records is None else [(r, None) for r in records]


def _locate_vectors(planned: Plan, vectors: VectorStore, active: Version | None) -> None:
    """Narrow ``planned.write`` to what its pool lacks, or, for a new pool, fetch the vectors it copies
    from the active version's pool."""
    if planned.pool is not None:
        lacking = vectors.missing(planned.pool, [r.id for r in planned.write])
        planned.write = [r for r in planned.write if r.id in lacking]
        return
    embedding = {r.id for r in planned.to_embed}
    copied = [r.id for r in planned.write if r.id not in embedding and planned.stored.get(r.id) is None]
    if copied and active is not None and active.pool is not None:
        planned.stored.update(vectors.pool_vectors(active.pool, copied))


def embed(
    planned: Plan,
    embeddings: IdentifiedEmbeddings,
    progress: Progress | None = None,
    cache: IngestCache | None = None,
) -> Embedded:
    """The vectors the plan's version needs: carried over from the active version, read from ``cache``, or
    computed (and cached batch by batch)."""
    to_embed, report = planned.to_embed, planned.report
    texts = _passages(to_embed)
    computed, report.embedded = _embed_texts(embeddings, texts, progress, "embedding", cache)
    fresh = dict(zip([r.id for r in to_embed], computed, strict=True))
    report.from_cache = len(to_embed) - report.embedded
    matrix = np.zeros((len(planned.write), embeddings.dimension), dtype=np.float32)
    for i, record in enumerate(planned.write):
        matrix[i] = fresh[record.id] if record.id in fresh else planned.stored[record.id]
    sentences, missing, report.sentences_embedded = _sentence_table(
        embeddings, planned.records, planned.known_sentences, planned.old_spans, progress, cache
    )
    report.from_cache += missing - report.sentences_embedded
    return Embedded(
        embeddings.name,
        matrix,
        sentences,
        _latent_index(embeddings, planned.records, planned.known_latent or {}, progress, cache),
    )


def _known_latent(settings: Settings, version: str, made: str) -> dict[str, Terms] | None:
    """A version's latent terms by chunk id, for the next version to take over; ``None`` when it has none
    readable, or none ``made`` so (its chunks' terms are then made again, or read from the cache)."""
    latent = artifacts.own_latent(settings.data_dir, version, made)
    ids = artifacts.read_chunk_ids(settings.data_dir, version)
    if latent is None or ids is None or len(ids) != latent.size:
        return None
    return dict(zip(ids, latent.rows(), strict=True))


def _latent_index(
    embeddings: IdentifiedEmbeddings,
    records: list[Record],
    known: dict[str, Terms],
    progress: Progress | None,
    cache: IngestCache | None,
) -> LatentIndex | None:
    """The records' latent terms: a chunk the active version had keeps its terms (its id is a hash of the
    text they were made from); the others' are read from the cache or made."""
    width = embeddings.latent_width
    if not width:
        return None
    new = [r for r in records if r.id not in known]
    step = (lambda done, total: progress("latent terms", done, total)) if progress else None
    made, _ = latent_terms(embeddings, _passages(new), cache, step)
    fresh = dict(zip([r.id for r in new], made, strict=True))
    rows = [known[r.id] if r.id in known else fresh[r.id] for r in records]
    return LatentIndex.build(rows, width, made_by(embeddings.cache_identity))


def _passages(records: list[Record]) -> list[str]:
    """What is embedded for each chunk: its text under its title and section."""
    return [embed_text(str(r.metadata["title"]), str(r.metadata["section"]), r.text) for r in records]


def publish(
    settings: Settings,
    store: IndexStore,
    planned: Plan,
    embedded: Embedded,
    progress: Progress | None = None,
    cache: IngestCache | None = None,
) -> None:
    """Write the planned version (the chunks its pool lacks, then its files) and point readers at it, or
    only rewrite the files of the active version when its content is unchanged and its files were
    damaged."""
    if progress:
        progress("writing", 0, 1)
    records, report = planned.records, planned.report
    texts = [r.text for r in records]
    sparse = SparseIndex.build(texts, bm25_tokens(texts, cache))
    data_dir = settings.data_dir
    if planned.current is not None:
        # The store already serves this version; only its files are missing here (a replica with its own
        # data dir, or files from an older release), so write them without touching the store.
        listed = records if planned.current.pool is not None else None
        artifacts.write_version(
            data_dir, planned.current.name, planned.documents, sparse, records, embedded.sentences, listed,
            glossary=planned.glossary, latent=embedded.latent,
        )  # fmt: skip
        report.version = planned.current.name
        report.repaired = planned.damage
        return
    vectors = store.vectors
    dimension = embedded.matrix.shape[1]
    pool = planned.pool or vectors.new_pool(embedded.embedder, dimension)
    version = vectors.new_version(pool, embedded.embedder, dimension)
    try:
        vectors.add(pool, planned.write, embedded.matrix)
        artifacts.write_version(
            data_dir, version.name, planned.documents, sparse, records, embedded.sentences, records,
            unchanged_from=planned.base, unchanged=planned.linkable, glossary=planned.glossary,
            latent=embedded.latent,
        )  # fmt: skip
    except BaseException:
        if planned.pool is None:
            vectors.drop(pool)
        raise  # what went into a shared pool is in no version, and goes at the next clean-up
    vectors.activate(version)
    report.version = version.name
    report.published = True


def _described_differently(settings: Settings, active: Version, prepared: dict[str, Prepared]) -> bool:
    """Whether the catalog's English titles, subject or author of a prepared document differ from the active
    version's: they describe the document, so nothing in the chunks shows the change."""
    previous = artifacts.read_documents(settings.data_dir, active.name)
    return any(
        source in previous and _description(previous[source]) != _description(item.document)
        for source, item in prepared.items()
    )


def _description(document: StoredDocument) -> tuple[str, dict[str, str], str, str]:
    return document.title_en, document.sections_en, document.subject, document.author


def _embed_texts(
    embeddings: IdentifiedEmbeddings, texts: list[str], progress: Progress | None, stage: str,
    cache: IngestCache | None,
) -> tuple[np.ndarray, int]:  # fmt: skip
    """Passage vectors for ``texts`` (see :func:`cache.embed_passages`), reporting progress under ``stage``."""
    report = (lambda done, total: progress(stage, done, total)) if progress else None
    return embed_passages(embeddings, texts, cache, report)


def _spans(records: Iterable[Record]) -> dict[str, frozenset[tuple[str, int, int]]]:
    """Each source's chunks as (id, start, end): a source whose chunks are all as they were has the same
    sentences."""
    found: dict[str, set[tuple[str, int, int]]] = {}
    for r in records:
        found.setdefault(str(r.metadata["source"]), set()).add(
            (r.id, int(r.metadata["start"]), int(r.metadata["end"]))
        )
    return {source: frozenset(spans) for source, spans in found.items()}


def _sentence_table(
    embeddings: IdentifiedEmbeddings, records: list[Record], previous: SentenceTable | None,
    old_spans: dict[str, frozenset[tuple[str, int, int]]], progress: Progress | None, cache: IngestCache | None,
) -> tuple[SentenceTable, int, int]:  # fmt: skip
    """The sentences of ``records`` with vectors: those of a source whose chunks are unchanged taken over
    from ``previous`` as they are (not split again), the others split, reusing ``previous``'s vector of the
    same text; also how many were not in ``previous``, and how many of those were embedded (the rest came
    from the cache)."""
    dimension = embeddings.dimension
    if previous is None:  # nothing to take over (a first ingest, --rebuild, damaged files)
        previous, old_spans = SentenceTable([], np.zeros((0, dimension), np.float32)), {}
    same = {source for source, spans in _spans(records).items() if old_spans.get(source) == spans}
    taken = [i for i, u in enumerate(previous.units) if u.source in same]
    split = sentence_units(
        [(r.id, str(r.metadata["source"]), int(r.metadata["start"]), r.text) for r in records
         if str(r.metadata["source"]) not in same]
    )  # fmt: skip
    known = {u.key: i for i, u in enumerate(previous.units)}  # a new document often repeats an old one's
    keys = [u.key for u in split]
    missing = sorted({key: u.text for key, u in zip(keys, split, strict=True) if key not in known}.items())
    fresh, embedded = _embed_texts(
        embeddings, [text for _, text in missing], progress, "embedding sentences", cache
    )
    row = {key: i for i, (key, _) in enumerate(missing)}
    split_vectors = np.zeros((len(split), dimension), np.float32)
    for i, key in enumerate(keys):
        split_vectors[i] = previous.vectors[known[key]] if key in known else fresh[row[key]]
    units = [previous.units[i] for i in taken] + split
    vectors = np.vstack([previous.vectors[taken].reshape(-1, dimension), split_vectors]).astype(np.float32)
    order = sorted(range(len(units)), key=lambda i: (units[i].source, units[i].start))
    return SentenceTable([units[i] for i in order], vectors[order]), len(missing), embedded
