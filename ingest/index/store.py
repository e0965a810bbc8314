"""The vector store: one adapter over a Chroma collection, embedded on disk or on a server."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InternalError, NotFoundError

from ingest.index.config import Settings

_GET_PAGE = 2000
# chromadb's HttpClient waits for ever (httpx timeout=None): a hung server would hang every question.
CHROMA_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class StoreError(RuntimeError):
    """The store cannot be used as configured; the message says what to do."""


class ModelMismatchError(StoreError):
    """The store was built with another embedding model: its vectors are not comparable."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached just now. Nothing is wrong with the index: the same
    call works again once the server is back, without restarting anything (HTTP 503)."""


def unavailable(server: str, error: BaseException) -> StoreUnavailable:
    """The one wording for a lost Chroma server, for the page, the API and the logs."""
    reason = str(error) or type(error).__name__
    return StoreUnavailable(
        f"向量库暂时不可用,请稍后再试 (the Chroma server at {server} is unreachable: {reason})"
    )


def _retire_cached_system(path: str) -> None:
    """Make the next PersistentClient(path) start a new Chroma system that reads the store as it
    is on disk now. chromadb keeps one system per path for the whole process, and its vector
    index (HNSW) is loaded once: rows another process (a CLI ingest, a second app) wrote later
    are seen by get() but not by query(). The old system is not stopped: collections opened
    from it (calls under way, another PolicyQA of this process) keep working, and it is freed
    when the last of them is dropped."""
    from chromadb.api.shared_system_client import SharedSystemClient

    with SharedSystemClient._refcount_lock:
        SharedSystemClient._identifier_to_system.pop(path, None)
        SharedSystemClient._identifier_to_refcount.pop(path, None)


def chroma_client(settings: Settings, *, fresh: bool = False) -> chromadb.ClientAPI:
    """An HttpClient when a server is configured, else a PersistentClient under store_dir
    (``fresh``: not the process's cached one, see _retire_cached_system)."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    server = _server(settings)
    if server:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except (ValueError, httpx.TransportError) as error:  # "Could not connect to a Chroma server"
            raise unavailable(server, error) from error
        except Exception as error:  # TLS, a wrong address …
            raise StoreError(f"cannot use the Chroma server at {server}: {error}") from error
        _bound_http_timeout(client)
        return client
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    path = str(settings.store_dir / "chroma")
    if fresh:
        _retire_cached_system(path)
    return chromadb.PersistentClient(path=path, settings=chroma_settings)


def _server(settings: Settings) -> str | None:
    """host:port of the configured Chroma server; None for the embedded store."""
    return f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else None


def _bound_http_timeout(client: chromadb.ClientAPI) -> None:
    """Give the client's HTTP session a timeout (chromadb has no setting for it)."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = CHROMA_HTTP_TIMEOUT


class _Guarded:
    """A Chroma collection whose calls turn a lost server (refused, reset, timed out) into
    StoreUnavailable. The collection object itself stays valid across a server restart: its id
    is persisted with the data, so the next call after the server is back just works."""

    def __init__(self, collection: Any, server: str) -> None:
        self._collection = collection
        self._server = server

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except httpx.TransportError as error:
                raise unavailable(self._server, error) from error

        return call


def _reaching(server: str | None, action: Callable[[], Any]) -> Any:
    """action(), with a lost Chroma server reported as StoreUnavailable."""
    try:
        return action()
    except httpx.TransportError as error:
        raise unavailable(server or "?", error) from error


def describe_location(settings: Settings) -> str:
    if settings.chroma_host:
        return (
            f"Chroma server {settings.chroma_host}:{settings.chroma_port}, collection '{settings.collection}'"
        )
    return f"{settings.store_dir}"


class ChunkStore:
    """Chunks with their vectors and metadata. Ids are chunk ids; documents are chunk texts."""

    def __init__(self, collection: Any, location: str) -> None:
        self._collection = collection
        self.location = location

    @classmethod
    def open(
        cls, settings: Settings, embedding_model: str, *, create: bool = True, fresh: bool = False
    ) -> ChunkStore:
        """Open (or create) the collection, refusing one built with another embedding model.
        ``fresh``: reread an embedded store from disk (after another process wrote to it)."""
        client = chroma_client(settings, fresh=fresh)
        location = describe_location(settings)
        server = _server(settings)
        try:
            collection = client.get_collection(settings.collection, embedding_function=None)
        except httpx.TransportError as error:
            raise unavailable(server or location, error) from error
        except NotFoundError:
            if not create:
                raise StoreError(
                    f"no index at {location}; build one with: python -m ingest {settings.data_dir}"
                ) from None
            collection = _reaching(
                server,
                lambda: client.create_collection(
                    settings.collection,
                    metadata={"embedding_model": embedding_model},
                    configuration={"hnsw": {"space": "cosine", "ef_search": settings.hnsw_ef_search}},
                    embedding_function=None,
                ),
            )
        except Exception as error:
            raise StoreError(f"cannot open the index at {location}: {error}") from error
        built_with = (collection.metadata or {}).get("embedding_model")
        if built_with != embedding_model:
            raise ModelMismatchError(
                f"the index at {location} was built with embedding model '{built_with}', "
                f"but '{embedding_model}' is configured; vectors of two models cannot be mixed. "
                f"Either set POLICYQA_EMBEDDING_MODEL={built_with}, or rebuild the index with the "
                f"new model: python -m ingest --rebuild {settings.data_dir}"
            )
        if create:
            _widen_search(collection, settings.hnsw_ef_search, server)
        return cls(_Guarded(collection, server) if server else collection, location)

    @staticmethod
    def drop(settings: Settings) -> None:
        """Delete the collection (for --rebuild)."""
        client = chroma_client(settings)
        server = _server(settings)
        with contextlib.suppress(NotFoundError):
            _reaching(server, lambda: client.delete_collection(settings.collection))

    def count(self) -> int:
        return self._collection.count()

    def _pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        """The whole collection, read _GET_PAGE rows at a time."""
        offset = 0
        while True:
            page = self._collection.get(include=include, limit=_GET_PAGE, offset=offset)
            yield page
            if len(page["ids"]) < _GET_PAGE:
                return
            offset += _GET_PAGE

    def metadata_by_id(self) -> dict[str, dict[str, Any]]:
        """Every stored chunk id with its metadata."""
        return {
            i: dict(m or {})
            for page in self._pages(["metadatas"])
            for i, m in zip(page["ids"], page["metadatas"], strict=True)
        }

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        try:
            pages = [self._collection.get(ids=list(ids), include=["embeddings"])]
        except InternalError:
            # An ingest in this process is writing these ids at this moment ("Error finding id"):
            # take the vectors that can be read; a chunk mid-write is simply not a candidate yet.
            pages = []
            for one in ids:
                with contextlib.suppress(InternalError):
                    pages.append(self._collection.get(ids=[one], include=["embeddings"]))
        return {
            i: np.asarray(v, dtype=np.float32)
            for page in pages
            for i, v in zip(page["ids"], page["embeddings"], strict=True)
        }

    def documents(self, ids: Sequence[str] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """Texts and metadata, for all chunks or the given ids."""
        include = ["documents", "metadatas"]
        pages = (
            [self._collection.get(ids=list(ids), include=include)]
            if ids is not None
            else self._pages(include)
        )
        return {i: (d, m) for page in pages for i, d, m in _readable(page)}

    def upsert(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        vectors: np.ndarray,
    ) -> None:
        if not ids:
            return
        self._collection.upsert(
            ids=list(ids),
            documents=list(texts),
            metadatas=[clean_metadata(m) for m in metadatas],
            embeddings=np.asarray(vectors, dtype=np.float32),
        )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        """Replace metadata without touching vectors or texts."""
        for start in range(0, len(ids), _GET_PAGE):
            self._collection.update(
                ids=list(ids[start : start + _GET_PAGE]),
                metadatas=[clean_metadata(m, keep_none=True) for m in metadatas[start : start + _GET_PAGE]],
            )

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), _GET_PAGE):
            self._collection.delete(ids=ids[start : start + _GET_PAGE])

    def openings(self, speech_ids: Iterable[str]) -> dict[str, str]:
        """The first chunk's text of each speech."""
        return {speech_id: text for speech_id, (_, text) in self.titled_openings(speech_ids).items()}

    def titled_openings(self, speech_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Each speech's own title (not the display title that tells it from others) with its speaker
        line and place, and its first chunk: where a speech says whose and which meeting it is."""
        openings = {}
        for _, document, m in self._first_chunks(speech_ids):
            fields = (m.get("original_title") or m.get("speech_title"), m.get("speaker"), m.get("place"))
            openings[m["speech_id"]] = ("\n".join(str(f) for f in fields if f), document)
        return openings

    def speech_heads(self, speech_ids: Iterable[str]) -> dict[str, str]:
        """Each speech's head: its title, speaker line, place and date, then its first chunk —
        where it says who speaks, where and on what occasion."""
        heads = {}
        for _, document, m in self._first_chunks(speech_ids):
            fields = ("original_title", "speech_title", "speaker", "place", "date")
            heads[m["speech_id"]] = "\n".join([*(str(m.get(f) or "") for f in fields), document])
        return heads

    def speech_chunks(self, speech_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Every chunk of one speech as (chunk id, text, metadata), in the speech's order."""
        page = self._collection.get(where={"speech_id": speech_id}, include=["documents", "metadatas"])
        return sorted(_readable(page), key=lambda row: int(row[2].get("position", 0)))

    def _first_chunks(self, speech_ids: Iterable[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """The opening chunk of each speech, as (chunk id, text, metadata)."""
        ids = list(speech_ids)
        if not ids:
            return []
        page = self._collection.get(
            where={"$and": [{"speech_id": {"$in": ids}}, {"position": 0}]}, include=["documents", "metadatas"]
        )
        return _readable(page)

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, str, dict[str, Any], float]]:
        """Nearest chunks as (id, text, metadata, cosine similarity), best first; a chunk that an
        ingest deletes between Chroma's index lookup and its record read (no text) is left out."""
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k,
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (i, d, dict(m or {}), 1.0 - float(dist))
            for i, d, m, dist in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
            if d is not None
        ]


def _widen_search(collection: Any, ef_search: int, server: str | None) -> None:
    """Bring a store built before (or with another setting) to the configured search width. Only
    writers do it: readers leave a shared collection's settings alone, and pick it up on reopening."""
    hnsw = (collection.configuration_json or {}).get("hnsw") or {}
    if hnsw.get("ef_search") != ef_search:
        _reaching(server, lambda: collection.modify(configuration={"hnsw": {"ef_search": ef_search}}))


def _readable(page: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """A Chroma get's rows as (id, text, metadata), without those an ingest is deleting or
    rewriting at this moment: they can come back without their text or metadata."""
    return [
        (i, d, dict(m))
        for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        if d is not None and m
    ]


def clean_metadata(metadata: dict[str, Any], *, keep_none: bool = False) -> dict[str, Any]:
    """Chroma takes scalars and lists of scalars; 'not stated' is left out (or None, which
    deletes the key, in an update)."""
    clean: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, tuple | list):
            value = list(value)
        if value is None or value == "" or value == []:
            if keep_none:
                clean[key] = None
            continue
        clean[key] = value
    return clean
