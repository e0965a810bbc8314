"""Chat models by configuration: a local GGUF model (llama.cpp) or any OpenAI-compatible endpoint.

Both are LangChain chat models, so the answer step only sees ``BaseChatModel``. The modules
below run one way: ``errors`` ← ``cpu_backend`` (which llama.cpp kernels this CPU gets) ←
``local`` (the in-process model) and ``bundled`` (the offline GGUF files) ← ``speed`` and this
module's ``chat_model``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.llm.errors import LLMError, LLMUnavailable

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from rag.llm.cpu_backend import CpuBackend

__all__ = ["LLMError", "LLMUnavailable", "chat_model", "describe", "model_label"]


def chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model the settings ask for, or None for extractive answers."""
    if settings.llm == "none":
        return None
    if settings.llm == "local":
        from rag.llm.bundled import gguf_path
        from rag.llm.local import LlamaCppChat

        path = gguf_path(settings.llm_model, settings.model_cache)
        return LlamaCppChat(
            model_path=str(path),
            n_threads=settings.llm_threads,
            cpu_variant=settings.llm_cpu_variant,
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
        from rag.llm.bundled import DEFAULT_LOCAL_MODEL

        return f"local:{Path(settings.llm_model).name if settings.llm_model else DEFAULT_LOCAL_MODEL}"
    return f"{settings.llm}:{settings.llm_model or 'default'}"


def describe(settings: Settings) -> dict[str, object]:
    """What writes the answers, for /api/health and the page: the provider and model and, for the
    local model once it has loaded, its CPU kernels and the speed last measured here. Loads and
    measures nothing, so it is cheap enough for every health check."""
    info: dict[str, object] = {"provider": settings.llm}
    if settings.llm == "none":
        return info
    info["model"] = model_label(settings)
    if settings.llm == "local":
        from rag.llm.cpu_backend import current_backend

        backend = current_backend()
        info["cpu_variant"] = backend.variant if backend else None
        if backend is not None:
            info["speed"] = _cached_speed(settings, backend)
    return info


def _cached_speed(settings: Settings, backend: CpuBackend) -> dict[str, object] | None:
    from rag.llm.bundled import BUNDLED, DEFAULT_LOCAL_MODEL
    from rag.llm.speed import cached_speed

    name = settings.llm_model or DEFAULT_LOCAL_MODEL
    path = settings.model_cache / BUNDLED[name].filename if name in BUNDLED else Path(name).expanduser()
    if not path.is_file():
        return None
    threads = settings.llm_threads or os.cpu_count() or 1
    found = cached_speed(settings.model_cache, path, backend, threads)
    return found.to_dict() if found else None
