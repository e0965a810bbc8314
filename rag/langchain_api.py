"""LangChain adapters over PolicyQA: a retriever, a runnable and the embedding model.

Developers who build with LangChain should be able to drop our retrieval, our answers or our
embedding model into a chain without writing glue. Each adapter here is a thin shell over the
PolicyQA method that does the work (``search``, ``ask_stream``, ``Embedder``), so LangChain
callers get exactly what the Python API, the web page and the HTTP API return, never a second
implementation that could drift from it.

``PolicyQA.as_retriever()``, ``PolicyQA.as_runnable()`` and ``PolicyQA.as_embeddings()`` build
these; this module is imported only when one of them is called, so ``import rag`` stays cheap.
Dependencies run one way: ``rag.api`` imports this module (lazily, when an adapter is asked for);
this module names PolicyQA only through the ``SpeechQA`` protocol, and ``ingest`` never imports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, NotRequired, Protocol, runtime_checkable

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads only this TypedDict before Python 3.12

from ingest.index.embedding import Embedder
from rag.config import Settings
from rag.conversation import History
from rag.types import Answer, Passage

__all__ = [
    "PolicyQAEmbeddings",
    "PolicyQARetriever",
    "PolicyQARunnable",
    "QuestionDict",
    "QuestionInput",
    "passage_document",
]


@runtime_checkable
class SpeechQA(Protocol):
    """The part of ``PolicyQA`` the adapters call. A Protocol rather than an import of
    ``rag.api``: PolicyQA builds these adapters (``as_retriever`` …), so importing it back would
    close a cycle."""

    settings: Settings

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[Passage]: ...

    async def asearch(
        self,
        query: str,
        k: int = 5,
        *,
        speech_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[Passage]: ...

    def ask(self, question: str, history: History | None = None) -> Answer: ...

    async def aask(self, question: str, history: History | None = None) -> Answer: ...

    def ask_stream(self, question: str, history: History | None = None) -> Iterator[str | Answer]: ...

    def aask_stream(self, question: str, history: History | None = None) -> AsyncIterator[str | Answer]: ...


# ------------------------------------------------------------------ retriever


def passage_document(passage: Passage) -> Document:
    """A retrieved passage as a LangChain Document.

    The text is the passage itself, so a prompt that stuffs ``page_content`` quotes the speech
    verbatim; the metadata keeps everything a caller needs to cite it (the speech, the file, the
    section path, the chunk id) and how it ranked. Values are plain JSON types (lists, not
    tuples) so the Documents survive serialisation by tracers and caches.
    """
    return Document(
        id=passage.chunk_id,
        page_content=passage.text,
        metadata={
            "chunk_id": passage.chunk_id,
            "speech_title": passage.speech_title,
            "speech_id": passage.speech_id,
            "source": passage.source,
            "sources": list(passage.sources) or [passage.source],
            "heading_path": passage.heading_path,
            "score": passage.score,
            "similarity": passage.similarity,
            "date": passage.date,
            "place": passage.place,
        },
    )


class PolicyQARetriever(BaseRetriever):
    """The hybrid search of ``PolicyQA.search`` (dense + keyword, fused) as a LangChain retriever.

    It calls ``qa.search`` and nothing else, so a chain sees the same passages, in the same
    order, as every other way into the project. ``ainvoke`` runs the search in PolicyQA's
    bounded thread pool (``qa.asearch``) rather than LangChain's default executor, so a busy
    asyncio service cannot start an unbounded number of model calls.
    """

    qa: SpeechQA
    k: int = Field(default=5, ge=1, description="Passages per query.")
    speech_ids: tuple[str, ...] | None = Field(default=None, description="Only these speeches.")
    sources: tuple[str, ...] | None = Field(default=None, description="Only these source files.")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.qa.search(query, self.k, speech_ids=self.speech_ids, sources=self.sources)
        return [passage_document(p) for p in passages]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = await self.qa.asearch(query, self.k, speech_ids=self.speech_ids, sources=self.sources)
        return [passage_document(p) for p in passages]


# ------------------------------------------------------------------ runnable


class QuestionDict(TypedDict):
    """A question with the conversation so far, the dict form PolicyQARunnable accepts.

    ``history`` is a list of (question, answer) pairs, oldest first, or LangChain messages
    (human, AI, human, AI, …) as chat-history stores hand them over.
    """

    question: str
    history: NotRequired[Sequence[tuple[str, str]] | Sequence[BaseMessage]]


QuestionInput = str | QuestionDict
"""What PolicyQARunnable takes: a bare question, or a question with its history."""


class PolicyQARunnable(Runnable[QuestionInput, Answer]):
    """``PolicyQA.ask`` as a LangChain Runnable: a question in, the ``Answer`` out.

    ``invoke`` returns the Answer (text, refused, citations …); ``stream`` yields exactly the
    pieces ``ask_stream`` yields (text pieces, then the final Answer), so a streaming UI built
    on LangChain shows what the web page shows. When a later step of a chain does not stream,
    LangChain hands it the last piece it cannot add to the text before it — the Answer — so
    ``qa.as_runnable() | RunnableLambda(lambda a: a.citations)`` works with ``invoke`` and
    ``stream`` alike. Async calls run in PolicyQA's bounded thread pool.
    """

    def __init__(self, qa: SpeechQA) -> None:
        self.qa = qa

    def __repr__(self) -> str:
        return f"PolicyQARunnable(store_dir={str(self.qa.settings.store_dir)!r})"

    # -- one call ------------------------------------------------------------
    def invoke(self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        """The Answer to one question (with callbacks, tags and run names from ``config``)."""
        _no_options(kwargs)
        return self._call_with_config(self._answer, input, config, run_type="chain")

    async def ainvoke(
        self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        """``invoke`` for asyncio callers, in PolicyQA's thread pool."""
        _no_options(kwargs)
        return await self._acall_with_config(self._aanswer, input, config, run_type="chain")

    def _answer(self, input: QuestionInput) -> Answer:
        question, history = _question_and_history(input)
        return self.qa.ask(question, history)

    async def _aanswer(self, input: QuestionInput) -> Answer:
        question, history = _question_and_history(input)
        return await self.qa.aask(question, history)

    # -- streaming -----------------------------------------------------------
    # The pieces are ``str | Answer`` while the Runnable's output type is the Answer that invoke
    # returns; LangChain's generics cannot say "stream chunks differ from the output", hence the
    # type: ignore on these overrides.
    def stream(  # type: ignore[override]
        self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str | Answer]:
        """Text pieces as they are ready, then the final Answer — the pieces of ``ask_stream``."""
        return self.transform(iter([input]), config, **kwargs)

    def transform(  # type: ignore[override]
        self, input: Iterator[QuestionInput], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str | Answer]:
        """Stream the answer to a question that itself arrives in pieces (e.g. from a model)."""
        _no_options(kwargs)
        return self._transform_stream_with_config(  # type: ignore[return-value]
            input,
            self._pieces,  # type: ignore[arg-type]
            config,
            run_type="chain",
            defers_inputs=True,
        )

    def astream(  # type: ignore[override]
        self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[str | Answer]:
        """``stream`` for asyncio callers; each piece is produced in PolicyQA's thread pool."""

        async def one() -> AsyncIterator[QuestionInput]:
            yield input

        return self.atransform(one(), config, **kwargs)

    def atransform(  # type: ignore[override]
        self, input: AsyncIterator[QuestionInput], config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[str | Answer]:
        """``transform`` for asyncio callers."""
        _no_options(kwargs)
        return self._atransform_stream_with_config(  # type: ignore[return-value]
            input,
            self._apieces,  # type: ignore[arg-type]
            config,
            run_type="chain",
            defers_inputs=True,
        )

    def _pieces(self, inputs: Iterator[QuestionInput]) -> Iterator[str | Answer]:
        question, history = _question_and_history(_merged(inputs))
        yield from self.qa.ask_stream(question, history)

    async def _apieces(self, inputs: AsyncIterator[QuestionInput]) -> AsyncIterator[str | Answer]:
        question, history = _question_and_history(_merged([chunk async for chunk in inputs]))
        async for piece in self.qa.aask_stream(question, history):
            yield piece


def _no_options(kwargs: Mapping[str, Any]) -> None:
    """Options belong in the PolicyQA settings; one passed here (e.g. through ``.bind``) would
    otherwise be dropped without a word."""
    if kwargs:
        raise TypeError(f"PolicyQARunnable takes no call options; got {sorted(kwargs)}")


def _merged(chunks: Iterator[QuestionInput] | list[QuestionInput]) -> QuestionInput:
    """One input from a streamed one, as LangChain's own transform does it: pieces that add up
    (a question a model writes token by token) are joined; otherwise the last one counts."""
    merged: Any = None
    for chunk in chunks:
        if merged is None:
            merged = chunk
            continue
        try:
            merged = merged + chunk
        except TypeError:
            merged = chunk
    if merged is None:
        raise ValueError("no question was given")
    return merged


def _question_and_history(input: object) -> tuple[str, History]:
    """(question, history) from a bare question or a QuestionDict; a clear error otherwise.

    The question itself is checked by PolicyQA (``QuestionError``), as for every other caller.
    """
    if isinstance(input, str):
        return input, []
    if isinstance(input, Mapping):
        if "question" not in input:
            raise TypeError(f"a dict input needs a 'question' key; got keys {sorted(input)}")
        return input["question"], _history(input.get("history") or [])
    raise TypeError(
        f"expected a question string or {{'question', 'history'}} dict, got {type(input).__name__}"
    )


def _history(turns: Sequence[Any]) -> History:
    """(question, answer) pairs from pairs (tuples or JSON lists) or from chat messages."""
    if all(isinstance(turn, BaseMessage) for turn in turns):
        pairs: list[tuple[str, str]] = []
        asked: str | None = None
        for message in turns:
            if message.type == "human":
                asked = str(message.text)
            elif message.type == "ai" and asked is not None:
                pairs.append((asked, str(message.text)))
                asked = None
        return pairs
    pairs = []
    for turn in turns:
        if isinstance(turn, str) or len(turn) != 2:
            raise TypeError(f"each history turn must be a (question, answer) pair; got {turn!r}")
        pairs.append((str(turn[0]), str(turn[1])))
    return pairs


# ------------------------------------------------------------------ embeddings


class PolicyQAEmbeddings(Embeddings):
    """The project's embedding model (by default multilingual-e5-small, built offline) as a
    LangChain ``Embeddings``.

    It wraps ``ingest.index.embedding.Embedder``, so the query and passage prefixes the model was trained
    with (``"query: "`` / ``"passage: "`` for e5) are applied the same way as in our own index,
    vectors are L2-normalised, and nothing is downloaded: a LangChain vector store built with it
    matches ours vector for vector.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> PolicyQAEmbeddings:
        """The model the settings name (environment, then keywords such as ``model_cache=...``);
        it loads on the first embedding."""
        base = settings or Settings()
        return cls(Embedder.from_settings(base.with_overrides(**overrides)))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passage vectors, with the model's passage prefix, in input order."""
        return self.embedder.embed_passages(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """A query vector, with the model's query prefix."""
        return self.embedder.embed_query(text).tolist()
