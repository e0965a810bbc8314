"""Question answering over the speech index; the Python API other tools import.

    from rag import PolicyQA
    qa = PolicyQA.open()
    qa.ask("“三个必须”指什么?").text

Importing this package loads no model and opens no store, and its names are imported on first
use, so a submodule such as ``rag.llm.cpu_backend`` can be used without the retrieval stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.api import PolicyQA, QuestionError
    from rag.config import Settings
    from rag.types import Answer, Citation, Passage

_HOMES = {
    "PolicyQA": "rag.api",
    "QuestionError": "rag.api",
    "Settings": "rag.config",
    "Answer": "rag.types",
    "Citation": "rag.types",
    "Passage": "rag.types",
}
__all__ = ["Answer", "Citation", "Passage", "PolicyQA", "QuestionError", "Settings"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
