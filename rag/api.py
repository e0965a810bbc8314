"""PolicyQA: the Python API other tools import. Opening is cheap; models load on first use."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer import AnswerComposer
from rag.config import Settings
from rag.conversation import History, focus_query, retrieval_query
from rag.keyword_index import KeywordIndex
from rag.retrieve import Filters, Reranker, Retriever
from rag.store import ChunkStore, StoreError
from rag.types import Answer, Passage

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from rag.embedding import Embedder
    from rag.generate import GenerativeAnswerer


class QuestionError(ValueError):
    """A question we cannot work with (empty, only punctuation, far too long)."""


MAX_QUESTION_CHARS = 2000


def check_question(question: object) -> str:
    """The question, tidied, or a QuestionError that says what is wrong with it."""
    if not isinstance(question, str):
        raise QuestionError("问题必须是文字 (the question must be a string)")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QuestionError("问题是空的,请输入一个问题 (the question is empty)")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"问题太长了({len(cleaned)} 字),请精简到 {MAX_QUESTION_CHARS} 字以内 "
            f"(the question is {len(cleaned)} characters; keep it under {MAX_QUESTION_CHARS})"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise QuestionError("问题里只有标点符号,请输入文字 (the question holds only punctuation)")
    return cleaned


class PolicyQA:
    """Ask questions of the speech index; add speeches to it.

    >>> qa = PolicyQA.open()
    >>> qa.ask("“三个必须”指什么?").text
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._store: ChunkStore | None = None
        self._keywords: KeywordIndex | None = None
        self._reranker: Reranker | None = None
        self._writer: GenerativeAnswerer | None = None

    @classmethod
    def open(cls, settings: Settings | None = None, **overrides: Any) -> PolicyQA:
        """Settings from the environment, overridden by keywords (``store_dir=...``)."""
        settings = (settings or Settings()).with_overrides(**overrides)
        return cls(settings)

    # ------------------------------------------------------------ parts, loaded lazily

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from rag.embedding import Embedder

                self._embedder = Embedder(
                    self.settings.embedding_model,
                    self.settings.model_cache,
                    batch_size=self.settings.embed_batch_size,
                    threads=self.settings.torch_threads,
                    bf16=self.settings.embed_bf16,
                )
            return self._embedder

    @property
    def store(self) -> ChunkStore:
        with self._lock:
            if self._store is None:
                self._store = ChunkStore.open(self.settings, self.settings.embedding_model, create=False)
            return self._store

    @property
    def keywords(self) -> KeywordIndex:
        with self._lock:
            if self._keywords is None:
                self._keywords = KeywordIndex.beside(self.settings.store_dir)
            return self._keywords

    @property
    def reranker(self) -> Reranker | None:
        """The configured cross-encoder, loaded on first use (None when not configured)."""
        if self.settings.reranker is None:
            return None
        with self._lock:
            if self._reranker is None:
                from sentence_transformers import CrossEncoder

                self._reranker = CrossEncoder(
                    self.settings.reranker, device="cpu", cache_folder=str(self.settings.model_cache)
                )
            return self._reranker

    @property
    def writer(self) -> GenerativeAnswerer | None:
        """The chat model that writes answers (POLICYQA_LLM), or None for extractive answers."""
        if self.settings.llm == "none":
            return None
        with self._lock:
            if self._writer is None:
                from rag.generate import GenerativeAnswerer
                from rag.llm import chat_model, model_label

                model = chat_model(self.settings)
                assert model is not None
                self._writer = GenerativeAnswerer(model, self.settings, model_label(self.settings))
            return self._writer

    @property
    def retriever(self) -> Retriever:
        return Retriever(
            self.store,
            self.keywords,
            self.embedder,
            candidates=self.settings.candidates,
            reranker=self.reranker,
        )

    def has_index(self) -> bool:
        try:
            return self.store.count() > 0
        except StoreError:
            return False

    def warm_up(self) -> None:
        """Load the model and open the indexes now rather than on the first question."""
        self.search("安全生产", k=1)

    # ------------------------------------------------------------ asking

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[Passage]:
        query = check_question(query)
        filters = Filters(_tuple(speech_ids), _tuple(sources))
        return self.retriever.search(query, k, filters=filters)

    def ask(
        self,
        question: str,
        history: History | None = None,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> Answer:
        answer: Answer | None = None
        for piece in self.ask_stream(question, history, speech_ids=speech_ids, sources=sources):
            if isinstance(piece, Answer):
                answer = piece
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        history: History | None = None,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> Iterator[str | Answer]:
        """Text pieces as they are ready, then the final Answer."""
        question = check_question(question)
        history = history or []
        filters = Filters(_tuple(speech_ids), _tuple(sources))
        composer = AnswerComposer(self.embedder, self.settings, self.keywords, self.store)
        writer = self.writer
        if writer is None:
            passages = self.retriever.search(
                retrieval_query(question, history), self.settings.answer_passages, filters=filters
            )
            yield from composer.compose_stream(question, focus_query(question, history), passages)
            return
        standalone = writer.condense(question, history)
        passages = self.retriever.search(standalone, self.settings.answer_passages, filters=filters)
        gate = composer.compose(standalone, standalone, passages)
        if gate.refused:  # the speeches do not answer it: no model call, the refusal as is
            yield from composer.stream_lines(replace(gate, question=question))
            return
        yield from writer.stream(question, standalone, passages, composer, gate)

    # ------------------------------------------------------------ adding speeches

    def ingest(self, paths: Iterable[str | Path], *, prune: bool = False) -> IngestReport:
        from ingest.pipeline import ingest_paths

        report = ingest_paths(list(paths), self.settings, prune=prune, embedder=self.embedder, progress=False)
        with self._lock:
            self._store = None  # reopen: the collection may have been created just now
        return report

    def speeches(self) -> list[dict[str, Any]]:
        """One entry per speech in the index: id, title, sources, date, place, chunks.

        title is the one users see (speeches sharing a title are told apart in it);
        original_title is the speech's own."""
        found: dict[str, dict[str, Any]] = {}
        for meta in self.store.metadata_by_id().values():
            entry = found.setdefault(
                str(meta.get("speech_id")),
                {
                    "speech_id": meta.get("speech_id"),
                    "title": meta.get("speech_title"),
                    "original_title": meta.get("original_title") or meta.get("speech_title"),
                    "speaker": meta.get("speaker"),
                    "sources": list(meta.get("sources") or [meta.get("source")]),
                    "date": meta.get("date"),
                    "place": meta.get("place"),
                    "chunks": 0,
                },
            )
            entry["chunks"] += 1
        return sorted(found.values(), key=lambda e: (str(e["title"]), str(e["speech_id"])))


def _tuple(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
