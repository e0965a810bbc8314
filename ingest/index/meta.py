"""What a Chroma server holds besides the chunks: the manifest, the generation, the slogan
dictionary, parsed speeches and the writers' lease, in a small second collection
``<collection>_meta``. With it, a replica with an empty store dir answers exactly as the replica
that ingested, and can itself ingest incrementally.

Records (ids), each with a 1-d placeholder vector (Chroma requires one):

- ``state``: metadata ``generation`` (int); document JSON {dirty, chunking, speech_count,
  chunk_count, embedding_model, search_width}
- ``file:<hash of path>``: document JSON of one manifest FileRecord (hashes, speech summaries,
  chunk ids; no texts)
- ``parsed:<sha256 of file>``: document, the file's parsed speeches (zlib + base64), content
  addressed: what lets a later ingest plan the whole index without re-reading other files
- ``terms``: document JSON list of the slogans the keyword index was taught
- ``lease``: metadata owner, host, pid, expires: the one writer allowed at a time
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import uuid
import zlib
from typing import Any

from chromadb.errors import NotFoundError

from ingest.index.config import Settings
from ingest.index.store import StoreError, _Guarded, _reaching, _server, chroma_client, unavailable

STATE = "state"
TERMS = "terms"
LEASE = "lease"
LEASE_TTL_S = 60.0
_PAGE = 500
_PLACEHOLDER = [1.0]


class LeaseHeld(StoreError):
    """Another writer holds the Chroma server's ingest lease."""


def meta_name(settings: Settings) -> str:
    return f"{settings.collection}_meta"


def file_key(path: str) -> str:
    return "file:" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:24]


def pack(value: Any) -> str:
    return base64.b64encode(zlib.compress(json.dumps(value, ensure_ascii=False).encode("utf-8"), 6)).decode()


def unpack(text: str) -> Any:
    return json.loads(zlib.decompress(base64.b64decode(text)).decode("utf-8"))


class MetaStore:
    """The ``<collection>_meta`` collection of a Chroma server."""

    def __init__(self, collection: Any, server: str) -> None:
        self._collection = collection
        self.server = server

    @classmethod
    def open(cls, settings: Settings, *, create: bool = True) -> MetaStore | None:
        """The meta collection; None when it does not exist and create is False."""
        server = _server(settings)
        assert server, "the meta collection lives on a Chroma server"
        client = chroma_client(settings)
        name = meta_name(settings)
        try:
            collection = _reaching(server, lambda: client.get_collection(name, embedding_function=None))
        except NotFoundError:
            if not create:
                return None
            collection = _reaching(
                server, lambda: client.get_or_create_collection(name, embedding_function=None)
            )
        return cls(_Guarded(collection, server), server)

    @staticmethod
    def drop(settings: Settings) -> None:
        client = chroma_client(settings)
        with contextlib.suppress(NotFoundError):
            _reaching(_server(settings), lambda: client.delete_collection(meta_name(settings)))

    # ---------------------------------------------------------------- records

    def _get(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        page = self._collection.get(ids=ids, include=["documents", "metadatas"])
        return {
            i: (d or "", dict(m or {}))
            for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        }

    def _put(self, ids: list[str], documents: list[str], metadatas: list[dict[str, Any]]) -> None:
        for start in range(0, len(ids), _PAGE):
            end = start + _PAGE
            self._collection.upsert(
                ids=ids[start:end],
                documents=documents[start:end],
                metadatas=metadatas[start:end],
                embeddings=[_PLACEHOLDER] * len(ids[start:end]),
            )

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), _PAGE):
            self._collection.delete(ids=ids[start : start + _PAGE])

    def generation(self) -> int:
        """The server's index generation (0 before the first complete ingest): one small get."""
        page = self._collection.get(ids=[STATE], include=["metadatas"])
        return int((page["metadatas"][0] or {}).get("generation", 0)) if page["ids"] else 0

    def state(self) -> tuple[int, dict[str, Any]]:
        found = self._get([STATE])
        if STATE not in found:
            return 0, {}
        document, metadata = found[STATE]
        return int(metadata.get("generation", 0)), json.loads(document or "{}")

    def put_state(self, generation: int, state: dict[str, Any]) -> None:
        self._put(
            [STATE], [json.dumps(state, ensure_ascii=False)], [{"kind": "state", "generation": generation}]
        )

    def files(self) -> dict[str, dict[str, Any]]:
        """Every file record (path → record dict)."""
        records: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self._collection.get(
                where={"kind": "file"}, include=["documents"], limit=_PAGE, offset=offset
            )
            for document in page["documents"]:
                record = json.loads(document)
                records[record["path"]] = record
            if len(page["ids"]) < _PAGE:
                return records
            offset += _PAGE

    def put_files(self, records: list[dict[str, Any]], gone: list[str]) -> None:
        self._put(
            [file_key(r["path"]) for r in records],
            [json.dumps(r, ensure_ascii=False) for r in records],
            [{"kind": "file"} for _ in records],
        )
        self.delete([file_key(path) for path in gone])

    def parsed(self, sha256: str) -> Any | None:
        found = self._get([f"parsed:{sha256}"])
        return unpack(found[f"parsed:{sha256}"][0]) if found else None

    def has_parsed(self, sha256: str) -> bool:
        return bool(self._collection.get(ids=[f"parsed:{sha256}"], include=[])["ids"])

    def put_parsed(self, sha256: str, value: Any) -> None:
        self._put([f"parsed:{sha256}"], [pack(value)], [{"kind": "parsed"}])

    def forget_parsed(self, keep: set[str]) -> None:
        """Delete parsed speeches of files no record refers to any more."""
        page = self._collection.get(where={"kind": "parsed"}, include=[])
        self.delete([i for i in page["ids"] if i.removeprefix("parsed:") not in keep])

    def terms(self) -> set[str]:
        found = self._get([TERMS])
        return set(json.loads(found[TERMS][0])) if found else set()

    def put_terms(self, terms: set[str]) -> None:
        self._put([TERMS], [json.dumps(sorted(terms), ensure_ascii=False)], [{"kind": "terms"}])

    # ---------------------------------------------------------------- the writers' lease

    def lease(self) -> dict[str, Any] | None:
        found = self._get([LEASE])
        return found[LEASE][1] if found else None

    def acquire(self, what: str, ttl: float = LEASE_TTL_S) -> Lease:
        """Take the lease, or LeaseHeld naming who holds it. Chroma has no compare-and-set, so
        the lease is written, then read back after a pause: of two writers racing, the one whose
        write landed last keeps it and the other is refused."""
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        held = self.lease()
        alive = held and float(held.get("expires", 0)) > time.time() and not _dead_here(held)
        if alive and held.get("owner") != owner:
            raise LeaseHeld(_held_message(held, self.server))
        lease = Lease(self, owner, what, ttl)
        lease.write()
        time.sleep(0.3)
        now = self.lease()
        if not now or now.get("owner") != owner:
            raise LeaseHeld(_held_message(now or {}, self.server))
        lease.start()
        return lease


def _dead_here(held: dict[str, Any]) -> bool:
    """A lease taken on this machine by a process that is gone (killed) is free at once."""
    if held.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(held.get("pid", 0)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _held_message(held: dict[str, Any], server: str) -> str:
    left = max(0.0, float(held.get("expires", 0)) - time.time())
    return (
        f"another ingest is writing to the Chroma server at {server} (owner {held.get('owner', '?')}, "
        f"{held.get('what', '')}; its lease runs {left:.0f} s more unless renewed); "
        "wait for it to finish and run again"
    )


class Lease:
    """A held lease, renewed every ttl/4 on a thread until released."""

    def __init__(self, meta: MetaStore, owner: str, what: str, ttl: float) -> None:
        self.meta = meta
        self.owner = owner
        self.what = what
        self.ttl = ttl
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self) -> None:
        self.meta._put(
            [LEASE],
            [""],
            [
                {
                    "kind": "lease",
                    "owner": self.owner,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "what": self.what[:200],
                    "expires": time.time() + self.ttl,
                }
            ],
        )

    def start(self) -> None:
        def renew() -> None:
            while not self._stop.wait(self.ttl / 4):
                with contextlib.suppress(Exception):  # a lost server: the run fails on its own
                    self.write()

        self._thread = threading.Thread(target=renew, name="ingest-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            held = self.meta.lease()
            if held and held.get("owner") == self.owner:
                self.meta.delete([LEASE])


__all__ = ["LeaseHeld", "MetaStore", "meta_name", "unavailable"]
