"""Make the store hold exactly the planned chunks: embed and write what is missing, update what
changed, delete what no file gives any more, leave the rest alone.

Because it compares the plan with what the store holds (not with what the last run did), a run
killed half-way is repaired by the next one.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ingest import failpoints
from ingest.index.config import Settings
from ingest.index.store import ChunkStore, clean_metadata
from ingest.types import Chunk

WRITE_BATCH = 64  # chunks embedded and written together: a crash loses at most one batch


class PassageEmbedder(Protocol):
    """What ingest needs from an embedding model (ingest.index.embedding.Embedder is the real one)."""

    name: str

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """What the store keeps beside a chunk. speech_title is the title users see (told apart
    from others of the same title); original_title is the speech's own."""
    return {
        "speech_id": chunk.speech_id,
        "speech_title": chunk.display_title or chunk.speech_title,
        "original_title": chunk.speech_title,
        "speaker": chunk.speaker,
        "source": chunk.source,
        "sources": list(chunk.sources),
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "heading_path": chunk.heading_path,
        "date": chunk.date,
        "place": chunk.place,
        "scope": chunk.scope,
        "embed_hash": chunk.embed_hash,
    }


def reconcile(
    store: ChunkStore,
    planned: list[Chunk],
    embedder: PassageEmbedder | None,
    settings: Settings,
    progress: bool,
) -> dict[str, int]:
    """Write what is missing, delete what no file gives any more; reuse vectors we have."""
    stored = store.metadata_by_id()
    wanted = {c.chunk_id: c for c in planned}
    missing = [c for c in planned if c.chunk_id not in stored]
    extra = [i for i in stored if i not in wanted]

    # A chunk whose embedded text is already stored (moved, retitled source) keeps its vector.
    by_hash = {m.get("embed_hash"): i for i, m in stored.items() if m.get("embed_hash")}
    reusable = {c.chunk_id: by_hash[c.embed_hash] for c in missing if c.embed_hash in by_hash}
    to_embed = [c for c in missing if c.chunk_id not in reusable]

    if reusable:
        vectors = store.embeddings(list(set(reusable.values())))
        reused = [c for c in missing if c.chunk_id in reusable]
        for start in range(0, len(reused), WRITE_BATCH):
            batch = reused[start : start + WRITE_BATCH]
            _write(store, batch, np.stack([vectors[reusable[c.chunk_id]] for c in batch]))

    if to_embed:
        embedder = embedder or _default_embedder(settings)
        bar = _progress_bar(len(to_embed), progress)
        for start in range(0, len(to_embed), WRITE_BATCH):
            batch = to_embed[start : start + WRITE_BATCH]
            _write(store, batch, embedder.embed_passages([c.embed_text for c in batch]))
            bar.update(len(batch))
        bar.close()
    failpoints.reach(failpoints.VECTORS_WRITTEN)

    store.delete(extra)

    # Same chunk, new facts about it (e.g. one of the files holding it is gone).
    stale = [c for c in planned if c.chunk_id in stored and _metadata_differs(c, stored[c.chunk_id])]
    store.update_metadata([c.chunk_id for c in stale], [chunk_metadata(c) for c in stale])

    # A new chunk in the place (file, speech, position) of a deleted one is an update.
    removed = set(extra)  # once, not per stored chunk
    old_slots = Counter(
        (m.get("source"), m.get("speech_title"), m.get("position")) for i, m in stored.items() if i in removed
    )
    updated = 0
    for chunk in missing:
        slot = (chunk.source, chunk.display_title or chunk.speech_title, chunk.position)
        if old_slots[slot]:
            old_slots[slot] -= 1
            updated += 1
    return {
        "chunks_added": len(missing) - updated,
        "chunks_updated": updated + len(stale),
        "chunks_unchanged": len(planned) - len(missing) - len(stale),
        "chunks_removed": len(extra) - updated,
        "embedded": len(to_embed),
    }


def _metadata_differs(chunk: Chunk, stored: dict[str, Any]) -> bool:
    return clean_metadata(chunk_metadata(chunk)) != stored


def _write(store: ChunkStore, chunks: list[Chunk], vectors: np.ndarray) -> None:
    store.upsert(
        [c.chunk_id for c in chunks],
        [c.text for c in chunks],
        [chunk_metadata(c) for c in chunks],
        vectors,
    )


def _default_embedder(settings: Settings) -> PassageEmbedder:
    from ingest.index.embedding import Embedder

    return Embedder.from_settings(settings)


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk", disable=not enabled, file=sys.stderr)
