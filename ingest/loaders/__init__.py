"""Turn one speech file (.txt .md .docx .pdf .html .htm) into plain text.

The output is always the same shape, whatever came in: paragraphs separated
by one blank line ("\\n\\n"), no leading/trailing whitespace.  Everything that
goes wrong while reading a file becomes a :class:`LoadError` that names the
file and says why in plain words, so a bulk ingest can skip and report it.

One module per format: decode (bytes to text), plain (.txt .md), word (.docx), pdf, html_page
(with html_clean for the site furniture);
common holds the error and the output shape. The format work lives in pure functions
(:func:`decode_bytes`, :func:`markdown_to_text`, :func:`html_to_text`,
:func:`strip_page_furniture`, :func:`rejoin_pdf_lines`) so it can be unit-tested without files;
this module picks the reader by suffix and turns every failure into a LoadError.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders.common import DecodeError, LoadError, OverBudget, reading
from ingest.loaders.decode import decode_bytes
from ingest.loaders.html_page import html_to_text, read_html
from ingest.loaders.pdf import read_pdf, rejoin_pdf_lines, strip_page_furniture
from ingest.loaders.plain import markdown_to_text, read_text_file
from ingest.loaders.word import read_docx

__all__ = [
    "MAX_FILE_BYTES",
    "READ_SECONDS",
    "SUPPORTED_SUFFIXES",
    "DecodeError",
    "LoadError",
    "LoadedText",
    "decode_bytes",
    "html_to_text",
    "load_document",
    "load_text",
    "markdown_to_text",
    "rejoin_pdf_lines",
    "strip_page_furniture",
]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".docx", ".pdf", ".html", ".htm"})
# The largest speech collections we know are a few MB; 50 MB is room for a scanned-page PDF
# with a text layer while refusing a file that would fill memory once parsed.
MAX_FILE_BYTES = 50 * 1024 * 1024
# One file may take this long to read; a normal speech takes well under a second, and a
# hostile one (deep HTML, huge PDF) must not hold an ingest for minutes.
READ_SECONDS = 60.0
# Speech text breaks into sentences and lines; the longest run without either in our speeches is
# a few hundred characters. A run this long is a dump (a log, base64, one scraped line of 5 MB),
# and chunking it would embed thousands of meaningless pieces: refused, with the file named.
MAX_UNBROKEN_CHARS = 20_000
_UNBROKEN = re.compile(rf"[^。！？；!?;\n]{{{MAX_UNBROKEN_CHARS + 1}}}")

# Hints for formats people commonly have but we do not read.
_SUFFIX_HINTS: dict[str, str] = {
    ".doc": "old binary Word format; save it as .docx",
    ".wps": "WPS format; save it as .docx",
    ".rtf": "save it as .docx or .txt",
}


_READERS: dict[str, Callable[[Path, bytes], str]] = {
    ".txt": read_text_file,
    ".md": read_text_file,
    ".docx": read_docx,
    ".pdf": read_pdf,
    ".html": read_html,
    ".htm": read_html,
}


@dataclass(frozen=True)
class LoadedText:
    """A file's text plus what was repaired on the way ("replaced 1 undecodable byte ...")."""

    text: str
    notes: tuple[str, ...] = ()


def load_text(path: Path, *, seconds: float | None = READ_SECONDS) -> str:
    """Read a speech file into text with paragraphs separated by blank lines ("\\n\\n").

    Raises LoadError (and nothing else) for anything unreadable: unsupported
    type, missing file, directory, permission, empty, binary, corrupt, a PDF
    without a text layer or with a password, too big, or slower than ``seconds``.
    """
    return load_document(path, seconds=seconds).text


def load_document(path: Path, *, seconds: float | None = READ_SECONDS) -> LoadedText:
    """:func:`load_text` with the notes on what was repaired, for the ingest report."""
    path = Path(path)
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        with reading(deadline) as context:
            text = _load(path)
        return LoadedText(text, tuple(context.notes))
    except LoadError:
        raise
    except OverBudget:
        reason = f"took longer than {seconds:g} s to read; the file is too big or too complex"
        raise LoadError(path, reason) from None
    except RecursionError as exc:
        raise LoadError(path, "document structure is nested too deeply to read") from exc
    except MemoryError as exc:
        raise LoadError(path, "not enough memory to read this file") from exc
    except Exception as exc:  # the promise: callers only ever see LoadError
        raise LoadError(path, f"cannot read file ({type(exc).__name__}: {exc})") from exc


def _load(path: Path) -> str:
    if path.is_dir():
        raise LoadError(path, "is a directory, not a file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = " ".join(sorted(SUPPORTED_SUFFIXES))
        kind = f"unsupported file type {suffix}" if suffix else "file has no extension"
        hint = f"; {_SUFFIX_HINTS[suffix]}" if suffix in _SUFFIX_HINTS else ""
        raise LoadError(path, f"{kind} (supported: {supported}){hint}")
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise LoadError(path, "file not found") from exc
    except OSError:
        size = 0  # let read_bytes name the problem
    if size > MAX_FILE_BYTES:
        raise LoadError(
            path, f"file is too big ({size / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB)"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise LoadError(path, "file not found") from exc
    except PermissionError as exc:
        raise LoadError(path, "permission denied") from exc
    except OSError as exc:
        raise LoadError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:  # grew since stat
        raise LoadError(path, f"file is too big (the limit is {MAX_FILE_BYTES // 2**20} MB)")
    if not data:
        raise LoadError(path, "file is empty")
    if suffix in (".txt", ".md") and not data.strip():
        raise LoadError(path, "file contains only whitespace")
    text = _READERS[suffix](path, data)
    if not text.strip():
        if suffix in (".txt", ".md"):
            raise LoadError(path, "file contains only whitespace (no text)")
        raise LoadError(path, "no text found in the document")
    if (run := _UNBROKEN.search(text)) is not None:
        raise LoadError(
            path,
            f"not speech text: {MAX_UNBROKEN_CHARS:,}+ characters without a sentence end or line break "
            f"(from character {run.start():,})",
        )
    return text
