"""The ingest pipeline: files → speeches → chunks → vectors → store, incrementally.

Each run works out the index the known files *should* give (the plan) and
changes the store until it matches: chunks missing from the store are embedded
and written, chunks no file gives any more are deleted, the rest are left
alone. Because the plan is derived from the files and not from what the last
run did, a run killed at any point is repaired by the next one.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from filelock import FileLock, Timeout

from ingest import failpoints
from ingest.chunking import ChunkSpec, chunk_speech
from ingest.clean import clean_text
from ingest.dedupe import deduplicate
from ingest.index.config import Settings
from ingest.index.keywords import INDEX_NAME, KeywordDoc, KeywordIndex
from ingest.index.store import ChunkStore, clean_metadata, describe_location
from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_text
from ingest.manifest import MANIFEST_NAME, FileRecord, Manifest
from ingest.speeches import split_speeches
from ingest.titles import display_titles
from ingest.types import Chunk, Speech

LOCK_NAME = "ingest.lock"
WRITE_BATCH = 64


class PassageEmbedder(Protocol):
    """What ingest needs from an embedding model (ingest.index.embedding.Embedder is the real one)."""

    name: str

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class IngestLocked(RuntimeError):
    """Another ingest holds the store's write lock."""


@dataclass(frozen=True)
class FileError:
    file: str
    reason: str


@dataclass(frozen=True)
class FoundSpeech:
    """What ingest made of one speech in a file, for the report: a user checks it at a glance."""

    title: str
    date: str | None
    place: str | None
    speaker: str | None
    title_from: str
    paragraphs: int

    @classmethod
    def of(cls, speech: Speech) -> FoundSpeech:
        return cls(
            speech.title, speech.date, speech.place, speech.speaker, speech.title_from, len(speech.paragraphs)
        )


@dataclass(frozen=True)
class FileSpeeches:
    """The speeches found in one file (before speeches held by other files too are merged)."""

    file: str
    speeches: tuple[FoundSpeech, ...]
    read: bool = True  # read this run; False: unchanged, as the manifest remembers it


@dataclass(frozen=True)
class IngestReport:
    files: int
    files_changed: int
    files_failed: int
    speeches: int
    chunks: int
    chunks_added: int
    chunks_updated: int
    chunks_unchanged: int
    chunks_removed: int
    embedded: int
    errors: tuple[FileError, ...] = field(default=())
    seconds: float = 0.0
    store: str = ""
    found: tuple[FileSpeeches, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """False only when nothing could be ingested (no file, or every file failed)."""
        return self.files > self.files_failed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = [asdict(e) for e in self.errors]
        data["found"] = [asdict(f) for f in self.found]
        return data

    def summary(self) -> str:
        lines = [
            (
                f"files: {self.files} ({self.files_changed} new or changed)   "
                f"speeches in index: {self.speeches}   chunks in index: {self.chunks}"
            ),
            (
                f"chunks added: {self.chunks_added}   updated: {self.chunks_updated}   "
                f"unchanged: {self.chunks_unchanged}   removed: {self.chunks_removed}   "
                f"embedded: {self.embedded}   ({self.seconds:.1f} s)"
            ),
        ]
        for found in (f for f in self.found if f.read):
            lines.append(f"  {Path(found.file).name}: {len(found.speeches)} speech(es)")
            lines.extend(
                f"    《{s.title}》 {s.date or '(no date)'}"
                + (" (title from the file name)" if s.title_from == "file name" else "")
                for s in found.speeches
            )
        if self.errors:
            lines.append(f"errors: {len(self.errors)}")
            lines.extend(f"  {e.file}: {e.reason}" for e in self.errors)
        return "\n".join(lines)


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


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """What the store keeps beside a chunk. speech_title is the title users see (told apart
    from others of the same title); original_title is the speech's own."""
    return {
        "speech_id": chunk.speech_id,
        "speech_title": chunk.display_title or chunk.speech_title,
        "original_title": chunk.speech_title,
        "speaker": chunk.speaker,
        "source": chunk.source,
        "sources": list(chunk.sources),
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "heading_path": chunk.heading_path,
        "date": chunk.date,
        "place": chunk.place,
        "scope": chunk.scope,
        "embed_hash": chunk.embed_hash,
    }


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
        for block in iter(lambda: handle.read(1 << 20), b""):
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
    try:
        return _ingest_locked([Path(p) for p in paths], settings, prune, rebuild, embedder, progress, started)
    finally:
        lock.release()


def _ingest_locked(
    paths: list[Path],
    settings: Settings,
    prune: bool,
    rebuild: bool,
    embedder: PassageEmbedder | None,
    progress: bool,
    started: float,
) -> IngestReport:
    spec = ChunkSpec(
        target=settings.chunk_size,
        maximum=settings.chunk_max,
        overlap_sentences=settings.chunk_overlap_sentences,
    )
    model_name = embedder.name if embedder else settings.embedding_model
    if rebuild:
        ChunkStore.drop(settings)
        (settings.store_dir / MANIFEST_NAME).unlink(missing_ok=True)
        (settings.store_dir / INDEX_NAME).unlink(missing_ok=True)
    keywords = KeywordIndex.beside(settings.store_dir)
    manifest = Manifest.load(settings.store_dir)

    files, errors = discover(paths)
    failed = 0
    changed: dict[str, FileRecord] = {}
    for path in files:
        key = str(path)
        try:
            digest = file_digest(path)
            known = manifest.files.get(key)
            if known and known.sha256 == digest:
                continue
            speeches = read_speeches(load_text(path), path.name)
            if not speeches:
                raise LoadError(path, "no speech text found after removing boilerplate")
            changed[key] = FileRecord(key, digest, path.stat().st_size, tuple(speeches))
        except LoadError as error:
            failed += 1
            errors.append(FileError(str(path), error.reason))
        except OSError as error:
            failed += 1
            errors.append(FileError(str(path), f"cannot read: {error.strerror or error}"))

    found = tuple(
        FileSpeeches(str(path), tuple(FoundSpeech.of(s) for s in record.speeches), str(path) in changed)
        for path in files
        if (record := changed.get(str(path)) or manifest.files.get(str(path))) is not None
    )
    gone = [key for key in manifest.files if prune and not Path(key).exists()]
    # Nothing to do: answer from the manifest without opening Chroma, which rewrites its
    # files on open. The keyword count guards against an index deleted by hand.
    unchanged = (
        not changed
        and not gone
        and not manifest.dirty
        and manifest.chunking == asdict(spec)
        and manifest.embedding_model in (model_name, None)
        and keywords.count() == manifest.chunk_count
    )
    if unchanged:
        return IngestReport(
            files=len(files),
            files_changed=0,
            files_failed=failed,
            speeches=manifest.speech_count,
            chunks=manifest.chunk_count,
            chunks_added=0,
            chunks_updated=0,
            chunks_unchanged=manifest.chunk_count,
            chunks_removed=0,
            embedded=0,
            errors=tuple(errors),
            seconds=time.perf_counter() - started,
            store=describe_location(settings),
            found=found,
        )

    store = ChunkStore.open(settings, model_name)
    # From here on the store may differ from the manifest until we finish.
    manifest.files.update(changed)
    for key in gone:
        del manifest.files[key]
    manifest.chunking = asdict(spec)
    manifest.dirty = True
    manifest.save()
    failpoints.reach(failpoints.STORE_MARKED_DIRTY)

    planned = plan_chunks(manifest.speeches(), spec)
    counts = _reconcile(store, planned, embedder, settings, progress)
    keywords.sync([KeywordDoc(c.chunk_id, c.embed_text, c.speech_id, c.source) for c in planned])
    failpoints.reach(failpoints.KEYWORDS_SYNCED)

    manifest.speech_count = len({c.speech_id for c in planned})
    manifest.chunk_count = len(planned)
    manifest.embedding_model = model_name
    manifest.dirty = False
    manifest.save()
    return IngestReport(
        files=len(files),
        files_changed=len(changed),
        files_failed=failed,
        speeches=manifest.speech_count,
        chunks=len(planned),
        errors=tuple(errors),
        seconds=time.perf_counter() - started,
        store=store.location,
        found=found,
        **counts,
    )


def _reconcile(
    store: ChunkStore,
    planned: list[Chunk],
    embedder: PassageEmbedder | None,
    settings: Settings,
    progress: bool,
) -> dict[str, int]:
    """Write what is missing, delete what no file gives any more; reuse vectors we have."""
    stored = store.metadata_by_id()
    wanted = {c.chunk_id: c for c in planned}
    missing = [c for c in planned if c.chunk_id not in stored]
    extra = [i for i in stored if i not in wanted]

    # A chunk whose embedded text is already stored (moved, retitled source) keeps its vector.
    by_hash = {m.get("embed_hash"): i for i, m in stored.items() if m.get("embed_hash")}
    reusable = {c.chunk_id: by_hash[c.embed_hash] for c in missing if c.embed_hash in by_hash}
    to_embed = [c for c in missing if c.chunk_id not in reusable]

    if reusable:
        vectors = store.embeddings(list(set(reusable.values())))
        reused = [c for c in missing if c.chunk_id in reusable]
        for start in range(0, len(reused), WRITE_BATCH):
            batch = reused[start : start + WRITE_BATCH]
            _write(store, batch, np.stack([vectors[reusable[c.chunk_id]] for c in batch]))

    if to_embed:
        embedder = embedder or _default_embedder(settings)
        bar = _progress_bar(len(to_embed), progress)
        for start in range(0, len(to_embed), WRITE_BATCH):
            batch = to_embed[start : start + WRITE_BATCH]
            _write(store, batch, embedder.embed_passages([c.embed_text for c in batch]))
            bar.update(len(batch))
        bar.close()
    failpoints.reach(failpoints.VECTORS_WRITTEN)

    store.delete(extra)

    # Same chunk, new facts about it (e.g. one of the files holding it is gone).
    stale = [c for c in planned if c.chunk_id in stored and _metadata_differs(c, stored[c.chunk_id])]
    store.update_metadata([c.chunk_id for c in stale], [chunk_metadata(c) for c in stale])

    # A new chunk in the place (file, speech, position) of a deleted one is an update.
    removed = set(extra)  # once, not per stored chunk
    old_slots = Counter(
        (m.get("source"), m.get("speech_title"), m.get("position")) for i, m in stored.items() if i in removed
    )
    updated = 0
    for chunk in missing:
        slot = (chunk.source, chunk.display_title or chunk.speech_title, chunk.position)
        if old_slots[slot]:
            old_slots[slot] -= 1
            updated += 1
    return {
        "chunks_added": len(missing) - updated,
        "chunks_updated": updated + len(stale),
        "chunks_unchanged": len(planned) - len(missing) - len(stale),
        "chunks_removed": len(extra) - updated,
        "embedded": len(to_embed),
    }


def _metadata_differs(chunk: Chunk, stored: dict[str, Any]) -> bool:
    return clean_metadata(chunk_metadata(chunk)) != stored


def _write(store: ChunkStore, chunks: list[Chunk], vectors: np.ndarray) -> None:
    store.upsert(
        [c.chunk_id for c in chunks],
        [c.text for c in chunks],
        [chunk_metadata(c) for c in chunks],
        vectors,
    )


def _default_embedder(settings: Settings) -> PassageEmbedder:
    from ingest.index.embedding import Embedder

    return Embedder.from_settings(settings)


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk", disable=not enabled, file=sys.stderr)
