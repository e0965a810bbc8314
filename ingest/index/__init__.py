"""The on-disk index both pipelines share: ingest writes it, rag reads it.

config (the one Settings object) · store (Chroma) · keywords (SQLite FTS5 over jieba tokens,
tokenize) · embedding (sentence-transformers, with the offline e5 build in e5_offline) ·
text (sentence ends and list markers, the patterns chunking and answering must agree on).
"""
