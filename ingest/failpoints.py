"""Named points where an ingest can be made to die on purpose, to prove the next run repairs it.

A kill -9 timed from outside races the ingest: the last steps (deletes, keyword sync, manifest
save) take milliseconds, so a watcher that sees the last batch written may find the run already
finished. Crash tests therefore start a real ``python -m ingest`` with ``POLICYQA_FAILPOINT=<name>``
and the process SIGKILLs itself when it reaches that point: the same death, at a known place.
Users never set it; unset, a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "POLICYQA_FAILPOINT"

STORE_MARKED_DIRTY = "store-marked-dirty"  # the manifest says "the store may differ"; nothing written
VECTORS_WRITTEN = "vectors-written"  # every new chunk is in Chroma; nothing deleted, keywords untouched
KEYWORDS_SYNCED = "keywords-synced"  # Chroma and the keyword index complete; the manifest still dirty
POINTS = (STORE_MARKED_DIRTY, VECTORS_WRITTEN, KEYWORDS_SYNCED)


def reach(point: str) -> None:
    """Die here, as kill -9 would, if this run was told to."""
    if os.environ.get(ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
