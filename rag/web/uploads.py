"""Uploaded speech files: checked, named safely and kept in one folder.

Shared by the chat page and the HTTP API so a file sent either way is stored
under the same name, once. An uploaded file name is only ever a label: the
stored name is a content hash plus a tidied base name, never a path.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path, PurePosixPath

from ingest.loaders import SUPPORTED_SUFFIXES
from rag.config import Settings

_UNSAFE = re.compile(r"[^\w.\- ]+")


def safe_name(filename: str) -> str:
    """The final path component, reduced to word characters, '-', '_', ' ' and single dots."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    path = PurePosixPath(base or "upload")
    suffix = path.suffix.lower() if path.suffix.lower() in SUPPORTED_SUFFIXES else ""
    stem = path.name[: len(path.name) - len(path.suffix)] if suffix else path.name
    stem = _UNSAFE.sub("_", stem)
    stem = re.sub(r"\.{2,}", ".", stem).strip(". ")[:80] or "upload"
    return stem + suffix


def suffix_of(filename: str) -> str:
    return PurePosixPath((filename or "").replace("\\", "/")).suffix.lower()


def stored_name(filename: str, content: bytes) -> str:
    """<sha256[:16]>_<safe name>."""
    return f"{hashlib.sha256(content).hexdigest()[:16]}_{safe_name(filename)}"


def save_upload(uploads_dir: Path, filename: str, content: bytes) -> Path:
    """Write the file inside uploads_dir and nowhere else."""
    uploads_dir.mkdir(parents=True, exist_ok=True)
    root = uploads_dir.resolve()
    target = root / stored_name(filename, content)
    if target.parent != root:  # cannot happen with safe_name; cheap to make sure
        raise ValueError(f"{filename!r}: unusable file name")
    target.write_bytes(content)
    return target


def admin_password_ok(given: str | None, settings: Settings) -> bool:
    """Constant-time check; always False when no admin password is configured."""
    expected = settings.admin_password
    if expected is None or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.get_secret_value().encode("utf-8"))
