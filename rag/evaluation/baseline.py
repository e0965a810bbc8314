"""A plain LangChain RAG retriever to measure ours against: fixed-size splits, dense top-k only.

RecursiveCharacterTextSplitter(500, 50) over the raw files, Chroma similarity
search, the same embedding model as ours: the usual tutorial setup.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_text
from rag.langchain_api import PolicyQAEmbeddings


class LangChainBaseline:
    def __init__(self, vectorstore: Chroma, folder: Path) -> None:
        self.vectorstore = vectorstore
        self.folder = folder

    @classmethod
    def build(cls, data_dir: Path, embedder: Any) -> LangChainBaseline:
        texts = []
        for path in sorted(Path(data_dir).rglob("*")):
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                try:
                    texts.append(load_text(path))
                except LoadError:
                    continue
        splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
        chunks = splitter.create_documents(texts)
        folder = Path(tempfile.mkdtemp(prefix="policyqa-baseline-"))
        client = chromadb.PersistentClient(
            path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
        )
        vectorstore = Chroma(
            client=client,
            collection_name="baseline",
            embedding_function=PolicyQAEmbeddings(embedder),
            collection_metadata={"hnsw:space": "cosine"},
        )
        vectorstore.add_documents(chunks)
        return cls(vectorstore, folder)

    def search(self, query: str, k: int) -> Sequence[str]:
        return [d.page_content for d in self.vectorstore.similarity_search(query, k=k)]

    def __enter__(self) -> LangChainBaseline:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
