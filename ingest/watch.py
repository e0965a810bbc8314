"""Watch a folder and ingest what changes in it: polling (no extra dependency), debounced.

    stop = threading.Event()
    thread = threading.Thread(target=watch_folder, args=(settings, print), kwargs={"stop": stop},
                              daemon=True)
    thread.start()   # …; stop.set() to end it

Every ``interval`` seconds the folder's speech files are listed with their mtime and size; when
that snapshot changes, the watcher waits until it has stayed the same for ``settle`` seconds (a
file being copied in is not read half-written) and then runs one incremental ingest of the
folder (unchanged files cost a hash each; nothing is re-embedded). The ingest bumps the index
generation, so every app on this machine, or every replica on the Chroma server, picks it up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ingest.index.config import Settings
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.pipeline import IngestLocked, IngestReport, ingest_paths
from ingest.reconcile import PassageEmbedder

log = logging.getLogger(__name__)

Snapshot = dict[str, tuple[int, int]]


def snapshot(folder: Path) -> Snapshot:
    """path → (mtime_ns, size) of every speech file under folder (hidden ones left out)."""
    found: Snapshot = {}
    if not folder.is_dir():
        return found
    for path in folder.rglob("*"):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        try:
            stat = path.stat()
        except OSError:  # removed while listing
            continue
        if path.is_file():
            found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


def watch_folder(
    settings: Settings,
    on_report: Callable[[IngestReport], object] | None = None,
    *,
    folder: Path | None = None,
    interval: float = 1.0,
    settle: float = 2.0,
    prune: bool = True,
    stop: threading.Event | None = None,
    embedder: PassageEmbedder | None = None,
    on_error: Callable[[BaseException], object] | None = None,
) -> None:
    """Ingest ``folder`` (default settings.data_dir) whenever its files change, until ``stop``
    is set. Runs one ingest at start (it costs a hash per file when nothing changed), then one
    per settled change. ``on_report`` gets each report; ``on_error`` each failed run (a run
    refused because another ingest holds the lock is retried at the next change or poll)."""
    folder = Path(folder or settings.data_dir)
    stop = stop or threading.Event()
    last_ingested: Snapshot | None = None
    seen = snapshot(folder)
    changed_at = float("-inf")  # ingest once at start
    while not stop.is_set():
        now = snapshot(folder)
        if now != seen:
            seen, changed_at = now, time.monotonic()
        settled = time.monotonic() - changed_at >= settle
        if settled and seen != last_ingested:
            try:
                report = ingest_paths([folder], settings, prune=prune, embedder=embedder, progress=False)
            except IngestLocked as error:  # another writer: try again after the next interval
                log.info("watch: %s", error)
                changed_at = time.monotonic()
            except Exception as error:  # the server down, …: report and keep watching
                log.warning("watch: ingest of %s failed: %s", folder, error)
                if on_error:
                    on_error(error)
                last_ingested = seen
            else:
                last_ingested = seen
                if on_report:
                    on_report(report)
        stop.wait(interval)


def start_watching(
    settings: Settings, on_report: Callable[[IngestReport], object] | None = None, **options: object
) -> tuple[threading.Thread, threading.Event]:
    """watch_folder on a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=watch_folder,
        args=(settings, on_report),
        kwargs={**options, "stop": stop},
        name="ingest-watch",
        daemon=True,
    )
    thread.start()
    return thread, stop
