"""The one auth rule and the one body bound, applied to every route as an ASGI middleware.

Rule (README, "Who may call what"): with no secret configured everything is open, as before.
With POLICYQA_API_KEY or POLICYQA_CHAT_USERS set, every route but /api/health, the login form
and the page's static assets needs either ``Authorization: Bearer <API key>`` or a logged-in page
session (Gradio's login cookie). The page itself answers 401 with its login form. Gradio's upload
route is closed whenever upload is off (no POLICYQA_ADMIN_PASSWORD). Admin actions additionally
need the admin password (checked by ``Guard.check_admin`` in the handlers, on every path).

Failed secrets (wrong key, wrong login, wrong admin password) are counted per client address;
after FAILED_SECRET_LIMIT in FAILED_SECRET_WINDOW_S that address gets 429 for any secret check.

Bodies: a Content-Length over the route's bound is 413 before a byte is read; a body without one
is counted as it streams and cut off with 413 at the bound.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import Settings
from rag.errors import AuthError
from rag.limits import (
    FAILED_SECRET_LIMIT,
    FAILED_SECRET_WINDOW_S,
    MAX_JSON_BODY_BYTES,
    MAX_TRACKED_CLIENTS,
    MAX_UPLOAD_FILES,
    UPLOAD_FORM_OVERHEAD_BYTES,
)

PUBLIC_PATHS = {
    "/api/health",
    "/login",
    "/login/",
    "/logout",
    "/favicon.ico",
    "/robots.txt",
    "/manifest.json",
}
PUBLIC_PATHS |= {"/theme.css", "/gradio_api/theme.css"}
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")  # the page's code, no data
PAGE_PATHS = {"/", "/index.html"}  # answered with the login form (status 401) when not logged in
UPLOAD_PATHS = {"/gradio_api/upload", "/gradio_api/upload/", "/api/ingest"}
GRADIO_UPLOAD = ("/gradio_api/upload", "/gradio_api/upload/")


class FailureLimiter:
    """Failed secret attempts per client address in a sliding window."""

    def __init__(self, limit: int = FAILED_SECRET_LIMIT, window_s: float = FAILED_SECRET_WINDOW_S) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures[client]
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int | None:
        """Seconds until the address may try again, or None when it may try now."""
        with self._lock:
            now = time.monotonic()
            times = self._recent(client, now)
            if len(times) < self.limit:
                if not times:
                    self._failures.pop(client, None)
                return None
            return max(1, int(times[0] + self.window_s - now) + 1)

    def fail(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            if client not in self._failures and len(self._failures) >= MAX_TRACKED_CLIENTS:
                self._forget_some(now)
            self._recent(client, now).append(now)

    def _forget_some(self, now: float) -> None:
        """Drop addresses whose failures have all expired; if none have, the longest-known one."""
        expired = [c for c, times in self._failures.items() if not times or times[-1] <= now - self.window_s]
        for client in expired or [next(iter(self._failures))]:
            del self._failures[client]


class Guard:
    """The configured secrets, the failure limiter and (once the page is mounted) its session lookup."""

    def __init__(self, settings: Settings, limiter: FailureLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or FailureLimiter()
        self.session_user: Callable[[dict[str, str]], str | None] = lambda cookies: None
        # the page's login cookie for a caller with the API key, so Gradio's own routes (which
        # check only their login) let it through too; set by app.build_app
        self.key_session_cookie: Callable[[], str | None] = lambda: None

    @property
    def closed(self) -> bool:
        """True when any access secret is set: then nothing is anonymous but health and the login."""
        return self.settings.api_key is not None or bool(self.settings.chat_users)

    def _throttle(self, client: str) -> None:
        wait = self.limiter.retry_after(client)
        if wait is not None:
            raise AuthError(429, f"失败次数太多,请 {wait} 秒后再试 (too many failed attempts)", wait)

    def key_ok(self, authorization: str, client: str) -> bool | None:
        """True for the right bearer key, False for a wrong one (counted), None for none given."""
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not given.strip() or self.settings.api_key is None:
            return None
        self._throttle(client)
        expected = self.settings.api_key.get_secret_value().encode("utf-8")
        if hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected):
            return True
        self.limiter.fail(client)
        return False

    def check_admin(self, given: str | None, client: str) -> None:
        """Upload and re-ingest: the admin password, on every path; AuthError otherwise."""
        expected = self.settings.admin_password
        if expected is None:
            raise AuthError(503, "upload is off: set POLICYQA_ADMIN_PASSWORD")
        if not given:
            raise AuthError(403, "请先输入管理员密码 (admin password missing, header X-Admin-Password)")
        self._throttle(client)
        if not hmac.compare_digest(
            given.encode("utf-8", "replace"), expected.get_secret_value().encode("utf-8")
        ):
            self.limiter.fail(client)
            raise AuthError(403, "管理员密码不正确 (wrong admin password)")

    def authorize(self, path: str, headers: dict[str, str], client: str) -> str:
        """'open' (let through), 'key' (the API key: let through as logged in), 'page' (let
        through, but answer 401 unless logged in) or an AuthError."""
        if path in GRADIO_UPLOAD and self.settings.admin_password is None:
            raise AuthError(403, "上传已关闭 (upload is off: no admin password is set)")
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return "open"
        key = self.key_ok(headers.get("authorization", ""), client)
        if key is False:
            raise AuthError(401, "API 密钥不正确 (wrong API key)")
        if key:
            return "key"
        if not self.closed:
            return "open"
        if self.session_user(_cookies(headers.get("cookie", ""))) is not None:
            return "open"
        if path in PAGE_PATHS:
            return "page"
        raise AuthError(
            401, "需要登录或 API 密钥 (missing API key: send 'Authorization: Bearer <key>' or log in)"
        )


def _cookies(header: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in header.split(";"))
    return {name: value for name, _, value in pairs if name}


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def body_limit(path: str, settings: Settings) -> int:
    if path in UPLOAD_PATHS:
        return settings.max_upload_mb * (1 << 20) * MAX_UPLOAD_FILES + UPLOAD_FORM_OVERHEAD_BYTES
    return MAX_JSON_BODY_BYTES


class BodyTooLarge(HTTPException):
    """Raised from receive() when a streamed body passes the bound; FastAPI and Gradio re-raise it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"请求太大(上限 {limit // 1024} KB)(request body over {limit} bytes)")


class SecurityMiddleware:
    """Auth rule, failure limiter and body bound for every HTTP request (see the module doc)."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app, self.guard = app, guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, client = scope.get("path", ""), client_of(scope)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        limit = body_limit(path, self.guard.settings)
        length = headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > limit:
            await _reply(scope, send, 413, str(BodyTooLarge(limit).detail))
            return
        try:
            if path in ("/login", "/login/"):
                self.guard._throttle(client)
            verdict = self.guard.authorize(path, headers, client)
        except AuthError as error:
            extra = {"retry-after": str(error.retry_after)} if error.retry_after else {}
            if error.status == 401:
                extra["www-authenticate"] = "Bearer"
            await _reply(scope, send, error.status, str(error), extra)
            return
        if verdict == "key" and (cookie := self.guard.key_session_cookie()):
            rest = [(k, v) for k, v in scope["headers"] if k.lower() != b"cookie"]
            mine = "; ".join(filter(None, (headers.get("cookie", ""), cookie)))
            scope = {**scope, "headers": [*rest, (b"cookie", mine.encode("latin-1"))]}
        started = False

        async def counted_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if verdict == "page" and message["status"] == 200:
                    message = {**message, "status": 401}  # the login form, but not a 2xx
                if path in ("/login", "/login/") and message["status"] == 400:
                    self.guard.limiter.fail(client)
            await send(message)

        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counted_receive, counted_send)
        except BodyTooLarge as error:
            if started:
                raise
            await _reply(scope, send, 413, str(error.detail))


async def _reply(
    scope: Scope, send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    """A JSON error: OpenAI's shape under /v1, {"error": message} elsewhere."""
    if scope.get("path", "").startswith("/v1"):
        kind = {401: "invalid_request_error", 403: "permission_error", 413: "invalid_request_error"}
        payload: Any = {
            "error": {
                "message": message,
                "type": kind.get(status, "rate_limit_error"),
                "param": None,
                "code": None,
            }
        }
    else:
        payload = {"error": message}
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
