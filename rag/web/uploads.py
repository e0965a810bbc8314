"""Uploaded speech files: checked, named safely, kept in one folder, removed when they fail.

The only place upload rules live; the chat page (rag.web.page) and the HTTP API (/api/ingest)
both call ``check_upload`` and ``ingest_uploads``. An uploaded file name is only ever a label: the
stored name is a content hash plus a tidied base name, never a path. A file that fails to ingest
is deleted again (unless it was there before), so 重新导入 does not trip over it forever.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ingest.loaders import SUPPORTED_SUFFIXES
from rag.config import Settings

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from rag.api import PolicyQA

log = logging.getLogger("policyqa.uploads")
_UNSAFE = re.compile(r"[^\w.\- ]+")
SUPPORTED = " ".join(sorted(SUPPORTED_SUFFIXES))


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
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.get_secret_value().encode("utf-8"))


def check_upload(name: str, size: int, settings: Settings) -> str | None:
    """Why this file is refused (a Chinese sentence), or None when it may be saved."""
    suffix = suffix_of(name)
    if suffix not in SUPPORTED_SUFFIXES:
        return f"不支持的格式 {suffix or '(无后缀)'}(支持:{SUPPORTED})"
    if size > settings.max_upload_mb * 1024 * 1024:
        return f"文件太大({size / 1048576:.1f} MB > {settings.max_upload_mb} MB),没有保存"
    return None


def inside(path: Path, folders: Sequence[Path]) -> bool:
    """Whether path (symlinks resolved) lies inside one of the folders: a page handler is only
    ever given files Gradio received, never a path on the server chosen by the caller."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return any(real.is_relative_to(folder.resolve()) for folder in folders)


@dataclass
class Stored:
    name: str  # the name the client sent
    path: Path  # where it is kept
    new: bool  # False when the same file was uploaded before (it is never deleted here)


def store_uploads(settings: Settings, files: Sequence[tuple[str, bytes]]) -> list[Stored]:
    stored = []
    for name, content in files:
        existed = (settings.uploads / stored_name(name, content)).exists()
        stored.append(Stored(name, save_upload(settings.uploads, name, content), not existed))
    return stored


def ingest_uploads(qa: PolicyQA, stored: Sequence[Stored]) -> IngestReport:
    """Ingest the stored files in one go; a new file that fails (or all new ones, if ingest
    itself fails) is deleted again."""
    try:
        report = qa.ingest([s.path for s in stored])
    except BaseException:
        discard([s for s in stored if s.new])
        raise
    failed = {Path(e.file).resolve() for e in report.errors}
    discard([s for s in stored if s.new and s.path.resolve() in failed])
    return report


def discard(stored: Sequence[Stored]) -> None:
    for item in stored:
        log.info("removing %s: it did not ingest", item.path.name)
        item.path.unlink(missing_ok=True)
