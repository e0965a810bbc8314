"""PolicyQA: the Python API other tools import. Opening is cheap; models load on first use.

The blocking methods (ask, ask_stream, search, ingest) are the implementation; the async ones
run them in a small thread pool for asyncio callers, and the LangChain adapters
(as_retriever, as_runnable, as_embeddings, in rag.langchain_api) wrap them, so every way in
returns the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ingest.index.keywords import KeywordIndex
from ingest.index.store import ChunkStore, StoreError
from ingest.index.tokenize import names_a_thing
from ingest.index.view import IndexView
from rag.answer.extractive import AnswerComposer
from rag.config import Settings
from rag.conversation import History, focus_query, retrieval_query
from rag.limits import MAX_QUESTION_CHARS, check_request
from rag.retrieve import Filters, Reranker, Retriever
from rag.types import Answer, Passage

if TYPE_CHECKING:
    from ingest.index.embedding import Embedder
    from ingest.pipeline import IngestReport
    from rag.generate.generative import GenerativeAnswerer
    from rag.langchain_api import PolicyQAEmbeddings, PolicyQARetriever, PolicyQARunnable

_P = ParamSpec("_P")
_T = TypeVar("_T")
_DONE = object()  # what next() returns when a stream has no more pieces


class QuestionError(ValueError):
    """A question we cannot work with (empty, only punctuation, far too long)."""


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

    One instance is safe to share between threads (the web app answers from several) and between
    the tasks of one event loop (the ``a*`` methods). See docs/api.md.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        # The store and keyword index, reopened when another process or replica ingests.
        self._index = IndexView(settings)
        self._reranker: Reranker | None = None
        self._writer: GenerativeAnswerer | None = None
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def open(cls, settings: Settings | None = None, **overrides: Any) -> PolicyQA:
        """Settings from the environment, overridden by keywords (``store_dir=...``)."""
        settings = (settings or Settings()).with_overrides(**overrides)
        return cls(settings)

    # ------------------------------------------------------------ parts, loaded lazily

    @property
    def embedder(self) -> Embedder:
        """The embedding model (settings.embedding_model), built on first use and then shared."""
        with self._lock:
            if self._embedder is None:
                from ingest.index.embedding import Embedder

                self._embedder = Embedder.from_settings(self.settings)
            return self._embedder

    @property
    def store(self) -> ChunkStore:
        """The Chroma collection of passages; StoreError when there is no index yet. Reopened
        (checked at most every 2 s) when any process or replica has ingested since."""
        return self._index.store()

    @property
    def keywords(self) -> KeywordIndex:
        """The SQLite FTS5 keyword index that lives beside the store (on a Chroma server: a
        local cache rebuilt from the server's documents when it is behind)."""
        return self._index.keywords()

    def keyword_status(self) -> str:
        """ "ok", or "rebuilding" while this replica's keyword cache is behind the Chroma
        server's generation (for /api/health: {"keywords": qa.keyword_status()})."""
        return self._index.keyword_status()

    def refresh(self) -> bool:
        """Check now whether another process ingested, and reopen the index if so."""
        return self._index.refresh(force=True)

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
                from rag.generate.generative import GenerativeAnswerer
                from rag.llm import chat_model, model_label

                model = chat_model(self.settings)
                assert model is not None
                self._writer = GenerativeAnswerer(model, self.settings, model_label(self.settings))
            return self._writer

    @property
    def retriever(self) -> Retriever:
        """The hybrid retriever (dense + keyword, fused, optionally reranked) over this index."""
        return Retriever(
            self.store,
            self.keywords,
            self.embedder,
            candidates=self.settings.candidates,
            reranker=self.reranker,
        )

    def has_index(self) -> bool:
        """Whether the store holds any passage (False, not an error, when there is no store yet)."""
        try:
            return self.store.count() > 0
        except StoreError:
            return False

    def warm_up(self) -> None:
        """Load the model, open the indexes and read jieba's part-of-speech table (~0.3 s) now rather
        than on the first question."""
        self.search("安全生产", k=1)
        names_a_thing("安全生产")

    # ------------------------------------------------------------ asking

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[Passage]:
        """The ``k`` passages that best match ``query``, best first, optionally only from the
        given speeches (``speech_id``) or source files. Raises QuestionError for a bad query."""
        check_request(query, None, speech_ids, sources, k, error=QuestionError)  # rag.limits
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
        """The answer to ``question``: quoted (or, with POLICYQA_LLM, written) from the speeches
        with citations, or a refusal when they do not answer it. ``history`` holds the earlier
        (question, answer) pairs, oldest first, so follow-ups such as "那第二点呢?" work."""
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
        check_request(question, history, speech_ids, sources, error=QuestionError)  # rag.limits
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
        """Add or update the speeches in these files and folders (unchanged files cost nothing);
        ``prune`` also removes speeches whose files are gone. Raises IngestLocked while another
        ingest writes to the same store."""
        from ingest.pipeline import ingest_paths

        report = ingest_paths(list(paths), self.settings, prune=prune, embedder=self.embedder, progress=False)
        self._index.invalidate()  # reopen: the collection may have been created just now
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

    # ------------------------------------------------------------ asyncio callers
    # The work is CPU-bound (the embedding model, llama.cpp) and blocking (SQLite, Chroma), so
    # the async methods run the blocking ones in this instance's own pool of at most
    # settings.async_workers threads: the event loop stays free, and a burst of requests queues
    # instead of starting as many model calls at once (asyncio's default pool would allow
    # min(32, cores + 4)).

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.settings.async_workers, thread_name_prefix="policyqa-async"
                )
            return self._executor

    async def _in_pool(self, func: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """func(*args, **kwargs) in the pool, with the caller's context variables (as
        asyncio.to_thread keeps them), so tracing and request-scoped state carry over."""
        call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), call)

    async def asearch(
        self,
        query: str,
        k: int = 5,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[Passage]:
        """``search`` for asyncio callers, run in the thread pool."""
        return await self._in_pool(self.search, query, k, speech_ids=speech_ids, sources=sources)

    async def aask(
        self,
        question: str,
        history: History | None = None,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> Answer:
        """``ask`` for asyncio callers, run in the thread pool."""
        return await self._in_pool(self.ask, question, history, speech_ids=speech_ids, sources=sources)

    async def aask_stream(
        self,
        question: str,
        history: History | None = None,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> AsyncIterator[str | Answer]:
        """``ask_stream`` for asyncio callers: each piece is produced in the thread pool, so a
        pool thread is held only while a piece is being made, not while the caller sends it on."""
        pieces = self.ask_stream(question, history, speech_ids=speech_ids, sources=sources)
        try:
            while (piece := await self._in_pool(next, pieces, _DONE)) is not _DONE:
                yield piece  # type: ignore[misc]
        finally:
            # A caller that stops early (or is cancelled while a piece is still being made in the
            # pool) leaves the generator to be collected instead: closing a running one raises.
            with contextlib.suppress(ValueError):
                pieces.close()

    async def aingest(self, paths: Iterable[str | Path], *, prune: bool = False) -> IngestReport:
        """``ingest`` for asyncio callers, run in the thread pool (it may take minutes)."""
        return await self._in_pool(self.ingest, list(paths), prune=prune)

    def close(self) -> None:
        """Let the async pool's threads finish and go; a later async call starts a new pool."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    # ------------------------------------------------------------ LangChain

    def as_retriever(
        self,
        k: int = 5,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> PolicyQARetriever:
        """This index as a LangChain retriever: ``search`` returning ``Document``s (the passage
        text, with speech title, source file, section path, chunk id and score as metadata)."""
        from rag.langchain_api import PolicyQARetriever

        return PolicyQARetriever(qa=self, k=k, speech_ids=_tuple(speech_ids), sources=_tuple(sources))

    def as_runnable(self) -> PolicyQARunnable:
        """``ask`` as a LangChain Runnable: a question or ``{"question", "history"}`` in, the
        Answer out; ``stream`` yields the pieces of ``ask_stream``."""
        from rag.langchain_api import PolicyQARunnable

        return PolicyQARunnable(self)

    def as_embeddings(self) -> PolicyQAEmbeddings:
        """The embedding model this index was built with, as LangChain ``Embeddings`` (sharing
        this instance's loaded model)."""
        from rag.langchain_api import PolicyQAEmbeddings

        return PolicyQAEmbeddings(self.embedder)


def _tuple(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
