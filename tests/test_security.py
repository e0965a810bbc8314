"""Who may call what, and how much a request may ask: the guard on every route (rag.web.security),
the bounds (rag.limits), the failed-secret limit and the upload rules, on the real app in process."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from rag.config import Settings

KEY, ADMIN = "sec-key-2b7d", "sec-admin-91e4"
AUTH = {"Authorization": f"Bearer {KEY}"}
JSON = {"Content-Type": "application/json"}


def _settings(tmp: Path, **extra) -> Settings:
    return Settings(
        store_dir=tmp / "store", data_dir=tmp / "data", **({"api_key": KEY, "admin_password": ADMIN} | extra)
    )


@pytest.fixture
def app(tmp_path: Path):
    from app import build_app

    return build_app(_settings(tmp_path))


@pytest.fixture
def http(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _routes(app, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) for every HTTP route of the app, of the routers it includes and of every
    app mounted on it (FastAPI's included routers expose their routes as effective_candidates)."""
    found = []
    routes = app.effective_candidates() if hasattr(app, "effective_candidates") else app.routes
    for route in routes:
        if isinstance(route, Mount):
            found += _routes(route.app, prefix + route.path)
        elif hasattr(route, "effective_candidates"):
            found += _routes(route, prefix)
        elif getattr(route, "methods", None) and isinstance(getattr(route, "path", None), str):
            path = prefix + route.path.replace("{path:path}", "x").replace("{path_or_url:path}", "x")
            for method in sorted(set(route.methods) - {"HEAD"}):
                found.append((method, path.replace("{", "").replace("}", "")))
    return sorted(set(found))


def test_every_route_refuses_without_the_key(app, http: TestClient) -> None:
    from rag.web.security import PUBLIC_PATHS, PUBLIC_PREFIXES

    routes = _routes(app)
    assert len(routes) > 40 and ("POST", "/api/ask") in routes and ("POST", "/gradio_api/upload") in routes
    for method, path in routes:
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            continue
        status = http.request(method, path).status_code
        assert status == 401, f"{method} {path} -> {status}"
    assert http.get("/api/health").status_code == 200
    for path in ("/docs", "/openapi.json", "/redoc", "/config", "/gradio_api/info"):
        assert http.get(path, headers=AUTH).status_code == 200, path


def test_the_page_shows_its_login_form_and_a_session_opens_everything(tmp_path: Path) -> None:
    from app import build_app

    with TestClient(build_app(_settings(tmp_path, api_key=None, chat_users="alice:s3cret"))) as http:
        page = http.get("/")
        assert page.status_code == 401 and "auth_required" in page.text  # Gradio's login form
        assert http.post("/api/ask", json={"question": "煤矿安全"}).status_code == 401
        assert http.post("/v1/chat/completions", json={"messages": []}).status_code == 401
        assert http.post("/login", data={"username": "alice", "password": "s3cret"}).status_code == 200
        assert http.get("/").status_code == 200
        assert http.get("/api/speeches").status_code != 401  # 503: no index here, but let in


def test_the_api_key_logs_in_on_the_page_and_opens_gradio_routes(http: TestClient) -> None:
    assert http.post("/login", data={"username": "anyone", "password": KEY}).status_code == 200
    http.cookies.clear()
    assert http.get("/gradio_api/info", headers=AUTH).status_code == 200


def test_no_secret_keeps_everything_open_but_upload(tmp_path: Path) -> None:
    from app import build_app

    with TestClient(build_app(_settings(tmp_path, api_key=None, admin_password=None))) as http:
        assert http.get("/").status_code == 200
        assert http.get("/config").status_code == 200
        assert http.get("/openapi.json").status_code == 200
        assert http.post("/gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 403


def test_a_body_over_the_limit_is_refused_before_it_is_read(app) -> None:
    """The middleware is called with a receive() that fails the test if awaited."""
    sent: list[dict] = []

    async def receive():
        raise AssertionError("the body was read")

    async def send(message):
        sent.append(message)

    headers = [(b"content-length", str(50 << 20).encode()), (b"content-type", b"application/json")]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/ask",
        "headers": headers,
        "client": ("1.2.3.4", 1),
    }
    scope |= {
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("t", 80),
        "http_version": "1.1",
    }
    asyncio.run(app.middleware_stack(scope, receive, send)) if app.middleware_stack else None
    if not sent:  # the stack is built on first use
        app.middleware_stack = app.build_middleware_stack()
        asyncio.run(app.middleware_stack(scope, receive, send))
    assert sent[0]["status"] == 413


def test_a_streamed_body_is_cut_off_at_the_limit(http: TestClient) -> None:
    def chunks():
        for _ in range(30):
            yield b"a" * (100 * 1024)

    assert http.post("/api/ask", content=chunks(), headers=AUTH | JSON).status_code == 413
    assert http.post("/gradio_api/call/ask", content=chunks(), headers=AUTH | JSON).status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        r'{"question": "煤矿安全", "speech_ids": ["\ud800"]}',
        r'{"question": "煤矿安全", "sources": ["\ud800"]}',
        r'{"question": "那煤矿呢?", "history": [["\ud800", "\ud800"]]}',
        r'{"question": "煤矿\ud800安全"}',
        '{"question": "煤矿安全", "speech_ids": []}',
        '{"question": "煤矿安全", "speech_ids": [' + ",".join(f'"{i:016x}"' for i in range(40000)) + "]}",
        '{"question": "那煤矿呢?", "history": [["' + "隐患" * 50000 + '", "好的"]]}',
        '{"question": "那煤矿呢?", "history": [' + ",".join(['["问", "答"]'] * 21) + "]}",
    ],
    ids=[
        "ids-surrogate",
        "sources-surrogate",
        "history-surrogate",
        "question-surrogate",
        "empty-ids",
        "40000-ids",
        "100k-turn",
        "21-turns",
    ],
)
def test_bad_requests_are_422_never_500(http: TestClient, body: str) -> None:
    response = http.post("/api/ask", content=body.encode(), headers=AUTH | JSON)
    assert response.status_code in (413, 422), response.text  # 40,000 ids is also over 1 MB
    assert "error" in response.json() or "detail" in response.json()


def test_k_is_bounded_on_every_route(http: TestClient) -> None:
    import gradio as gr

    from rag.web.page import Page

    for k in (0, -5, 51, 100000):
        assert http.get("/api/search", params={"q": "煤矿", "k": k}, headers=AUTH).status_code == 422
        page = Page(http.app.state.policyqa, None)
        with pytest.raises(gr.Error, match="k"):
            page.search("煤矿", k)
    from rag.api import QuestionError

    with pytest.raises(QuestionError):
        http.app.state.policyqa.search("煤矿", 100000)


def test_repeated_wrong_secrets_get_429(http: TestClient) -> None:
    from rag.limits import FAILED_SECRET_LIMIT

    wrong = AUTH | {"X-Admin-Password": "guess"}
    statuses = [
        http.post("/api/ingest", headers=wrong, files={"files": ("a.txt", b"x")}).status_code
        for _ in range(8)
    ]
    assert statuses[:FAILED_SECRET_LIMIT] == [403] * FAILED_SECRET_LIMIT
    assert set(statuses[FAILED_SECRET_LIMIT:]) == {429}
    # the address is now refused for any secret, the right key included
    assert http.get("/api/speeches", headers=AUTH).status_code == 429


def test_wrong_keys_and_logins_count_too(tmp_path: Path) -> None:
    from app import build_app

    with TestClient(build_app(_settings(tmp_path))) as http:
        keys = [
            http.get("/api/speeches", headers={"Authorization": f"Bearer no{i}"}).status_code
            for i in range(3)
        ]
        logins = [
            http.post("/login", data={"username": "a", "password": f"no{i}"}).status_code for i in range(4)
        ]
        assert keys == [401] * 3 and logins[:2] == [400, 400] and logins[2:] == [429, 429]


# ---------------------------------------------------------------- the page's upload handler, on a real store


@pytest.fixture
def page(tmp_path: Path, seed_store_dir: Path, model_cache: Path, embedder, monkeypatch):
    from rag.api import PolicyQA
    from rag.web.page import Page
    from rag.web.security import Guard

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    shutil.copytree(seed_store_dir, tmp_path / "store")
    (tmp_path / "data").mkdir()
    settings = _settings(tmp_path, model_cache=model_cache, upload_dir=tmp_path / "uploads")
    qa = PolicyQA(settings)
    qa._embedder = embedder  # the session's loaded model
    return Page(qa, Guard(settings))


def _received(name: str, content: bytes) -> Path:
    """A file as Gradio keeps one it received: inside its upload folder."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / "f00d"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder / name


@pytest.mark.slow
def test_a_server_path_is_not_ingested(page, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("关于机密的讲话\n\n同志们:\n\n机密标记12345是服务器上的内容。\n", "utf-8")
    report, *_ = page.upload([str(secret)], ADMIN, [], None)
    assert "不是通过本页面上传的文件" in report
    assert not list(page.settings.uploads.glob("*")) if page.settings.uploads.exists() else True
    assert not page.qa.search("机密标记12345", 3) or all(
        "机密标记12345" not in p.text for p in page.qa.search("机密标记12345", 3)
    )
    assert secret.exists()


@pytest.mark.slow
def test_a_failed_upload_is_deleted(page) -> None:
    broken = _received("broken.docx", b"this is not a zip file")
    report, *_ = page.upload([str(broken)], ADMIN, [], None)
    assert "出错" in report or "导入失败" in report
    assert not list(page.settings.uploads.glob("*broken*"))
    assert not broken.exists()  # Gradio's copy is removed too


def test_wrong_admin_password_on_the_page(page) -> None:
    report, *_ = page.upload([], "wrong", [], None)
    assert "管理员密码不正确" in report
    report, *_ = page.reingest("", [], None)
    assert "请先输入管理员密码" in report


def test_the_failure_limiter_forgets_addresses_instead_of_growing() -> None:
    """One failure from each of many addresses (a botnet, or IPv6): memory stays bounded."""
    from rag.limits import FAILED_SECRET_LIMIT, MAX_TRACKED_CLIENTS
    from rag.web.security import FailureLimiter

    limiter = FailureLimiter()
    for n in range(MAX_TRACKED_CLIENTS + 500):
        limiter.fail(f"client-{n}")
    assert len(limiter._failures) <= MAX_TRACKED_CLIENTS
    for _ in range(FAILED_SECRET_LIMIT):
        limiter.fail("steady-guesser")
    assert limiter.retry_after("steady-guesser") is not None  # the newest are still counted
