"""Ingest: speech files in, a persistent Chroma index out — incrementally.

from ingest import ingest_paths
report = ingest_paths(["data/"], settings)
"""

from ingest.pipeline import FileError, IngestLocked, IngestReport, ingest_paths

__all__ = ["FileError", "IngestLocked", "IngestReport", "ingest_paths"]
