"""The settings object, re-exported where API callers look for it (`from rag.config import Settings`).

It lives in `ingest.index.config` so that ingest, which writes the index, need not import rag.
"""

from ingest.index.config import DEFAULT_EMBEDDING_MODEL, PROJECT_ROOT, Settings

__all__ = ["DEFAULT_EMBEDDING_MODEL", "PROJECT_ROOT", "Settings"]
