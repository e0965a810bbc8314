"""The local chat model: a GGUF file run in-process by llama-cpp-python, as a LangChain model.

langchain-community's ``ChatLlamaCpp`` would do the same, but that package is being sunset
and would pull SQLAlchemy and langchain-classic in with it. Before llama.cpp starts, the CPU
kernels for this machine are chosen (``rag.llm.cpu_backend``): the build carries one variant
per instruction-set level and only the one this CPU really runs may be loaded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from rag.llm.cpu_backend import load_cpu_backend
from rag.llm.errors import LLMUnavailable

ROLES = {"system": "system", "human": "user", "ai": "assistant"}
LOCAL_CONTEXT_TOKENS = 2048


def open_llama(model_path: str, n_ctx: int, threads: int | None, cpu_variant: str | None = None) -> Any:
    """A ``llama_cpp.Llama`` on this machine's best CPU kernels, using all cores by default.

    llama.cpp's own default is half the cores, which leaves a two-core machine at half speed.
    """
    try:
        from llama_cpp import Llama
    except ImportError as error:
        raise LLMUnavailable(
            "POLICYQA_LLM=local needs llama-cpp-python: pip install -r requirements-llm.txt"
        ) from error
    load_cpu_backend(cpu_variant)
    threads = threads or os.cpu_count() or 1
    return Llama(
        model_path=model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False
    )


class LlamaCppChat(BaseChatModel):
    """A GGUF model run in-process by llama-cpp-python, streaming tokens.

    One llama.cpp context is not safe to share between threads, so calls are
    serialised: concurrent users queue for the model rather than corrupt it.
    """

    model_path: str
    n_ctx: int = LOCAL_CONTEXT_TOKENS
    n_threads: int | None = None
    cpu_variant: str | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _client(self) -> Any:
        if self._llama is None:
            self._llama = open_llama(self.model_path, self.n_ctx, self.n_threads, self.cpu_variant)
        return self._llama

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
