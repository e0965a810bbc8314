"""The manifest: which files the index was built from, and what each file gave it.

Per file it keeps the content hash, the size, a summary of each speech found (title, date,
place, speaker; no text) and the chunk ids the file contributes: enough for an unchanged
re-ingest to finish without reading or embedding anything, and small (no speech texts).

A run plans the whole index (speeches repeated across files are kept once), so it needs the
parsed speeches of unchanged files too; those are kept apart from the manifest, content
addressed by the file's sha256 (``parsed/<sha256>.json.gz`` in the store dir, or ``parsed:``
records of the meta collection on a Chroma server), so unchanged files are never read or
parsed again and the manifest stays the size of its summaries.

Embedded store: ``manifest.json`` in the store dir, written atomically. Chroma server: the
``file:`` and ``state`` records of ``<collection>_meta`` (ingest.index.meta), so every replica
sees one manifest. A run that dies half-way leaves it marked ``dirty`` so the next run (from any
store dir) reconciles the store.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.types import Speech

if TYPE_CHECKING:
    from ingest.index.meta import MetaStore

MANIFEST_NAME = "manifest.json"
PARSED_DIR = "parsed"
FORMAT_VERSION = 2


class ManifestError(RuntimeError):
    """The manifest names a file whose speeches can be found neither parsed nor on disk."""


@dataclass(frozen=True)
class SpeechEntry:
    """What the manifest remembers of one speech of a file: enough for a report, no text."""

    speech_id: str
    title: str
    date: str | None = None
    place: str | None = None
    speaker: str | None = None
    title_from: str = "text"
    paragraphs: int = 0

    @classmethod
    def of(cls, speech: Speech) -> SpeechEntry:
        return cls(
            speech.speech_id,
            speech.title,
            speech.date,
            speech.place,
            speech.speaker,
            speech.title_from,
            len(speech.paragraphs),
        )

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeechEntry:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class FileRecord:
    path: str
    sha256: str
    size: int
    speeches: tuple[SpeechEntry, ...]
    chunk_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "speeches": [s.to_dict() for s in self.speeches],
            "chunk_ids": list(self.chunk_ids),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRecord:
        return cls(
            path=str(data["path"]),
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            speeches=tuple(_entry(s) for s in data.get("speeches", ())),
            chunk_ids=tuple(data.get("chunk_ids", ())),
        )


def _entry(data: dict[str, Any]) -> SpeechEntry:
    if "paragraphs" in data and isinstance(data["paragraphs"], list):  # a version-1 full speech
        return SpeechEntry.of(Speech.from_dict(data))
    return SpeechEntry.from_dict(data)


class ParsedSpeeches:
    """Parsed speeches by file content hash: a local folder, or the meta collection."""

    def __init__(self, folder: Path, meta: MetaStore | None = None) -> None:
        self.folder = folder
        self.meta = meta
        self._memo: dict[str, list[Speech]] = {}
        self.pending: set[str] = set()  # parsed this run, not yet stored

    def get(self, sha256: str) -> list[Speech] | None:
        if sha256 in self._memo:
            return self._memo[sha256]
        data: Any = None
        if self.meta is not None:
            data = self.meta.parsed(sha256)
        else:
            path = self.folder / f"{sha256}.json.gz"
            if path.exists():
                data = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
        if data is None:
            return None
        speeches = [Speech.from_dict(s) for s in data]
        self._memo[sha256] = speeches
        return speeches

    def put(self, sha256: str, speeches: list[Speech] | tuple[Speech, ...]) -> None:
        self._memo[sha256] = list(speeches)
        value = [s.to_dict() for s in speeches]
        if self.meta is not None:
            if not self.meta.has_parsed(sha256):
                self.meta.put_parsed(sha256, value)
            return
        path = self.folder / f"{sha256}.json.gz"
        if path.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".parsed-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(gzip.compress(json.dumps(value, ensure_ascii=False).encode("utf-8"), 6))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def forget_except(self, keep: set[str]) -> None:
        """Drop parsed speeches of files the manifest no longer names."""
        if self.meta is not None:
            self.meta.forget_parsed(keep)
            return
        if self.folder.is_dir():
            for path in self.folder.glob("*.json.gz"):
                if path.name.removesuffix(".json.gz") not in keep:
                    path.unlink(missing_ok=True)


@dataclass
class Manifest:
    path: Path
    files: dict[str, FileRecord] = field(default_factory=dict)
    chunking: dict[str, int] = field(default_factory=dict)
    speech_count: int = 0
    chunk_count: int = 0
    embedding_model: str | None = None
    search_width: int | None = None  # the hnsw ef_search the store was last set to
    dirty: bool = False
    generation: int = 0  # on a Chroma server: the generation of the state record
    meta: MetaStore | None = field(default=None, repr=False)
    parsed: ParsedSpeeches | None = field(default=None, repr=False)
    _saved_keys: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.parsed is None:
            self.parsed = ParsedSpeeches(self.path.parent / PARSED_DIR, self.meta)

    @classmethod
    def load(cls, store_dir: Path) -> Manifest:
        """The embedded store's manifest (store_dir/manifest.json)."""
        path = store_dir / MANIFEST_NAME
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = cls._from_data(path, data, None)
        # Version 1 kept every speech's full text here: move them to the parsed store.
        for key, raw in data.get("files", {}).items():
            speeches = raw.get("speeches") or []
            if speeches and isinstance(speeches[0].get("paragraphs"), list):
                assert manifest.parsed is not None
                sha = manifest.files[key].sha256
                manifest.parsed._memo[sha] = [Speech.from_dict(s) for s in speeches]
                manifest.parsed.pending.add(sha)
        return manifest

    @classmethod
    def load_meta(cls, store_dir: Path, meta: MetaStore) -> Manifest:
        """The manifest a Chroma server holds in its meta collection."""
        generation, state = meta.state()
        data = {**state, "files": meta.files()}
        manifest = cls._from_data(store_dir / MANIFEST_NAME, data, meta)
        manifest.generation = generation
        return manifest

    @classmethod
    def _from_data(cls, path: Path, data: dict[str, Any], meta: MetaStore | None) -> Manifest:
        files = {k: FileRecord.from_dict(v) for k, v in data.get("files", {}).items()}
        return cls(
            path=path,
            files=files,
            chunking=dict(data.get("chunking", {})),
            speech_count=int(data.get("speech_count", 0)),
            chunk_count=int(data.get("chunk_count", 0)),
            embedding_model=data.get("embedding_model"),
            search_width=data.get("search_width"),
            dirty=bool(data.get("dirty", False)),
            meta=meta,
            _saved_keys=set(files),
        )

    def _state(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "dirty": self.dirty,
            "chunking": self.chunking,
            "speech_count": self.speech_count,
            "chunk_count": self.chunk_count,
            "embedding_model": self.embedding_model,
            "search_width": self.search_width,
        }

    def save(self) -> None:
        """Local: write to a temp file and rename over the old one. Server: file records first,
        then the state record (dirty flag, generation), so a reader of the state never sees a
        clean state whose records are not all written."""
        assert self.parsed is not None
        for record in self.files.values():  # parsed speeches first: the records refer to them
            if record.sha256 in self.parsed.pending:
                self.parsed.put(record.sha256, self.parsed._memo[record.sha256])
                self.parsed.pending.discard(record.sha256)
        if self.meta is not None:
            gone = sorted(self._saved_keys - set(self.files))
            self.meta.put_files([r.to_dict() for _, r in sorted(self.files.items())], gone)
            self.meta.put_state(self.generation, self._state())
        else:
            self._save_local()
        self._saved_keys = set(self.files)

    def _save_local(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {**self._state(), "files": {k: v.to_dict() for k, v in sorted(self.files.items())}}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".manifest-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remember(self, record: FileRecord, speeches: list[Speech] | tuple[Speech, ...]) -> None:
        """A file read this run: its record, and its parsed speeches (saved with the manifest)."""
        assert self.parsed is not None
        self.files[record.path] = record
        self.parsed._memo[record.sha256] = list(speeches)
        self.parsed.pending.add(record.sha256)

    def forget_unused_parsed(self) -> None:
        assert self.parsed is not None
        self.parsed.forget_except({r.sha256 for r in self.files.values()})

    def file_speeches(
        self, key: str, reparse: Callable[[FileRecord], list[Speech] | None] | None = None
    ) -> list[Speech]:
        """The parsed speeches of one known file: from the parsed store, else read again from
        the file itself when it is still there with the same content."""
        assert self.parsed is not None
        record = self.files[key]
        speeches = self.parsed.get(record.sha256)
        if speeches is None and reparse is not None:
            speeches = reparse(record)
            if speeches is not None:
                self.parsed._memo[record.sha256] = list(speeches)
                self.parsed.pending.add(record.sha256)
        if speeches is None:
            raise ManifestError(
                f"the index holds {key}, but its parsed speeches are missing and the file is gone or "
                "changed; ingest it again, or run with --prune to drop it"
            )
        return speeches

    def speeches(self, reparse: Callable[[FileRecord], list[Speech] | None] | None = None) -> list[Speech]:
        """Every known speech, in a stable order (by file, then order in the file)."""
        return [s for key in sorted(self.files) for s in self.file_speeches(key, reparse)]

    def chunk_ids(self) -> set[str]:
        return {i for record in self.files.values() for i in record.chunk_ids}
