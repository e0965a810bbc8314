"""The values the question-answering side hands around and returns to callers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk of a speech, with where it comes from and how it ranked."""

    chunk_id: str
    text: str
    speech_title: str
    source: str
    score: float
    similarity: float = 0.0
    heading_path: str = ""
    speech_id: str = ""
    sources: tuple[str, ...] = ()
    date: str | None = None
    place: str | None = None
    dense_rank: int | None = None
    keyword_rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """What [index] in an answer points to: a verbatim quote and the speech it is from."""

    index: int
    quote: str
    speech_title: str
    source: str
    chunk_id: str
    score: float
    passage: str = ""
    heading_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Passage, ...] = field(default=())
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "refused": self.refused,
            "note": self.note,
            "citations": [c.to_dict() for c in self.citations],
            "related": [p.to_dict() for p in self.related],
        }
