"""Errors of the chat-model layer, in their own module so every part of ``rag.llm`` can raise
them without importing the others (the bundled-model and backend modules sit below the chat
models, not beside them)."""

from __future__ import annotations


class LLMError(RuntimeError):
    """The configured chat model cannot be set up; the message says what to do."""


class LLMUnavailable(LLMError):
    """The configured chat model cannot be used (package missing, endpoint not configured)."""
