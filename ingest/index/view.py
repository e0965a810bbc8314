"""A reader's view of the index that follows every ingest, made by any process or replica.

The reader remembers the index generation (ingest.index.generation) its Chroma collection and
keyword index were opened at, checks the current one at most every REFRESH_EVERY_S seconds
(a file read on the embedded store, one small get on a Chroma server) and, when it moved,
reopens both:

- embedded store: a fresh Chroma client (chromadb caches one system per path per process, and
  its vector index never sees rows another process wrote), and the keyword index (which then
  learns the slogans the ingest added);
- Chroma server: the collection (it may have been rebuilt) and the local keyword index, which
  on a server is a cache: when its stamped generation is not the server's, it is rebuilt from
  the server's documents and slogan dictionary. The rebuild runs on a thread; a caller waits
  for it up to KEYWORD_WAIT_S, and until it is done keyword_status() says "rebuilding".
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from filelock import FileLock, Timeout

from ingest.index import generation as local_generation
from ingest.index.config import Settings
from ingest.index.keywords import INDEX_NAME, KeywordDoc, KeywordIndex
from ingest.index.meta import MetaStore
from ingest.index.store import ChunkStore

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 2.0
KEYWORD_WAIT_S = 30.0
LOCK_NAME = "ingest.lock"  # the store dir's write lock: ingest.pipeline takes it, a keyword rebuild too

# Embedded store path → the generation this process's cached Chroma system was opened at.
_SYSTEMS_LOCK = threading.Lock()
_SYSTEM_AT: dict[str, int | None] = {}


def open_for_writing(settings: Settings, embedding_model: str) -> ChunkStore:
    """The store an ingest in this process writes through. chromadb keeps one system per path per
    process and readers in this process share it, so the writer uses that system too (two systems
    on one path in one process corrupt each other's view: "Error finding id") — reread from disk
    first only when another process wrote since this process's system was opened."""
    if settings.chroma_host:
        return ChunkStore.open(settings, embedding_model)
    path = str(settings.store_dir / "chroma")
    with _SYSTEMS_LOCK:
        opened_at, on_disk = _SYSTEM_AT.get(path), local_generation.read_local(settings.store_dir)
        fresh = opened_at is not None and opened_at != on_disk
        store = ChunkStore.open(settings, embedding_model, fresh=fresh)
        if fresh:
            _SYSTEM_AT[path] = on_disk
        return store


def note_written(settings: Settings, generation: int) -> None:
    """An ingest in this process wrote ``generation`` through the process's own Chroma system: its
    readers reopen the collection on that system instead of rereading the store from disk."""
    path = str(settings.store_dir / "chroma")
    with _SYSTEMS_LOCK:
        if path in _SYSTEM_AT:
            _SYSTEM_AT[path] = generation


def keyword_docs(store: ChunkStore) -> list[KeywordDoc]:
    """The keyword index's documents, derived from the store: what ingest indexed (the chunk's
    embed text: its speech's own title, heading path and text)."""
    docs = []
    for chunk_id, (text, meta) in store.documents().items():
        title = str(meta.get("original_title") or meta.get("speech_title") or "")
        embed_text = "\n".join(p for p in (title, str(meta.get("heading_path") or ""), text) if p)
        docs.append(
            KeywordDoc(chunk_id, embed_text, str(meta.get("speech_id", "")), str(meta.get("source", "")))
        )
    return docs


class IndexView:
    """The Chroma collection and keyword index a reader answers from, kept current."""

    def __init__(self, settings: Settings, *, refresh_every: float = REFRESH_EVERY_S) -> None:
        self.settings = settings
        self.refresh_every = refresh_every
        self._lock = threading.Lock()
        self._store: ChunkStore | None = None
        self._keywords: KeywordIndex | None = None
        self._meta: MetaStore | None = None
        self._generation: int | None = None  # the generation the open parts belong to
        self._checked_at = float("-inf")
        self._rebuilding: threading.Thread | None = None
        self._rebuild_error: str | None = None

    # ------------------------------------------------------------ the generation

    def current_generation(self) -> int:
        """The index generation now: ≤ 5 ms (a file read, or one small get on the server)."""
        if not self.settings.chroma_host:
            return local_generation.read_local(self.settings.store_dir)
        if self._meta is None:
            self._meta = MetaStore.open(self.settings, create=False)
            if self._meta is None:
                return 0
        return self._meta.generation()

    def refresh(self, *, force: bool = False) -> bool:
        """Reopen what another ingest changed; True when something was reopened. Raises
        StoreUnavailable when the Chroma server cannot be reached (answered as 503)."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._checked_at < self.refresh_every:
                return False
            self._checked_at = now
        try:
            generation = self.current_generation()
        except Exception:
            with self._lock:
                self._checked_at = float("-inf")  # check again on the next call
                self._meta = None
            raise
        with self._lock:
            if generation == self._generation:
                return False
            changed = self._generation is not None
            self._generation = generation
            if self._store is not None or changed:
                self._store = None
            self._keywords = None
        return True

    def invalidate(self) -> None:
        """This process just ingested: check the generation on the next call."""
        with self._lock:
            self._checked_at = float("-inf")
            self._store = None

    # ------------------------------------------------------------ the parts

    def store(self) -> ChunkStore:
        self.refresh()
        with self._lock:
            if self._store is None:
                if self.settings.chroma_host:
                    self._store = ChunkStore.open(self.settings, self.settings.embedding_model, create=False)
                else:
                    path = str(self.settings.store_dir / "chroma")
                    with _SYSTEMS_LOCK:  # reread from disk unless this process's system is current
                        fresh = _SYSTEM_AT.get(path, -1) != self._generation
                        self._store = ChunkStore.open(
                            self.settings, self.settings.embedding_model, create=False, fresh=fresh
                        )
                        _SYSTEM_AT[path] = self._generation
            return self._store

    def keywords(self) -> KeywordIndex:
        self.refresh()
        if self.settings.chroma_host:
            return self._server_keywords()
        with self._lock:
            if self._keywords is None:
                self._keywords = KeywordIndex.beside(self.settings.store_dir)
            return self._keywords

    def keyword_status(self) -> str:
        """ "ok", or "rebuilding" while a replica's keyword cache is not at the server's generation
        (answers then come from dense retrieval and a stale or empty keyword index)."""
        if not self.settings.chroma_host:
            return "ok"
        with self._lock:
            if self._rebuilding is not None and self._rebuilding.is_alive():
                return "rebuilding"
            keywords, generation = self._keywords, self._generation
        try:
            if keywords is None or generation is None:  # not opened yet: is the cache current?
                generation = self.current_generation()
                path = self.settings.store_dir / INDEX_NAME
                keywords = KeywordIndex(path) if path.exists() else None
            return "ok" if keywords is not None and keywords.generation() == generation else "rebuilding"
        except Exception:  # the server unreachable: nothing to rebuild from yet
            return "rebuilding"

    # ------------------------------------------------------------ a replica's keyword cache

    def _server_keywords(self) -> KeywordIndex:
        with self._lock:
            keywords, generation = self._keywords, self._generation
        if keywords is not None and keywords.generation() == generation:
            return keywords
        cached = KeywordIndex.beside(self.settings.store_dir)
        if cached.generation() == generation and cached.cut_here():
            with self._lock:
                self._keywords = cached
            return cached
        thread = self._start_rebuild()
        thread.join(KEYWORD_WAIT_S)
        with self._lock:
            if self._keywords is not None:
                return self._keywords
        # Not done in time (or failed): answer from what is there, health says "rebuilding".
        return keywords or cached

    def _start_rebuild(self) -> threading.Thread:
        with self._lock:
            if self._rebuilding is not None and self._rebuilding.is_alive():
                return self._rebuilding
            thread = threading.Thread(target=self._rebuild, name="keyword-rebuild", daemon=True)
            self._rebuilding = thread
        thread.start()
        return thread

    def _rebuild(self) -> None:
        started = time.monotonic()
        lock = FileLock(str(self.settings.store_dir / LOCK_NAME), timeout=KEYWORD_WAIT_S)
        try:
            self.settings.store_dir.mkdir(parents=True, exist_ok=True)
            with lock:  # not while an ingest of this store dir writes the same file
                meta = MetaStore.open(self.settings, create=False)
                generation = meta.generation() if meta else 0
                cached = KeywordIndex.beside(self.settings.store_dir)
                if cached.generation() != generation or not cached.cut_here():
                    store = ChunkStore.open(self.settings, self.settings.embedding_model, create=False)
                    terms = meta.terms() if meta else set()
                    cached = KeywordIndex.rebuild(
                        self.settings.store_dir / INDEX_NAME, keyword_docs(store), terms, generation
                    )
                    log.info(
                        "keyword index rebuilt from the server at generation %s in %.1f s",
                        generation,
                        time.monotonic() - started,
                    )
            with self._lock:
                if self._generation == generation:
                    self._keywords = cached
                else:
                    self._checked_at = float("-inf")
            self._rebuild_error = None
        except (Timeout, Exception) as error:  # the server down, the store missing …
            self._rebuild_error = str(error)
            log.warning("keyword index rebuild failed: %s", error)
            with self._lock:
                self._checked_at = float("-inf")

    def describe(self) -> dict[str, Any]:
        return {
            "generation": self._generation,
            "keywords": self.keyword_status(),
            "error": self._rebuild_error,
        }
