"""Small immutable values the ingest pipeline passes from step to step."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def short_hash(text: str, n: int = 16) -> str:
    """A stable content fingerprint (hex) used for ids and change detection."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


@dataclass(frozen=True)
class Speech:
    """One speech as a reader sees it: a title and its paragraphs, in order."""

    title: str
    paragraphs: tuple[str, ...]
    source: str
    titled: bool = True
    date: str | None = None
    place: str | None = None
    scope: str | None = None
    sources: tuple[str, ...] = field(default=())
    speaker: str | None = None
    subtitle: str | None = None
    # Where the title came from: the text itself, the file name, or the opening words.
    title_from: str = "text"

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def speech_id(self) -> str:
        """Title and opening words: the same speech in two files is one speech, and an
        edit further down keeps its id (filters and citations stay valid)."""
        opening = next(
            (p for p in self.paragraphs if len(p) > 8), self.paragraphs[0] if self.paragraphs else ""
        )
        return short_hash(f"{self.title}\n{opening}")

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "paragraphs": list(self.paragraphs),
            "source": self.source,
            "titled": self.titled,
            "date": self.date,
            "place": self.place,
            "scope": self.scope,
            "sources": list(self.sources),
            "speaker": self.speaker,
            "subtitle": self.subtitle,
            "title_from": self.title_from,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Speech:
        return cls(
            title=str(data["title"]),
            paragraphs=tuple(data["paragraphs"]),  # type: ignore[arg-type]
            source=str(data["source"]),
            titled=bool(data.get("titled", True)),
            date=data.get("date"),  # type: ignore[arg-type]
            place=data.get("place"),  # type: ignore[arg-type]
            scope=data.get("scope"),  # type: ignore[arg-type]
            sources=tuple(data.get("sources") or (data["source"],)),  # type: ignore[arg-type]
            speaker=data.get("speaker"),  # type: ignore[arg-type]
            subtitle=data.get("subtitle"),  # type: ignore[arg-type]
            title_from=str(
                data.get("title_from") or ("text" if data.get("titled", True) else "opening words")
            ),
        )


@dataclass(frozen=True)
class Chunk:
    """A passage of one speech: a verbatim slice ``speech.text[start:end]``."""

    speech_id: str
    speech_title: str
    source: str
    position: int
    start: int
    end: int
    text: str
    heading_path: str = ""
    sources: tuple[str, ...] = ()
    date: str | None = None
    place: str | None = None
    scope: str | None = None
    speaker: str | None = None
    # The title shown to users where speeches share one (see ingest.titles); not part of the id.
    display_title: str = ""

    @property
    def chunk_id(self) -> str:
        """Stable across runs: the speech title, the chunk's place in it and its text."""
        return short_hash(f"{self.speech_title}\x1f{self.position}\x1f{self.text}", 24)

    @property
    def embed_text(self) -> str:
        """What the embedder sees: title and heading path give a passage its context."""
        return "\n".join(p for p in (self.speech_title, self.heading_path, self.text) if p)

    @property
    def embed_hash(self) -> str:
        return short_hash(self.embed_text, 24)
