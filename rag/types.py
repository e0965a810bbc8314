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

    @classmethod
    def of(cls, passage: Passage, index: int, quote: str) -> Citation:
        """[index] pointing at ``quote`` within ``passage``."""
        return cls(
            index=index,
            quote=quote,
            speech_title=passage.speech_title,
            source=passage.source,
            chunk_id=passage.chunk_id,
            score=round(passage.score, 6),
            passage=passage.text,
            heading_path=passage.heading_path,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Generation:
    """How a generated answer came about: the model, its timing and what the guard did."""

    model: str
    standalone_question: str
    context_chars: int
    first_token_ms: float | None = None  # the model's first token
    first_text_ms: float | None = None  # the first sentence that passed the guard
    total_ms: float = 0.0
    sentences: int = 0
    dropped: tuple[str, ...] = ()  # sentences with no support in the passages
    set_aside: tuple[str, ...] = ()  # backed, but by another passage than the one the answer rests on
    completed: int = 0  # sentences of the answering passage the model left out, added verbatim
    repointed: int = 0  # sentences moved to the passage that backs them
    bad_citations: int = 0  # [n] markers that pointed to no passage
    model_refused: bool = False
    fell_back: bool = False  # nothing usable came back: the extractive answer is shown
    error: str | None = None  # the model failed (endpoint down, timeout); what was verified is kept

    @property
    def guard_fired(self) -> bool:
        return bool(self.dropped or self.repointed or self.bad_citations or self.fell_back)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "guard_fired": self.guard_fired}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Passage, ...] = field(default=())
    note: str | None = None
    mode: str = "extractive"  # or "generated"
    generation: Generation | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "refused": self.refused,
            "note": self.note,
            "citations": [c.to_dict() for c in self.citations],
            "related": [p.to_dict() for p in self.related],
            "mode": self.mode,
            "generation": self.generation.to_dict() if self.generation else None,
        }
