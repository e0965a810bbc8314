"""What an ingest run did, for people (summary) and programs (to_dict, the CLI's --json).

Per file it says which speeches were found, what reading repaired and which passages look like
injected instructions, so an admin sees both before users ask.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.manifest import SpeechEntry
from ingest.suspicious import Finding
from ingest.types import Speech


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
    def of(cls, speech: Speech | SpeechEntry) -> FoundSpeech:
        paragraphs = speech.paragraphs if isinstance(speech, SpeechEntry) else len(speech.paragraphs)
        return cls(speech.title, speech.date, speech.place, speech.speaker, speech.title_from, paragraphs)


@dataclass(frozen=True)
class FileSpeeches:
    """The speeches found in one file (before speeches held by other files too are merged)."""

    file: str
    speeches: tuple[FoundSpeech, ...]
    read: bool = True  # read this run; False: unchanged, as the manifest remembers it
    notes: tuple[str, ...] = ()  # what reading repaired: "replaced 1 undecodable byte ..." (read files)
    suspicious: tuple[Finding, ...] = ()  # passages that look like injected instructions (read files)


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
            lines.extend(f"    note: {note}" for note in found.notes)
            lines.extend(f"    suspicious ({f.kind}): {f.excerpt}" for f in found.suspicious)
        if self.errors:
            lines.append(f"errors: {len(self.errors)}")
            lines.extend(f"  {e.file}: {e.reason}" for e in self.errors)
        return "\n".join(lines)
