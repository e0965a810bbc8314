"""The ingest pipeline: files → speeches → chunks → vectors → store, incrementally.

Each run works out the index the known files *should* give (the plan) and
changes the store until it matches: chunks missing from the store are embedded
and written, chunks no file gives any more are deleted, the rest are left
alone. Because the plan is derived from the files and not from what the last
run did, a run killed at any point is repaired by the next one.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from filelock import FileLock, Timeout

from ingest import failpoints
from ingest.chunking import ChunkSpec, chunk_speech
from ingest.clean import clean_text
from ingest.dedupe import deduplicate
from ingest.index import generation as local_generation
from ingest.index.config import Settings
from ingest.index.keywords import INDEX_NAME, KeywordDoc, KeywordIndex
from ingest.index.meta import Lease, LeaseHeld, MetaStore
from ingest.index.store import ChunkStore, describe_location
from ingest.index.view import LOCK_NAME, note_written, open_for_writing
from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_document, load_text
from ingest.manifest import MANIFEST_NAME, PARSED_DIR, FileRecord, Manifest, SpeechEntry
from ingest.reconcile import PassageEmbedder, reconcile
from ingest.report import FileError, FileSpeeches, FoundSpeech, IngestReport
from ingest.speeches import split_speeches
from ingest.suspicious import Finding, find_suspicious
from ingest.titles import display_titles
from ingest.types import Chunk, Speech

# Hash files 1 MiB at a time: big PDFs are never read into memory whole just to be compared.
_DIGEST_BLOCK = 1 << 20


class IngestLocked(RuntimeError):
    """Another ingest holds the store's write lock."""


# ---------------------------------------------------------------- pure steps


def read_speeches(text: str, source: str) -> list[Speech]:
    """clean → split speeches → drop repeats within the file."""
    return deduplicate(split_speeches(clean_text(text), source))


def plan_chunks(speeches: Iterable[Speech], spec: ChunkSpec) -> list[Chunk]:
    """Every chunk the index should hold: each speech once, each chunk text once."""
    planned: list[Chunk] = []
    seen_texts: set[str] = set()
    kept = deduplicate(speeches)
    shown = display_titles(kept)
    for speech in kept:
        display = shown[speech.speech_id]
        for chunk in chunk_speech(speech, spec):
            key = "".join(chunk.text.split())
            if key not in seen_texts:
                seen_texts.add(key)
                planned.append(replace(chunk, display_title=display) if display != speech.title else chunk)
    return planned


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileError]]:
    """Expand folders into the speech files inside them; name what cannot be used."""
    files: list[Path] = []
    errors: list[FileError] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(
                    part.startswith(".") for part in child.relative_to(path).parts
                ):
                    if child.suffix.lower() in SUPPORTED_SUFFIXES:
                        files.append(child)
                    else:
                        errors.append(FileError(str(child), f"unsupported file type '{child.suffix}'"))
        elif path.exists():
            files.append(path)
        else:
            errors.append(FileError(str(path), "no such file or folder"))
    unique = list(dict.fromkeys(f.resolve() for f in files))
    return unique, errors


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_DIGEST_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- the run


def ingest_paths(
    paths: Iterable[Path | str],
    settings: Settings | None = None,
    *,
    prune: bool = False,
    rebuild: bool = False,
    embedder: PassageEmbedder | None = None,
    progress: bool = True,
) -> IngestReport:
    """Bring the index in line with these files (and every file ingested before)."""
    settings = settings or Settings()
    started = time.perf_counter()
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.store_dir / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise IngestLocked(
            f"another ingest is writing to {settings.store_dir} (lock file {lock.lock_file}); "
            "wait for it to finish and run again"
        ) from None
    lease: Lease | None = None
    try:
        meta = None
        if settings.chroma_host:  # one writer at a time across machines: the server's lease
            meta = MetaStore.open(settings)
            assert meta is not None
            try:
                lease = meta.acquire(f"ingest into {describe_location(settings)} from {settings.store_dir}")
            except LeaseHeld as error:
                raise IngestLocked(str(error)) from None
        return _ingest_locked(
            [Path(p) for p in paths], settings, prune, rebuild, embedder, progress, started, meta
        )
    finally:
        if lease is not None:
            lease.release()
        lock.release()


def _ingest_locked(
    paths: list[Path],
    settings: Settings,
    prune: bool,
    rebuild: bool,
    embedder: PassageEmbedder | None,
    progress: bool,
    started: float,
    meta: MetaStore | None = None,
) -> IngestReport:
    """The run itself, under the write lock. The order is what makes a killed run repairable:
    the manifest is marked dirty before the store is touched and the generation is bumped last,
    and the crash tests stop it at each failpoint below."""
    spec = _chunk_spec(settings)
    model_name = embedder.name if embedder else settings.embedding_model
    if rebuild:
        _drop_index(settings)
    keywords = KeywordIndex.beside(settings.store_dir)
    if not keywords.cut_here():  # cut by an older segmenter: this run cuts every chunk again
        keywords.forget_chunks()
    manifest = _load_manifest(settings, meta, rebuild)

    files, errors = discover(paths)
    reading = _read_changed(files, manifest, errors)
    found = _found(files, reading, manifest)
    gone = [key for key in manifest.files if prune and not Path(key).exists()]
    if _nothing_to_do(reading, gone, manifest, spec, model_name, keywords, meta, settings):
        return _unchanged_report(files, reading, manifest, found, settings, started)

    store = open_for_writing(settings, model_name)
    # From here on the store may differ from the manifest until we finish.
    _mark_dirty(manifest, reading, gone, spec)
    failpoints.reach(failpoints.STORE_MARKED_DIRTY)

    planned = plan_chunks(manifest.speeches(_reparse), spec)
    counts = reconcile(store, planned, embedder, settings, progress)
    _sync_keywords(keywords, planned, meta)
    failpoints.reach(failpoints.KEYWORDS_SYNCED)

    _finish(manifest, planned, model_name, keywords, meta, settings)
    manifest.forget_unused_parsed()
    return IngestReport(
        files=len(files),
        files_changed=len(reading.changed),
        files_failed=reading.failed,
        speeches=manifest.speech_count,
        chunks=len(planned),
        errors=tuple(reading.errors),
        seconds=time.perf_counter() - started,
        store=store.location,
        found=found,
        **counts,
    )


def _chunk_spec(settings: Settings) -> ChunkSpec:
    """The chunk sizes are settings so an index can be rebuilt with others without a code change."""
    return ChunkSpec(
        target=settings.chunk_size,
        maximum=settings.chunk_max,
        overlap_sentences=settings.chunk_overlap_sentences,
    )


def _drop_index(settings: Settings) -> None:
    """A rebuild starts from nothing: the vectors, the manifest that describes them, the keyword
    index and the parsed copies all go, so nothing stale can survive it."""
    ChunkStore.drop(settings)
    (settings.store_dir / MANIFEST_NAME).unlink(missing_ok=True)
    (settings.store_dir / INDEX_NAME).unlink(missing_ok=True)
    shutil.rmtree(settings.store_dir / PARSED_DIR, ignore_errors=True)


def _nothing_to_do(
    reading: _Reading,
    gone: list[str],
    manifest: Manifest,
    spec: ChunkSpec,
    model_name: str,
    keywords: KeywordIndex,
    meta: MetaStore | None,
    settings: Settings,
) -> bool:
    """Nothing to do: answer from the manifest without opening Chroma, which rewrites its files
    on open. The keyword count guards against an index deleted by hand; a store last set to
    another search width is opened once to be widened (ChunkStore.open)."""
    return (
        not reading.changed
        and not gone
        and not manifest.dirty
        and manifest.chunking == asdict(spec)
        and manifest.embedding_model in (model_name, None)
        and manifest.search_width == settings.hnsw_ef_search
        # On a Chroma server the local keyword index is a cache that readers rebuild.
        and (meta is not None or keywords.count() == manifest.chunk_count)
    )


def _unchanged_report(
    files: list[Path],
    reading: _Reading,
    manifest: Manifest,
    found: tuple[FileSpeeches, ...],
    settings: Settings,
    started: float,
) -> IngestReport:
    """The report of a run that wrote nothing: its counts are the manifest's."""
    return IngestReport(
        files=len(files),
        files_changed=0,
        files_failed=reading.failed,
        speeches=manifest.speech_count,
        chunks=manifest.chunk_count,
        chunks_added=0,
        chunks_updated=0,
        chunks_unchanged=manifest.chunk_count,
        chunks_removed=0,
        embedded=0,
        errors=tuple(reading.errors),
        seconds=time.perf_counter() - started,
        store=describe_location(settings),
        found=found,
    )


def _mark_dirty(manifest: Manifest, reading: _Reading, gone: list[str], spec: ChunkSpec) -> None:
    """Save the new file records with the dirty flag before any store write, so a run killed
    after this point is known to need repair by the next one."""
    for key, record in reading.changed.items():
        manifest.remember(record, reading.parsed[key])
    for key in gone:
        del manifest.files[key]
    manifest.chunking = asdict(spec)
    manifest.dirty = True
    manifest.save()


def _sync_keywords(keywords: KeywordIndex, planned: list[Chunk], meta: MetaStore | None) -> None:
    """The keyword index follows the plan like the vectors do. On a Chroma server its term
    statistics are shared, so every writer's index scores the same way."""
    if meta is not None:
        keywords.learn_terms(meta.terms())
    keywords.sync([KeywordDoc(c.chunk_id, c.embed_text, c.speech_id, c.source) for c in planned])
    if meta is not None:
        meta.put_terms(keywords.terms())


@dataclass
class _Reading:
    """What one run read: the files that changed (parsed), what reading repaired or flagged in
    them, and the files that could not be read (reported and skipped, the others still ingest)."""

    errors: list[FileError]
    changed: dict[str, FileRecord] = field(default_factory=dict)
    parsed: dict[str, list[Speech]] = field(default_factory=dict)
    notes: dict[str, tuple[tuple[str, ...], tuple[Finding, ...]]] = field(default_factory=dict)
    failed: int = 0


def _read_changed(files: list[Path], manifest: Manifest, errors: list[FileError]) -> _Reading:
    """load → clean → split speeches, for the files whose hash the manifest does not know."""
    reading = _Reading(errors)
    for path in files:
        key = str(path)
        try:
            digest = file_digest(path)
            known = manifest.files.get(key)
            if known and known.sha256 == digest:
                continue
            loaded = load_document(path)
            speeches = read_speeches(loaded.text, path.name)
            if not speeches:
                raise LoadError(path, "no speech text found after removing boilerplate")
            reading.notes[key] = (loaded.notes, tuple(find_suspicious("\n".join(s.text for s in speeches))))
            reading.changed[key] = FileRecord(
                key, digest, path.stat().st_size, tuple(SpeechEntry.of(s) for s in speeches)
            )
            reading.parsed[key] = speeches
        except LoadError as error:
            reading.failed += 1
            reading.errors.append(FileError(str(path), error.reason))
        except OSError as error:
            reading.failed += 1
            reading.errors.append(FileError(str(path), f"cannot read: {error.strerror or error}"))
    return reading


def _found(files: list[Path], reading: _Reading, manifest: Manifest) -> tuple[FileSpeeches, ...]:
    """The speeches per file, for the report: read this run, or as the manifest remembers them."""
    return tuple(
        FileSpeeches(
            str(path),
            tuple(FoundSpeech.of(s) for s in record.speeches),
            str(path) in reading.changed,
            *reading.notes.get(str(path), ((), ())),
        )
        for path in files
        if (record := reading.changed.get(str(path)) or manifest.files.get(str(path))) is not None
    )


def _finish(
    manifest: Manifest,
    planned: list[Chunk],
    model_name: str,
    keywords: KeywordIndex,
    meta: MetaStore | None,
    settings: Settings,
) -> None:
    """Mark the manifest clean and bump the generation: only now do readers reopen."""
    _record_chunk_ids(manifest, planned)
    manifest.speech_count = len({c.speech_id for c in planned})
    manifest.chunk_count = len(planned)
    manifest.embedding_model = model_name
    manifest.search_width = settings.hnsw_ef_search
    manifest.dirty = False
    # The write is complete: a new generation tells every reader to reopen (on a server the
    # generation and the clean flag are one record, written last).
    if meta is not None:
        manifest.generation += 1
        manifest.save()
        keywords.set_generation(manifest.generation)
    else:
        generation = local_generation.bump_local(settings.store_dir)
        keywords.set_generation(generation)
        note_written(settings, generation)
        manifest.save()


def _load_manifest(settings: Settings, meta: MetaStore | None, rebuild: bool) -> Manifest:
    """The local manifest, or the one the Chroma server holds; empty for a rebuild (a server's
    generation keeps counting up, so readers see the rebuild as a change)."""
    if meta is None:
        return Manifest.load(settings.store_dir)
    manifest = Manifest.load_meta(settings.store_dir, meta)
    if rebuild:
        fresh = Manifest(manifest.path, meta=meta, generation=manifest.generation)
        fresh._saved_keys = set(manifest.files)
        return fresh
    return manifest


def _reparse(record: FileRecord) -> list[Speech] | None:
    """A known file's speeches read again from the file, when it still has the same content."""
    path = Path(record.path)
    try:
        if path.is_file() and file_digest(path) == record.sha256:
            return read_speeches(load_text(path), path.name)
    except (LoadError, OSError):
        return None
    return None


def _record_chunk_ids(manifest: Manifest, planned: list[Chunk]) -> None:
    """Each file record lists the chunk ids of the speeches it holds (shared ones in each)."""
    by_name: dict[str, list[str]] = {}
    for chunk in planned:
        for name in chunk.sources or (chunk.source,):
            by_name.setdefault(name, []).append(chunk.chunk_id)
    for key, record in list(manifest.files.items()):
        ids = tuple(by_name.get(Path(key).name, ()))
        if ids != record.chunk_ids:
            manifest.files[key] = replace(record, chunk_ids=ids)
