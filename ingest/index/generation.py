"""The index generation: a counter every completed ingest bumps, so readers notice writes.

Readers (the app, any PolicyQA) compare the generation they opened with the current one
(cheaply, at most every few seconds) and reopen Chroma and the keyword index when it moved.

- Embedded store: a small file ``<store_dir>/generation`` (one integer), replaced atomically.
- Chroma server: the ``generation`` of the state record in the ``<collection>_meta`` collection
  (see ingest.index.meta), so replicas with their own store dirs all see one number.

The generation is bumped only after a complete write (vectors, keyword index, manifest saved
clean): a reader never reopens onto half an ingest's work.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

GENERATION_NAME = "generation"


def read_local(store_dir: Path) -> int:
    """The embedded store's generation; 0 before the first ingest (or for an older store)."""
    try:
        return int((store_dir / GENERATION_NAME).read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        return 0


def write_local(store_dir: Path, generation: int) -> None:
    store_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=store_dir, prefix=".generation-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(f"{generation}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, store_dir / GENERATION_NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def bump_local(store_dir: Path) -> int:
    """Next generation of the embedded store (callers hold the store's ingest lock)."""
    generation = read_local(store_dir) + 1
    write_local(store_dir, generation)
    return generation
