"""Question answering over the speech index; the Python API other tools import.

    from rag import PolicyQA
    qa = PolicyQA.open()
    qa.ask("“三个必须”指什么?").text

Importing this package loads no model and opens no store.
"""

from rag.api import PolicyQA, QuestionError
from rag.config import Settings
from rag.types import Answer, Citation, Passage

__all__ = ["Answer", "Citation", "Passage", "PolicyQA", "QuestionError", "Settings"]
