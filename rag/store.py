"""The vector store: one adapter over a Chroma collection, embedded on disk or on a server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from rag.config import Settings

_GET_PAGE = 2000


class StoreError(RuntimeError):
    """The store cannot be used as configured; the message says what to do."""


class ModelMismatchError(StoreError):
    """The store was built with another embedding model: its vectors are not comparable."""


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    """An HttpClient when a server is configured, else a PersistentClient under store_dir."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as error:  # connection refused, DNS, TLS …
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}: {error}"
            ) from error
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.store_dir / "chroma"), settings=chroma_settings)


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
    def open(cls, settings: Settings, embedding_model: str, *, create: bool = True) -> ChunkStore:
        """Open (or create) the collection, refusing one built with another embedding model."""
        client = chroma_client(settings)
        location = describe_location(settings)
        try:
            collection = client.get_collection(settings.collection, embedding_function=None)
        except NotFoundError:
            if not create:
                raise StoreError(
                    f"no index at {location}; build one with: python -m ingest {settings.data_dir}"
                ) from None
            collection = client.create_collection(
                settings.collection,
                metadata={"embedding_model": embedding_model},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
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
        return cls(collection, location)

    @staticmethod
    def drop(settings: Settings) -> None:
        """Delete the collection (for --rebuild)."""
        client = chroma_client(settings)
        with contextlib.suppress(NotFoundError):
            client.delete_collection(settings.collection)

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
        page = self._collection.get(ids=list(ids), include=["embeddings"])
        return {
            i: np.asarray(v, dtype=np.float32) for i, v in zip(page["ids"], page["embeddings"], strict=True)
        }

    def documents(self, ids: Sequence[str] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """Texts and metadata, for all chunks or the given ids."""
        include = ["documents", "metadatas"]
        pages = (
            [self._collection.get(ids=list(ids), include=include)]
            if ids is not None
            else self._pages(include)
        )
        return {
            i: (d, dict(m or {}))
            for page in pages
            for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        }

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
        ids = list(speech_ids)
        if not ids:
            return {}
        page = self._collection.get(
            where={"$and": [{"speech_id": {"$in": ids}}, {"position": 0}]}, include=["documents", "metadatas"]
        )
        return {m["speech_id"]: d for d, m in zip(page["documents"], page["metadatas"], strict=True)}

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, str, dict[str, Any], float]]:
        """Nearest chunks as (id, text, metadata, cosine similarity), best first."""
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
