"""Chat models by configuration: a local GGUF model (llama.cpp) or any OpenAI-compatible endpoint.

Both are LangChain chat models, so the answer step only sees ``BaseChatModel``.
The local one is a thin wrapper over ``llama_cpp.Llama.create_chat_completion``:
langchain-community's ``ChatLlamaCpp`` would do the same, but that package is being
sunset and would pull SQLAlchemy and langchain-classic in with it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from rag.config import Settings

ROLES = {"system": "system", "human": "user", "ai": "assistant"}
LOCAL_CONTEXT_TOKENS = 2048


class LLMError(RuntimeError):
    """The configured chat model cannot be set up; the message says what to do."""


class LLMUnavailable(LLMError):
    """The configured chat model cannot be used (package missing, endpoint not configured)."""


class LlamaCppChat(BaseChatModel):
    """A GGUF model run in-process by llama-cpp-python, streaming tokens.

    One llama.cpp context is not safe to share between threads, so calls are
    serialised: concurrent users queue for the model rather than corrupt it.
    """

    model_path: str
    n_ctx: int = LOCAL_CONTEXT_TOKENS
    n_threads: int | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _client(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as error:
                raise LLMUnavailable(
                    "POLICYQA_LLM=local needs llama-cpp-python: pip install -r requirements-llm.txt"
                ) from error
            threads = self.n_threads or os.cpu_count() or 1  # llama.cpp's default is half the cores
            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        return self._llama

    def count_tokens(self, text: str) -> int:
        """Tokens as this model counts them (for keeping prompts inside the budget)."""
        return len(self._client().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        payload = [{"role": ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        with self._lock:
            stream = self._client().create_chat_completion(
                messages=payload,
                stream=True,
                stop=stop,
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                temperature=kwargs.get("temperature", self.temperature),
            )
            for part in stream:
                delta = part["choices"][0]["delta"].get("content")
                if not delta:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model the settings ask for, or None for extractive answers."""
    if settings.llm == "none":
        return None
    if settings.llm == "local":
        from rag.local_model import gguf_path

        path = gguf_path(settings.llm_model, settings.model_cache)
        return LlamaCppChat(
            model_path=str(path),
            n_threads=settings.llm_threads,
            max_tokens=settings.llm_max_tokens,
        )
    if not settings.openai_base_url and not settings.openai_api_key:
        raise LLMUnavailable(
            "POLICYQA_LLM=openai needs POLICYQA_OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1) "
            "and, for hosted endpoints, POLICYQA_OPENAI_API_KEY"
        )
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as error:
        raise LLMUnavailable(
            "POLICYQA_LLM=openai needs langchain-openai: pip install -r requirements-llm.txt"
        ) from error
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return ChatOpenAI(
        model=settings.llm_model or "default",
        base_url=settings.openai_base_url,
        api_key=key,
        temperature=0,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=1,
    )


def model_label(settings: Settings) -> str:
    """A short name for reports: which provider and model wrote an answer."""
    if settings.llm == "local":
        from rag.local_model import DEFAULT_LOCAL_MODEL

        return f"local:{Path(settings.llm_model).name if settings.llm_model else DEFAULT_LOCAL_MODEL}"
    return f"{settings.llm}:{settings.llm_model or 'default'}"
