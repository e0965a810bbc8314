"""Keyword search: BM25 over jieba tokens, in an SQLite FTS5 table beside the vector store.

FTS5 keeps the index on disk and updates it row by row inside a transaction,
so ingest touches only changed chunks, a start-up loads nothing, and a crash
never leaves half an update behind.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.index.tokenize import SEGMENTER_VERSION, add_terms, find_slogans, tokenize

INDEX_NAME = "keywords.sqlite"


@dataclass(frozen=True)
class KeywordDoc:
    chunk_id: str
    text: str
    speech_id: str = ""
    source: str = ""


class KeywordIndex:
    """chunk id → BM25-searchable tokens, with the slogan dictionary they were cut with."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5("
                "tokens, chunk_id UNINDEXED, speech_id UNINDEXED, source UNINDEXED, "
                "tokenize = 'unicode61 remove_diacritics 0')"
            )
            db.execute("CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY)")
            db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(chunks, 'row')")
            db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT)")
        add_terms(self.terms())

    @classmethod
    def beside(cls, store_dir: Path) -> KeywordIndex:
        return cls(store_dir / INDEX_NAME)

    def _db(self) -> sqlite3.Connection:
        """One connection per thread (the web app answers from several threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30)
            self._local.db = db
        return db

    def terms(self) -> set[str]:
        return {row[0] for row in self._db().execute("SELECT term FROM terms")}

    def generation(self) -> int | None:
        """The index generation this keyword index was last brought to (None: never stamped)."""
        row = self._db().execute("SELECT value FROM state WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else None

    def set_generation(self, generation: int) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO state VALUES ('generation', ?)", (str(generation),))

    def cut_here(self) -> bool:
        """Were the stored tokens cut by this version of the segmenter? (An empty index is.)"""
        row = self._db().execute("SELECT value FROM state WHERE key = 'segmenter'").fetchone()
        return (row[0] if row else None) == SEGMENTER_VERSION or self.count() == 0

    def forget_chunks(self) -> None:
        """Drop every chunk's tokens (the terms stay): the next sync cuts them all again. The
        generation goes too, so a reader that rebuilds its cache from a server does so."""
        with self._db() as db:
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM state WHERE key = 'generation'")

    def learn_terms(self, terms: Iterable[str]) -> None:
        """Slogans known elsewhere (a Chroma server's dictionary): tokenise with them too."""
        new = set(terms) - self.terms()
        if new:
            add_terms(new)
            with self._db() as db:
                db.executemany("INSERT OR IGNORE INTO terms VALUES (?)", [(t,) for t in new])

    @classmethod
    def rebuild(
        cls, path: Path, docs: Sequence[KeywordDoc], terms: Iterable[str], generation: int
    ) -> KeywordIndex:
        """A fresh index of exactly these docs, cut with these slogans (plus any the docs
        teach), stamped with ``generation``; built aside and renamed over ``path``, so readers
        of the old file are never disturbed."""
        tmp = path.with_name(f".{path.name}.rebuild-{os.getpid()}-{threading.get_ident()}")
        tmp.unlink(missing_ok=True)
        fresh = cls(tmp)
        try:
            fresh.learn_terms(terms)
            fresh.sync(docs)
            fresh.set_generation(generation)
            fresh.close()
            os.replace(tmp, path)
        except BaseException:
            fresh.close()
            tmp.unlink(missing_ok=True)
            raise
        return cls(path)

    def ids(self) -> set[str]:
        return {row[0] for row in self._db().execute("SELECT chunk_id FROM chunks")}

    def count(self) -> int:
        # FTS5 keeps no row count, so count(*) on it walks every row (~22 ms at 42k chunks);
        # its docsize shadow table is an ordinary table with one row per chunk.
        return self._db().execute("SELECT count(*) FROM chunks_docsize").fetchone()[0]

    def _chunk_counts(self, tokens: list[str]) -> dict[str, int]:
        """How many chunks hold each token (absent: none)."""
        if not tokens:
            return {}
        rows = self._db().execute(
            f"SELECT term, doc FROM vocab WHERE term IN ({', '.join('?' * len(tokens))})", tokens
        )
        return dict(rows.fetchall())

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """BM25's inverse document frequency; a term no chunk contains gets the highest."""
        tokens = list(dict.fromkeys(tokens))
        total, frequency = self.count(), self._chunk_counts(tokens)
        return {
            t: math.log(1 + (total - frequency.get(t, 0) + 0.5) / (frequency.get(t, 0) + 0.5)) for t in tokens
        }

    def chunk_share(self, tokens: Iterable[str]) -> dict[str, float]:
        """The share of all chunks that hold each token."""
        tokens = list(dict.fromkeys(tokens))
        total, frequency = max(1, self.count()), self._chunk_counts(tokens)
        return {t: frequency.get(t, 0) / total for t in tokens}

    def sync(self, docs: Sequence[KeywordDoc]) -> tuple[int, int]:
        """Make the index hold exactly these docs; returns (added, removed).

        New slogans are learnt first, and chunks that mention a newly learnt
        slogan are cut again, so every chunk is tokenised with the same dictionary.
        """
        known_terms = self.terms()
        new_terms = set().union(*(find_slogans(d.text) for d in docs)) - known_terms if docs else set()
        add_terms(new_terms)
        wanted = {d.chunk_id: d for d in docs}
        present = self.ids()
        stale = {
            d.chunk_id
            for d in docs
            if d.chunk_id in present and new_terms and any(t in d.text for t in new_terms)
        }
        remove = (present - set(wanted)) | stale
        add = [d for d in docs if d.chunk_id not in present or d.chunk_id in stale]
        with self._db() as db:  # one transaction
            db.executemany("DELETE FROM chunks WHERE chunk_id = ?", [(i,) for i in remove])
            db.executemany(
                "INSERT INTO chunks (tokens, chunk_id, speech_id, source) VALUES (?, ?, ?, ?)",
                [(" ".join(tokenize(d.text)), d.chunk_id, d.speech_id, d.source) for d in add],
            )
            db.executemany("INSERT OR IGNORE INTO terms VALUES (?)", [(t,) for t in new_terms])
            db.execute("INSERT OR REPLACE INTO state VALUES ('segmenter', ?)", (SEGMENTER_VERSION,))
        return len(add) - len(stale), len(remove) - len(stale)

    def search(
        self,
        query: str,
        k: int,
        *,
        speech_ids: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; higher is better."""
        return self.search_tokens(
            list(dict.fromkeys(tokenize(query))), k, speech_ids=speech_ids, sources=sources
        )

    def search_tokens(
        self,
        tokens: Sequence[str],
        k: int,
        *,
        speech_ids: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
    ) -> list[tuple[str, float]]:
        if not tokens:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)
        sql = "SELECT chunk_id, -bm25(chunks) AS score FROM chunks WHERE chunks MATCH ?"
        params: list[object] = [f"tokens : ({match})"]
        for column, values in (("speech_id", speech_ids), ("source", sources)):
            if values is not None:
                values = list(values)
                sql += f" AND {column} IN ({', '.join('?' * len(values))})"
                params.extend(values)
        sql += " ORDER BY bm25(chunks) LIMIT ?"
        params.append(k)
        return [(row[0], float(row[1])) for row in self._db().execute(sql, params)]

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
