"""What every format reader shares: the error type, character classes, and the one output shape
(paragraphs separated by one blank line)."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path


class LoadError(Exception):
    """A file we cannot read; the message names the file and the reason in plain words."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name or self.path}: {reason}")

    def __reduce__(self) -> tuple[type[LoadError], tuple[Path, str]]:
        # Custom __init__ signature: keep the error picklable for worker pools.
        return (type(self), (self.path, self.reason))


class DecodeError(ValueError):
    """Bytes that do not decode to plausible text (binary, or no encoding fits)."""


class OverBudget(Exception):
    """Reading a file took longer than its time budget (see :func:`check_time`)."""


@dataclass
class ReadContext:
    """What one file's read carries besides its bytes: a deadline and notes for the report."""

    deadline: float | None = None  # time.monotonic() value; None: no limit
    notes: list[str] = field(default_factory=list)


_CONTEXT: ContextVar[ReadContext | None] = ContextVar("ingest_read_context", default=None)


@contextmanager
def reading(deadline: float | None) -> Iterator[ReadContext]:
    """Collect notes and enforce ``deadline`` for the file read inside this block."""
    context = ReadContext(deadline)
    token = _CONTEXT.set(context)
    try:
        yield context
    finally:
        _CONTEXT.reset(token)


def note(message: str) -> None:
    """Record something the report should tell about this file (no-op outside :func:`reading`)."""
    context = _CONTEXT.get()
    if context is not None and message not in context.notes:
        context.notes.append(message)


def check_time() -> None:
    """Raise OverBudget when the current file's deadline has passed; called in the readers' loops."""
    context = _CONTEXT.get()
    if context is not None and context.deadline is not None and time.monotonic() > context.deadline:
        raise OverBudget


CJK_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Quotes are East-Asian "ambiguous" width: look through them when deciding on spaces.
QUOTES = "“”‘’\"'「」『』《》〈〉"
SENTENCE_END = "。！？；：…!?;:."
# Closers end a sentence only when what they close ended one: 。” ends, “四个一律” does not.
CLOSERS = "”’」』）)】］]》〉\"'"
BLANK_SPLIT = re.compile(r"\n[^\S\n]*\n\s*")


def is_wide(ch: str) -> bool:
    """True for full-width/wide characters (CJK ideographs, kana, CJK punctuation)."""
    return bool(ch) and unicodedata.east_asian_width(ch) in ("W", "F")


def cjk_count(text: str) -> int:
    return len(CJK_IDEOGRAPH.findall(text))


def display_width(text: str) -> int:
    """Width in 'half-width columns': a CJK character counts as two, like on the page."""
    width = 0
    for ch in text:
        if ch == "\t":
            width += 4
        else:
            width += 2 if is_wide(ch) else 1
    return width


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def finish(paragraphs: list[str]) -> str:
    """Join paragraphs with one blank line; trailing spaces and blank-line runs go."""
    out: list[str] = []
    for para in paragraphs:
        para = normalise_newlines(para)
        lines = [ln.rstrip() for ln in para.split("\n")]
        para = "\n".join(ln for ln in lines if ln.strip()).strip()
        if para:
            out.append(para)
    return "\n\n".join(out)
