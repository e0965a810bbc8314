"""Turn one speech file (.txt .md .docx .pdf .html .htm) into plain text.

The output is always the same shape, whatever came in: paragraphs separated
by one blank line ("\\n\\n"), no leading/trailing whitespace.  Everything that
goes wrong while reading a file becomes a :class:`LoadError` that names the
file and says why in plain words, so a bulk ingest can skip and report it.

One module per format: decode (bytes to text), plain (.txt .md), word (.docx), pdf, html_page;
common holds the error and the output shape. The format work lives in pure functions
(:func:`decode_bytes`, :func:`markdown_to_text`, :func:`html_to_text`,
:func:`strip_page_furniture`, :func:`rejoin_pdf_lines`) so it can be unit-tested without files;
this module picks the reader by suffix and turns every failure into a LoadError.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.loaders.common import DecodeError, LoadError
from ingest.loaders.decode import decode_bytes
from ingest.loaders.html_page import html_to_text, read_html
from ingest.loaders.pdf import read_pdf, rejoin_pdf_lines, strip_page_furniture
from ingest.loaders.plain import markdown_to_text, read_text_file
from ingest.loaders.word import read_docx

__all__ = [
    "SUPPORTED_SUFFIXES",
    "DecodeError",
    "LoadError",
    "decode_bytes",
    "html_to_text",
    "load_text",
    "markdown_to_text",
    "rejoin_pdf_lines",
    "strip_page_furniture",
]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".docx", ".pdf", ".html", ".htm"})

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


def load_text(path: Path) -> str:
    """Read a speech file into text with paragraphs separated by blank lines ("\\n\\n").

    Raises LoadError (and nothing else) for anything unreadable: unsupported
    type, missing file, directory, permission, empty, binary, corrupt, a PDF
    without a text layer or with a password.
    """
    path = Path(path)
    try:
        return _load(path)
    except LoadError:
        raise
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
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise LoadError(path, "file not found") from exc
    except PermissionError as exc:
        raise LoadError(path, "permission denied") from exc
    except OSError as exc:
        raise LoadError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if not data:
        raise LoadError(path, "file is empty")
    if suffix in (".txt", ".md") and not data.strip():
        raise LoadError(path, "file contains only whitespace")
    text = _READERS[suffix](path, data)
    if not text.strip():
        if suffix in (".txt", ".md"):
            raise LoadError(path, "file contains only whitespace (no text)")
        raise LoadError(path, "no text found in the document")
    return text
