"""The HTTP API against a live uvicorn server on 127.0.0.1, and through the official OpenAI client."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openai import AuthenticationError, OpenAI

from tests.conftest import ROOT
from tests.servers import free_port, running, wait_for_http

pytestmark = pytest.mark.slow

KEY = "test-key-3f9a"
ADMIN = "test-admin-7c21"
SLOGAN = "“三个必须”指什么?"
UNCOVERED = "核电站乏燃料的储存期限是多少年?"
NEW_FACT = "今年全县要落实“三查两改一销号”,即查隐患、查制度、查责任,改设施、改流程,隐患销号。"


@dataclass
class Server:
    url: str
    root: Path  # the server's private tmp folder: store, data, uploads
    uploads: Path

    def client(self, key: str | None = KEY, source: str | None = None) -> httpx.Client:
        """source: the client's own loopback address, so that tests sending wrong keys on purpose
        do not get the tests' usual address (127.0.0.1) locked out by the failed-secret limit."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = httpx.HTTPTransport(local_address=source) if source else None
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, transport=transport)


_SOURCES = iter(f"127.0.0.{n}" for n in range(10, 250))  # a fresh address per wrong-key test


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, seed_store_dir: Path, model_cache: Path
) -> Iterator[Server]:
    """One server for the module, over a private copy of the seed index, warmed up."""
    root = tmp_path_factory.mktemp("http-api")
    shutil.copytree(seed_store_dir, root / "store")
    port = free_port()
    env = {
        "POLICYQA_STORE_DIR": str(root / "store"),
        "POLICYQA_MODEL_CACHE": str(model_cache),
        "POLICYQA_DATA_DIR": str(root / "data"),
        "POLICYQA_UPLOAD_DIR": str(root / "data" / "uploads"),
        "POLICYQA_ADMIN_PASSWORD": ADMIN,
        "POLICYQA_API_KEY": KEY,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "rag.web.http_api:app_from_env"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with running(command, port, env=env, log=root / "server.log"):
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/api/health")
        found = Server(url, root, root / "data" / "uploads")
        with found.client() as client:  # the first question loads the model
            client.post("/api/ask", json={"question": SLOGAN}).raise_for_status()
        yield found


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def openai_client(server: Server) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=120)


def assert_quotes_in_passages(citations: list[dict]) -> None:
    assert citations
    for citation in citations:
        assert citation["speech_title"] and citation["source"] and citation["chunk_id"]
        for part in citation["quote"].split("……"):
            assert part in citation["passage"]


# ---------------------------------------------------------------- health and the key


def test_health_needs_no_key(server: Server) -> None:
    with server.client(key=None) as client:
        health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["index"] is True
    assert health["speeches"] == 17 and health["chunks"] > 17 and "e5" in health["model"]


@pytest.mark.parametrize("key", [None, "wrong-key"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/ask", {"question": SLOGAN}),
        ("GET", "/api/speeches", None),
        (
            "POST",
            "/v1/chat/completions",
            {"model": "policyqa", "messages": [{"role": "user", "content": "hi"}]},
        ),
        ("GET", "/v1/models", None),
    ],
)
def test_everything_else_needs_the_key(server: Server, key, method, path, body) -> None:
    with server.client(key=key, source=next(_SOURCES)) as client:
        response = client.request(method, path, json=body)
    assert response.status_code == 401
    error = response.json()["error"]
    if path.startswith("/v1"):
        assert error["type"] == "invalid_request_error" and "API key" in error["message"]
    else:
        assert "API key" in error


def test_the_openai_client_reports_a_wrong_key(server: Server) -> None:
    elsewhere = httpx.Client(transport=httpx.HTTPTransport(local_address=next(_SOURCES)))
    client = OpenAI(base_url=f"{server.url}/v1", api_key="wrong-key", max_retries=0, http_client=elsewhere)
    with pytest.raises(AuthenticationError, match="API key"):
        client.models.list()


# ---------------------------------------------------------------- /api


def test_ask_answers_with_quotes_from_the_speeches(http: httpx.Client) -> None:
    answer = http.post("/api/ask", json={"question": SLOGAN}).json()
    assert not answer["refused"]
    assert "管行业必须管安全、管业务必须管安全、管生产必须管安全" in answer["text"]
    assert_quotes_in_passages(answer["citations"])


def test_ask_refuses_what_the_speeches_do_not_cover(http: httpx.Client) -> None:
    answer = http.post("/api/ask", json={"question": UNCOVERED}).json()
    assert answer["refused"] and answer["citations"] == [] and answer["related"]


def test_ask_takes_history_and_filters(http: httpx.Client) -> None:
    speech_id = http.get("/api/search", params={"q": SLOGAN, "k": 1}).json()["passages"][0]["speech_id"]
    body = {"question": SLOGAN, "history": [["你好", "你好!"]], "speech_ids": [speech_id]}
    answer = http.post("/api/ask", json=body).json()
    assert not answer["refused"] and answer["citations"]


@pytest.mark.parametrize("question", ["   ", "??!!。。"])
def test_a_bad_question_is_422_with_the_reason(http: httpx.Client, question: str) -> None:
    response = http.post("/api/ask", json={"question": question})
    assert response.status_code == 422
    assert "空" in response.json()["error"] or "标点" in response.json()["error"]


def test_search_returns_passages_and_filters_by_speech(http: httpx.Client) -> None:
    passages = http.get("/api/search", params={"q": SLOGAN, "k": 3}).json()["passages"]
    assert len(passages) == 3 and all(p["text"] and p["speech_title"] for p in passages)
    speech_id = passages[-1]["speech_id"]
    kept = http.get("/api/search", params={"q": SLOGAN, "speech_id": speech_id}).json()["passages"]
    assert kept and {p["speech_id"] for p in kept} == {speech_id}


def test_speeches_lists_the_seed_corpus(http: httpx.Client) -> None:
    speeches = http.get("/api/speeches").json()
    assert len(speeches) == 17 and all(s["title"] and s["chunks"] > 0 for s in speeches)


# ---------------------------------------------------------------- /api/ingest


def _upload(http: httpx.Client, files: list[tuple[str, bytes]], password: str | None = ADMIN):
    headers = {"X-Admin-Password": password} if password else {}
    parts = [("files", (name, content, "text/plain")) for name, content in files]
    return http.post("/api/ingest", files=parts, headers=headers)


@pytest.mark.parametrize("password", [None, "wrong"])
def test_upload_needs_the_admin_password(http: httpx.Client, server: Server, password) -> None:
    response = _upload(http, [("a.txt", "讲话".encode())], password)
    assert response.status_code == 403 and "admin password" in response.json()["error"]
    assert not server.uploads.exists() or not any(server.uploads.iterdir())


def test_upload_refuses_an_unsupported_type_by_name(http: httpx.Client) -> None:
    response = _upload(http, [("ok.txt", "讲话".encode()), ("讲话.exe", b"MZ")])
    assert response.status_code == 400 and "讲话.exe" in response.json()["error"]


def test_an_upload_name_is_never_a_path(http: httpx.Client, server: Server) -> None:
    response = _upload(http, [("../../evil.txt", "安全生产讲话\n\n同志们:要抓好安全生产。".encode())])
    assert response.status_code == 200, response.text
    (uploaded,) = response.json()["uploaded"]
    assert uploaded["file"] == "../../evil.txt"
    assert uploaded["saved_as"].endswith("_evil.txt") and "/" not in uploaded["saved_as"]
    assert (server.uploads / uploaded["saved_as"]).is_file()
    everywhere = [p for p in server.root.rglob("*evil*") if p.is_file()]
    assert everywhere == [server.uploads / uploaded["saved_as"]]


def test_an_uploaded_speech_is_answered_from(http: httpx.Client) -> None:
    speech = f"在全县安全生产工作会议上的讲话\n\n同志们:\n{NEW_FACT}各乡镇、各部门要把这项工作抓紧抓实。\n"
    response = _upload(http, [("县安全生产讲话.txt", speech.encode())])
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["files_failed"] == 0 and report["chunks_added"] >= 1
    saved_as = report["uploaded"][0]["saved_as"]
    answer = http.post("/api/ask", json={"question": "“三查两改一销号”指什么?"}).json()
    assert not answer["refused"] and "查隐患、查制度、查责任" in answer["text"]
    assert saved_as in {c["source"] for c in answer["citations"]}


# ---------------------------------------------------------------- /v1 through the OpenAI client


def test_models_list(openai_client: OpenAI) -> None:
    assert [m.id for m in openai_client.models.list()] == ["policyqa"]


def test_chat_completion_carries_the_answer_and_its_citations(openai_client: OpenAI) -> None:
    response = openai_client.chat.completions.create(
        model="policyqa", messages=[{"role": "user", "content": SLOGAN}]
    )
    assert response.id.startswith("chatcmpl-") and response.choices[0].finish_reason == "stop"
    assert "管行业必须管安全" in response.choices[0].message.content
    assert response.model_extra["refused"] is False
    assert_quotes_in_passages(response.to_dict()["citations"])


def test_streamed_chat_equals_the_plain_one(openai_client: OpenAI, http: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "你是助手"},
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "你好!"},
        {"role": "user", "content": [{"type": "text", "text": SLOGAN}]},
    ]
    plain = openai_client.chat.completions.create(model="policyqa", messages=messages)
    chunks = list(openai_client.chat.completions.create(model="policyqa", messages=messages, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    asked = http.post("/api/ask", json={"question": SLOGAN, "history": [["你好", "你好!"]]}).json()
    assert text == plain.choices[0].message.content == asked["text"]
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["refused"] is False
    assert last.model_extra["citations"] == plain.model_extra["citations"] == asked["citations"]


def test_the_stream_is_server_sent_events(http: httpx.Client) -> None:
    body = {"model": "policyqa", "messages": [{"role": "user", "content": SLOGAN}], "stream": True}
    response = http.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    assert len(events) >= 4  # role, the answer line by line, stop, [DONE]
    assert all('"content"' in e for e in events[1:-2]), "the events between role and stop carry text"


def test_a_bad_chat_question_gets_an_explaining_answer(openai_client: OpenAI) -> None:
    response = openai_client.chat.completions.create(
        model="policyqa", messages=[{"role": "user", "content": " "}]
    )
    assert "空" in response.choices[0].message.content
    assert response.model_extra == {"citations": [], "refused": True}


def test_a_chat_without_a_user_message_is_400(http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]})
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


# ---------------------------------------------------------------- in process: no index, no admin password


def test_without_an_index_or_admin_password(tmp_path: Path, model_cache: Path) -> None:
    """Cheap cases need no server: health must not fail and upload must say how to turn it on."""
    from fastapi.testclient import TestClient

    from rag.api import PolicyQA
    from rag.config import Settings
    from rag.web.http_api import create_api

    settings = Settings(store_dir=tmp_path / "store", data_dir=tmp_path / "data", model_cache=model_cache)
    with TestClient(create_api(PolicyQA(settings))) as client:
        assert client.get("/api/health").json() | {"model": ""} == {
            "status": "ok",
            "speeches": 0,
            "chunks": 0,
            "index": False,
            "model": "",
            "llm": {"provider": "none"},
            "keywords": "ok",
        }
        response = client.post("/api/ingest", files=[("files", ("a.txt", b"x"))])
        assert response.status_code == 503
        assert response.json() == {"error": "upload is off: set POLICYQA_ADMIN_PASSWORD"}
        speeches = client.get("/api/speeches")
        assert speeches.status_code == 503 and "no index" in speeches.json()["error"]
