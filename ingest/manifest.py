"""The manifest: which files the index was built from, and what each file held.

It lets an unchanged re-ingest finish without reading or embedding anything,
and lets a run rebuild the desired index from every known file without
re-parsing the ones that did not change. It is written atomically; a run that
dies half-way leaves it marked ``dirty`` so the next run reconciles the store.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ingest.types import Speech

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FileRecord:
    path: str
    sha256: str
    size: int
    speeches: tuple[Speech, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "speeches": [s.to_dict() for s in self.speeches],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FileRecord:
        return cls(
            path=str(data["path"]),
            sha256=str(data["sha256"]),
            size=int(data["size"]),  # type: ignore[arg-type]
            speeches=tuple(Speech.from_dict(s) for s in data["speeches"]),  # type: ignore[union-attr]
        )


@dataclass
class Manifest:
    path: Path
    files: dict[str, FileRecord] = field(default_factory=dict)
    chunking: dict[str, int] = field(default_factory=dict)
    speech_count: int = 0
    chunk_count: int = 0
    embedding_model: str | None = None
    dirty: bool = False

    @classmethod
    def load(cls, store_dir: Path) -> Manifest:
        path = store_dir / MANIFEST_NAME
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            path=path,
            files={k: FileRecord.from_dict(v) for k, v in data.get("files", {}).items()},
            chunking=dict(data.get("chunking", {})),
            speech_count=int(data.get("speech_count", 0)),
            chunk_count=int(data.get("chunk_count", 0)),
            embedding_model=data.get("embedding_model"),
            dirty=bool(data.get("dirty", False)),
        )

    def save(self) -> None:
        """Write to a temp file and rename over the old one: never a half-written manifest."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "version": FORMAT_VERSION,
            "dirty": self.dirty,
            "chunking": self.chunking,
            "speech_count": self.speech_count,
            "chunk_count": self.chunk_count,
            "embedding_model": self.embedding_model,
            "files": {k: v.to_dict() for k, v in sorted(self.files.items())},
        }
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

    def speeches(self) -> list[Speech]:
        """Every known speech, in a stable order (by file, then order in the file)."""
        return [s for key in sorted(self.files) for s in self.files[key].speeches]
