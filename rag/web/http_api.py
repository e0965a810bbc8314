"""The HTTP API: JSON routes under /api and an OpenAI-compatible chat endpoint under /v1.

Routes (app.py mounts the Gradio UI on the same app at "/", so nothing here claims "/"):

- ``GET  /api/health``            status, speech and chunk counts, whether an index exists, the model.
- ``POST /api/ask``               {"question", "history"?, "speech_ids"?, "sources"?} → Answer.to_dict().
- ``GET  /api/search?q=&k=5``     {"passages": [...]}; repeat ``speech_id=`` / ``source=`` to filter.
- ``GET  /api/speeches``          one entry per indexed speech.
- ``POST /api/ingest``            admin upload (multipart field ``files``, header ``X-Admin-Password``).
- ``GET  /v1/models``             the single model, ``policyqa``.
- ``POST /v1/chat/completions``   OpenAI chat completions, with and without ``"stream": true``.

Decisions a client should know about:

- Who may call what is decided for every route by one middleware (rag.web.security; README,
  "Who may call what"): with ``POLICYQA_API_KEY`` or ``POLICYQA_CHAT_USERS`` set, every route but
  /api/health needs ``Authorization: Bearer <key>`` or a logged-in page session (401 otherwise;
  /v1 answers in OpenAI's error shape so OpenAI clients show a sensible message). Bodies over
  rag.limits' bounds are 413 before they are read; repeated wrong secrets from one address 429.
- Errors come from one map (rag.errors.user_error). /api errors are ``{"error": message}``: a bad
  question, or a request over a bound in rag.limits (history, ids, k, invalid Unicode) is 422,
  a missing or unusable index 503,
  and so is a Chroma server that cannot be reached ("向量库暂时不可用 … (the Chroma server at
  host:port is unreachable: …)"), answered within CHROMA_HTTP_TIMEOUT; the same app answers
  again once the server is back.
- /v1/chat/completions answers a bad question (empty, only punctuation, too long) with a normal
  assistant message that explains the problem and ``"refused": true`` — chat front ends display
  that, while many of them hide an HTTP error. A request with no user message at all is malformed
  and gets 400 with ``{"error": {"message", "type": "invalid_request_error"}}``.
- The chat completion carries two extra top-level fields: ``citations`` (Citation.to_dict() for
  each [n] in the answer) and ``refused`` (true when the speeches do not answer the question).
  When streaming they ride on the final chunk, the one with ``finish_reason: "stop"``.
  OpenAI's Python client exposes them via ``response.model_extra`` / ``response.to_dict()``.
- The ``model`` a client asks for is echoed back, not checked: there is one answerer.
- Uploads are stored as ``<sha256[:16]>_<sanitised basename>`` under settings.uploads; the name
  the client sends is never used as a path.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import UploadFile

from ingest.index.store import StoreError, StoreUnavailable
from ingest.loaders.common import LoadError
from ingest.pipeline import IngestLocked
from rag.api import PolicyQA, QuestionError, check_question
from rag.config import Settings
from rag.errors import AuthError, user_error
from rag.limits import (
    MAX_K,
    MAX_UPLOAD_FILES,
    MIN_K,
    LimitError,
    check_history,
    check_request,
    check_text,
    recent_history,
)
from rag.llm import LLMError, describe
from rag.types import Answer
from rag.web.security import Guard, SecurityMiddleware, client_of
from rag.web.uploads import check_upload, ingest_uploads, store_uploads

log = logging.getLogger("policyqa.http")
MODEL_ID = "policyqa"
DOMAIN_ERRORS = (AuthError, QuestionError, LimitError, LoadError, IngestLocked, StoreError, LLMError)


class ApiError(Exception):
    """An error answered as JSON: {"error": message} on /api, OpenAI's shape on /v1."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


# ---------------------------------------------------------------- request bodies


class AskRequest(BaseModel):
    question: str
    history: list[tuple[str, str]] | None = None
    speech_ids: list[str] | None = None
    sources: list[str] | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls … are accepted and ignored

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens … do not apply to us

    model: str = MODEL_ID
    messages: list[ChatMessage]
    stream: bool = False


# ---------------------------------------------------------------- helpers, one per concern


def _error_body(request: Request, status: int, message: str, kind: str) -> JSONResponse:
    if request.url.path.startswith("/v1"):
        body: dict[str, Any] = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    else:
        body = {"error": message}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _read_uploads(request: Request, settings: Settings) -> list[tuple[str, bytes]]:
    limit_mb = settings.max_upload_mb
    """(original name, content) of each uploaded file, refusing wrong types and big files
    (rag.web.uploads.check_upload, the same rule as the page's)."""
    limit = limit_mb * 1024 * 1024
    files = []
    async with request.form(max_files=MAX_UPLOAD_FILES) as form:
        uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
        if not uploads:
            raise ApiError(400, "no files: send them as multipart form field 'files'")
        for upload in uploads:
            name = upload.filename or ""
            content = await upload.read(limit + 1)
            reason = check_upload(name, len(content), settings)
            if reason is not None:
                raise ApiError(413 if len(content) > limit else 400, f"{name!r}: {reason}")
            files.append((name, content))
    return files


def _text_of(message: ChatMessage) -> str:
    """A message's text, from a plain string or OpenAI's [{"type": "text", "text": ...}] parts."""
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message as the question; earlier user → assistant turns as history."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise ApiError(400, "no user message: 'messages' needs at least one with role 'user'")
    history: list[tuple[str, str]] = []
    pending: str | None = None
    for message in messages[:last]:
        if message.role == "user":
            pending = _text_of(message)
        elif message.role == "assistant" and pending is not None:
            history.append((pending, _text_of(message)))
            pending = None
    return _text_of(messages[last]), recent_history(history)


def _chat_pieces(qa: PolicyQA, question: str, history: list[tuple[str, str]]) -> Iterator[str | Answer]:
    """qa.ask_stream, with a bad question turned into an explaining answer.

    The first piece is computed here, before any byte is sent, so that errors (no index …)
    still become a proper HTTP error rather than a stream cut short.
    """
    try:
        check_question(question)
    except QuestionError as error:
        explained = f"无法回答这个问题:{error}"
        return iter([explained, Answer(question=question, text=explained, refused=True)])
    pieces = qa.ask_stream(question, history)
    return _prepend(next(pieces), pieces)


def _prepend(first: str | Answer, rest: Iterator[str | Answer]) -> Iterator[str | Answer]:
    yield first
    yield from rest


def _answer_extras(answer: Answer) -> dict[str, Any]:
    return {"citations": [c.to_dict() for c in answer.citations], "refused": answer.refused}


def _completion(model: str, answer: Answer) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **_answer_extras(answer),
    }


def _sse(model: str, pieces: Iterator[str | Answer]) -> Iterator[str]:
    """chat.completion.chunk events: the role, the text pieces, the stop chunk, [DONE]."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk"}
    head |= {"created": int(time.time()), "model": model}

    def event(delta: dict[str, str], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return f"data: {json.dumps({**head, 'choices': [choice], **extra}, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in pieces:
        if isinstance(piece, Answer):
            yield event({}, "stop", **_answer_extras(piece))
        elif piece:
            yield event({"content": piece})
    yield "data: [DONE]\n\n"


# ---------------------------------------------------------------- the app


def create_api(qa: PolicyQA, guard: Guard | None = None) -> FastAPI:
    """The FastAPI app serving qa behind one guard (rag.web.security: auth, failed-secret limit,
    body bounds, for every route, docs included); blocking qa calls run in the threadpool.

    Long because it is the route table: each route is a few lines that hand over to qa, and
    FastAPI wants them declared on the app they close over."""
    app = FastAPI(title="PolicyQA", summary="Questions answered from work-safety speeches, with citations.")
    guard = guard or Guard(qa.settings)
    app.add_middleware(SecurityMiddleware, guard=guard)
    api = APIRouter(prefix="/api")
    v1 = APIRouter(prefix="/v1")

    @app.exception_handler(ApiError)
    def api_error(request: Request, error: ApiError) -> JSONResponse:
        return _error_body(request, error.status, error.message, error.kind)

    def domain_error(request: Request, error: Exception) -> JSONResponse:
        """Every error a user can cause or meet, answered from the one map in rag.errors."""
        mapped = user_error(error)
        response = _error_body(request, mapped.status, mapped.message, mapped.kind)
        if isinstance(error, AuthError) and error.retry_after:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    for kind in DOMAIN_ERRORS:
        app.add_exception_handler(kind, domain_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, error: RequestValidationError) -> JSONResponse:
        """OpenAI clients expect 400 with an error object; /api keeps FastAPI's 422 detail (without
        the input echoed back: it may hold text that cannot be encoded)."""
        if request.url.path.startswith("/v1"):
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()
            )
            return _error_body(request, 400, problems, "invalid_request_error")
        detail = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @api.get("/health", response_model=None)
    def health() -> dict[str, Any] | JSONResponse:
        """For load balancers and humans; never needs the key and never fails for want of an index.
        A Chroma server that cannot be reached is 503 with "store": "unavailable" and the reason."""
        try:
            chunks = qa.store.count()
            speeches = len(qa.speeches()) if chunks else 0
        except StoreUnavailable as error:
            down = {"status": "unavailable", "store": "unavailable", "error": str(error)}
            down |= {"speeches": 0, "chunks": 0, "index": False, "model": qa.settings.embedding_model}
            return JSONResponse(down, status_code=503)
        except StoreError:
            chunks = speeches = 0
        return {
            "status": "ok",
            "speeches": speeches,
            "chunks": chunks,
            "index": chunks > 0,
            "model": qa.settings.embedding_model,
            "llm": describe(qa.settings),
            "keywords": qa.keyword_status(),
        }

    @api.post("/ask")
    def ask(body: AskRequest) -> dict[str, Any]:
        check_request(body.question, body.history, body.speech_ids, body.sources)
        answer = qa.ask(body.question, body.history, speech_ids=body.speech_ids, sources=body.sources)
        return answer.to_dict()

    @api.get("/search")
    def search(
        q: str,
        k: Annotated[int, Query(ge=MIN_K, le=MAX_K)] = 5,
        speech_id: Annotated[list[str] | None, Query()] = None,
        source: Annotated[list[str] | None, Query()] = None,
    ) -> dict[str, Any]:
        check_request(q, None, speech_id, source, k)
        passages = qa.search(q, k, speech_ids=speech_id, sources=source)
        return {"passages": [p.to_dict() for p in passages]}

    @api.get("/speeches")
    def speeches() -> list[dict[str, Any]]:
        return qa.speeches()

    @api.post("/ingest")
    async def ingest(request: Request) -> dict[str, Any]:
        """Admin upload. The body is parsed by hand, after the password check, so that nobody
        without the password can make the server spool large files. Files that fail are removed."""
        guard.check_admin(request.headers.get("x-admin-password"), client_of(request.scope))
        files = await _read_uploads(request, qa.settings)
        stored = await run_in_threadpool(store_uploads, qa.settings, files)
        report = await run_in_threadpool(ingest_uploads, qa, stored)
        uploaded = [{"file": s.name, "saved_as": s.path.name, "kept": s.path.exists()} for s in stored]
        return report.to_dict() | {"uploaded": uploaded}

    @v1.get("/models")
    def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": MODEL_ID}],
        }

    @v1.post("/chat/completions", response_model=None)
    def chat(body: ChatRequest) -> dict[str, Any] | StreamingResponse:
        question, history = _conversation(body.messages)
        check_text(question, "问题", 1 << 20)  # invalid Unicode is 422; the length is check_question's
        check_history(history)  # already trimmed to the bounds; this catches invalid Unicode
        pieces = _chat_pieces(qa, question, history)
        if body.stream:
            headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            events = _sse(body.model, pieces)
            return StreamingResponse(events, media_type="text/event-stream", headers=headers)
        answer = [p for p in pieces if isinstance(p, Answer)][-1]
        return _completion(body.model, answer)

    app.include_router(api)
    app.include_router(v1)
    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory rag.web.http_api:app_from_env``: settings from POLICYQA_* variables."""
    return create_api(PolicyQA.open())
