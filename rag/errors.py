"""One map from what can go wrong to what a user is told: (Chinese message, HTTP status, kind).

Every surface — the REST routes, the OpenAI route, the Gradio page and its API endpoints, the
CLI — asks ``user_error(error)`` instead of catching its own subset, so an error reads and maps
the same wherever it happens. Anything not listed is a bug: a generic message and 500 (the caller
logs the traceback; the user never sees it).
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.index.store import StoreError
from ingest.loaders.common import LoadError
from ingest.pipeline import IngestLocked
from rag.api import QuestionError
from rag.limits import LimitError
from rag.llm import LLMError


class AuthError(Exception):
    """A request without the secret it needs (401), with a wrong admin password (403), or from
    an address that has failed too often (429)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


@dataclass(frozen=True)
class UserError:
    message: str  # shown to the user as is
    status: int  # the HTTP status
    kind: str  # OpenAI's error type, for /v1
    expected: bool  # False: a bug, log the traceback


GENERIC = "出错了,请稍后再试。如果一直出错,请联系管理员。"
_KINDS = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error", 409: "conflict"}


def user_error(error: BaseException) -> UserError:
    """The one mapping. Order matters only where types nest (StoreError before RuntimeError)."""
    if isinstance(error, AuthError):
        return UserError(str(error), error.status, _KINDS.get(error.status, "invalid_request_error"), True)
    if isinstance(error, QuestionError | LimitError):
        return UserError(str(error), 422, "invalid_request_error", True)
    if isinstance(error, LoadError):
        return UserError(f"文件无法读取:{error}", 422, "invalid_request_error", True)
    if isinstance(error, IngestLocked):
        return UserError(f"正在导入其他文件,请稍后再试。({error})", 409, "conflict", True)
    if isinstance(error, StoreError):
        return UserError(str(error), 503, "server_error", True)
    if isinstance(error, LLMError):
        return UserError(f"回答模型暂时不可用:{error}", 503, "server_error", True)
    return UserError(GENERIC, 500, "server_error", False)
