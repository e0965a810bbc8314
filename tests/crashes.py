"""Killing a real `python -m ingest` with SIGKILL and checking what the next run makes of it.

Shared by the crash tests (tests/test_ingest.py, tests/test_faults.py) and the crash-trial
benchmark (bench/crash_trials.py), so that all of them judge a repaired index by one rule:
it must equal a clean build of the same files, chunk for chunk.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest import failpoints
from ingest.chunking import ChunkSpec
from ingest.index.keywords import INDEX_NAME, KeywordIndex
from ingest.index.store import ChunkStore, StoreError
from ingest.manifest import MANIFEST_NAME, Manifest
from ingest.pipeline import plan_chunks
from rag.config import Settings
from tests.conftest import ROOT, SEED

_PROGRESS = re.compile(rb"embedding:[^\r\n|]*\|[^|]*\| *(\d+)/(\d+)")
VECTOR_TOLERANCE = 1e-3  # the same text embedded in another batch differs by float noise only


def write_corpus(folder: Path, lines: int, edit: tuple[int, int] = (60, 180)) -> Path:
    """A small real corpus: the seed page's first ``lines`` lines, plus an edited second copy of
    the lines in ``edit`` (made longer, so deduplication keeps the edited copy of a speech that
    both files hold)."""
    folder.mkdir(parents=True, exist_ok=True)
    page = SEED.read_text(encoding="utf-8").split("\n")
    (folder / "a.txt").write_text("\n".join(page[:lines]), encoding="utf-8")
    edited = "\n".join(page[edit[0] : edit[1]]).replace("安全", "安全生产", 3)
    (folder / "b.txt").write_text(edited, encoding="utf-8")
    return folder


def ingest_env(settings: Settings) -> dict[str, str]:
    """The environment a user's `python -m ingest` would see for these settings."""
    env = dict(os.environ)
    env.update(
        POLICYQA_STORE_DIR=str(settings.store_dir),
        POLICYQA_MODEL_CACHE=str(settings.model_cache),
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    return env


def start_ingest(
    paths: Sequence[Path], settings: Settings, log: Path, failpoint: str | None = None
) -> subprocess.Popen:
    """A real ingest in its own process; its stderr (the progress bar) goes to ``log``.

    With ``failpoint`` (one of ``ingest.failpoints.POINTS``) it kills itself with SIGKILL there."""
    env = ingest_env(settings)
    if failpoint:
        env[failpoints.ENV] = failpoint
    with open(log, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "ingest", *map(str, paths)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def embedded_so_far(log: Path) -> tuple[int, int]:
    """(chunks embedded and written, chunks to embed) from the progress bar; (0, 0) before it shows."""
    found = _PROGRESS.findall(log.read_bytes()) if log.exists() else []
    if not found:
        return 0, 0
    done, total = found[-1]
    return int(done), int(total)


def manifest_dirty(store_dir: Path) -> bool:
    """True once the run has recorded that the store may differ from the manifest."""
    try:
        return Manifest.load(store_dir).dirty
    except (OSError, ValueError):  # not there yet (the write itself is an atomic rename)
        return False


def kill_when(proc: subprocess.Popen, condition: Callable[[], bool], timeout: float = 300) -> bool:
    """SIGKILL the process as soon as ``condition()`` holds; False if it exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if condition():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    raise TimeoutError(f"the kill condition did not hold within {timeout} s")


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL the process ``seconds`` from now; False if it had exited by then."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def kill_at(proc: subprocess.Popen, anchor: Callable[[], bool], delay: float, timeout: float = 600) -> bool:
    """SIGKILL the process ``delay`` seconds after ``anchor()`` first holds; False if it exited first."""
    deadline = time.monotonic() + timeout
    while not anchor():
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise TimeoutError(f"the anchor did not hold within {timeout} s")
        time.sleep(0.02)
    return kill_after(proc, delay)


@dataclass
class IndexState:
    """Everything an index is made of, read back from disk after a run (or a kill)."""

    chroma: dict[str, tuple[str, dict[str, Any]]]  # chunk id -> (text, metadata)
    vectors: dict[str, np.ndarray]
    chroma_rows: int
    keyword_ids: set[str]
    keyword_rows: int
    planned: set[str] | None  # the chunk ids the manifest's files give; None without a manifest
    dirty: bool | None


def read_state(settings: Settings) -> IndexState:
    """Read Chroma, the keyword index and the manifest of ``settings.store_dir``.

    Opens the embedded store in this process: call it only when no other process writes there.
    """
    try:
        store = ChunkStore.open(settings, settings.embedding_model, create=False)
        chroma = store.documents()
        vectors = store.embeddings(list(chroma))
        rows = store.count()
    except StoreError:  # killed before the collection was created
        chroma, vectors, rows = {}, {}, 0
    keyword_ids: set[str] = set()
    keyword_rows = 0
    if (settings.store_dir / INDEX_NAME).exists():
        keywords = KeywordIndex.beside(settings.store_dir)
        keyword_ids, keyword_rows = keywords.ids(), keywords.count()
        keywords.close()
    planned: set[str] | None = None
    dirty: bool | None = None
    if (settings.store_dir / MANIFEST_NAME).exists():
        manifest = Manifest.load(settings.store_dir)
        spec = ChunkSpec(**manifest.chunking) if manifest.chunking else ChunkSpec()
        planned = {c.chunk_id for c in plan_chunks(manifest.speeches(), spec)}
        dirty = manifest.dirty
    return IndexState(chroma, vectors, rows, keyword_ids, keyword_rows, planned, dirty)


def phase_of(killed: IndexState, clean: IndexState, progress: tuple[int, int] = (0, 0)) -> str:
    """Where in the run a kill landed, judged from what it left behind (for a fresh store) and
    from the progress bar's last state (``embedded_so_far``). The bar shows before the model
    loads (the model loads on the first batch), so the two are one phase here."""
    total = len(clean.chroma)
    if killed.dirty is None:
        return "start-up (imports, reading files, opening Chroma; no manifest yet)"
    if not killed.dirty:
        return "finished before the kill"
    if killed.chroma_rows == 0:
        if progress[1] == 0:
            return "manifest marked dirty, before the progress bar (reading the store's ids)"
        return "model load and the first batch (nothing written yet)"
    if killed.chroma_rows < total:
        return "embedding and writing later batches"
    if killed.keyword_rows < total:
        return "deletes / keyword index sync (Chroma complete)"
    return "final manifest save (Chroma and keywords complete)"


def problems(repaired: IndexState, clean: IndexState) -> list[str]:
    """How a repaired index differs from a clean build of the same files; [] when it does not."""
    found: list[str] = []
    ids, clean_ids = set(repaired.chroma), set(clean.chroma)
    if ids != clean_ids:
        found.append(f"Chroma ids differ: {len(ids - clean_ids)} extra, {len(clean_ids - ids)} missing")
    if repaired.chroma_rows != len(ids):
        found.append(f"Chroma holds {repaired.chroma_rows} rows for {len(ids)} ids")
    texts = [text for text, _ in repaired.chroma.values()]
    if len(set(texts)) != len(texts):
        found.append(f"{len(texts) - len(set(texts))} duplicate chunk texts in Chroma")
    if repaired.keyword_rows != len(repaired.keyword_ids):
        found.append(f"keyword index: {repaired.keyword_rows} rows for {len(repaired.keyword_ids)} ids")
    if repaired.keyword_ids != ids:
        found.append(
            f"keyword index vs Chroma: {len(repaired.keyword_ids - ids)} orphans, "
            f"{len(ids - repaired.keyword_ids)} missing"
        )
    if repaired.planned != ids:
        found.append("the manifest's planned chunk ids are not the ids in Chroma")
    if repaired.dirty is not False:
        found.append(f"manifest dirty flag is {repaired.dirty}")
    changed = [i for i in ids & clean_ids if repaired.chroma[i] != clean.chroma[i]]
    if changed:
        found.append(f"{len(changed)} chunks with other text or metadata than a clean build")
    drift = max(
        (float(np.abs(repaired.vectors[i] - clean.vectors[i]).max()) for i in ids & clean_ids), default=0.0
    )
    if drift > VECTOR_TOLERANCE:
        found.append(f"vectors differ from a clean build by up to {drift:.2e}")
    return found
