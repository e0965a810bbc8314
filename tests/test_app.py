"""The web app: a real `python app.py` on a copy of the seed index, driven with gradio_client.

Also the pure pieces of app.py (escaping, highlighting, upload names) without a server.
Timings are printed (run with -s to see them), never asserted: the bars are measured by a script.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import shutil
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.servers import free_port, running, wait_for_http

ADMIN_PASSWORD = "test-admin-密码"
HAS_HTTP_API = importlib.util.find_spec("rag.web.http_api") is not None


@dataclass(frozen=True)
class LiveApp:
    url: str
    log: Path
    store: Path
    uploads: Path
    page_ready_s: float


@contextlib.contextmanager
def live_app(base: Path, seed_store_dir: Path, model_cache: Path) -> Iterator[LiveApp]:
    """`python app.py --port N` from the repo root on its own copy of the seed index."""
    store = base / "store"
    shutil.copytree(seed_store_dir, store)
    data = base / "data"
    data.mkdir()
    port = free_port()
    env = {
        "POLICYQA_STORE_DIR": str(store),
        "POLICYQA_DATA_DIR": str(data),
        "POLICYQA_MODEL_CACHE": str(model_cache),
        "POLICYQA_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
    }
    url = f"http://127.0.0.1:{port}/"
    log = base / "server.log"
    started = time.perf_counter()
    with running([sys.executable, str(ROOT / "app.py"), "--port", str(port)], port, env=env, log=log):
        wait_for_http(url, timeout=120)
        ready = time.perf_counter() - started
        print(f"\n[app] page ready {ready:.2f} s after start (log: {log})")
        yield LiveApp(url, log, store, data / "uploads", ready)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory, seed_store_dir: Path, model_cache: Path):
    with live_app(tmp_path_factory.mktemp("app"), seed_store_dir, model_cache) as live:
        yield live


@pytest.fixture(scope="module")
def client(app_server: LiveApp):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)


# ---------------------------------------------------------------- the live app


@pytest.mark.slow
def test_page_is_served_and_names_its_endpoints(app_server: LiveApp, client) -> None:
    with urllib.request.urlopen(app_server.url, timeout=10) as response:
        assert response.status == 200
        assert "<html" in response.read().decode("utf-8", "replace").lower()
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ask", "/ask_stream", "/search"} <= set(endpoints)


@pytest.mark.slow
def test_first_streamed_text(app_server: LiveApp, client) -> None:
    """Asked right after the page is up (the model may still be warming), then again warm."""
    for label in ("first question", "warm question"):
        started = time.perf_counter()
        job = client.submit("汛期排查隐患按什么原则?", api_name="/ask_stream")
        first = None
        for text in job:
            if first is None and text:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        assert first is not None, "no streamed text"
        print(f"[app] {label}: first streamed text {first:.2f} s, whole answer {total:.2f} s")
        assert "雨前排查" in job.outputs()[-1]


@pytest.mark.slow
def test_ask_returns_an_answer_citing_a_speech(client) -> None:
    started = time.perf_counter()
    text, details = client.predict("“三个必须”指什么?", api_name="/ask")
    print(f"[app] /ask round trip {time.perf_counter() - started:.2f} s")
    assert "管行业必须管安全" in text
    assert details["refused"] is False
    citation = details["citations"][0]
    assert citation["speech_title"]
    assert citation["source"] == "000_6f579f50373472dc.txt"
    assert citation["quote"] in citation["passage"]
    assert "[1]" in text


@pytest.mark.slow
def test_ask_can_be_restricted_to_chosen_speeches(client) -> None:
    speeches = client.predict(api_name="/speeches")
    assert len(speeches) >= 10
    chosen = next(s for s in speeches if "三个必须" not in s["title"])
    _, details = client.predict("“三个必须”指什么?", [chosen["speech_id"]], api_name="/ask")
    for citation in details["citations"]:
        assert citation["speech_title"] == chosen["title"]
    for passage in details["related"]:
        assert passage["speech_id"] == chosen["speech_id"]


@pytest.mark.slow
def test_search_returns_passages(client) -> None:
    passages = client.predict("隐患排查", 3, api_name="/search")
    assert 1 <= len(passages) <= 3
    assert all(p["text"] and p["speech_title"] for p in passages)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [("", "空"), ("   \n\t ", "空"), ("?!。,,……", "标点"), ("安全" * 5001, "太长")],
    ids=["empty", "whitespace", "punctuation", "10002-chars"],
)
def test_bad_questions_get_the_question_error_message(client, question: str, expected: str) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as error:
        client.predict(question, api_name="/ask")
    assert expected in str(error.value)


@pytest.mark.slow
def test_http_api_health(app_server: LiveApp) -> None:
    if not HAS_HTTP_API:
        pytest.skip("rag.web.http_api is not there yet: app.py serves the chat page on a bare FastAPI")
    with urllib.request.urlopen(app_server.url + "api/health", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["llm"] == {"provider": "none"}


def test_the_index_panel_names_who_writes_the_answers() -> None:
    from app import llm_html
    from rag.config import Settings

    assert llm_html(Settings(llm="none")) == ""
    assert "openai:deepseek-chat" in llm_html(Settings(llm="openai", llm_model="deepseek-chat"))
    # The local model's CPU kernels are named only once it has loaded in this process.
    assert "local:qwen2.5-coder-0.5b" in llm_html(Settings(llm="local", llm_model="qwen2.5-coder-0.5b"))


# ---------------------------------------------------------------- pure pieces, no server


def test_answer_html_escapes_document_text_and_marks_the_quote() -> None:
    from app import answer_html
    from rag.types import Answer, Citation

    evil = "<script>alert(1)</script><img src=x onerror=alert(2)> **粗体** [链接](javascript:alert(3))"
    citation = Citation(
        index=1,
        quote="要落实“三个必须”。",
        speech_title=f"讲话{evil}",
        source="abcdef0123456789_新讲话<b>.txt",
        chunk_id="c1",
        score=1.0,
        passage=f"前文{evil}。要落实“三个必须”。后文",
        heading_path="一、<i>标题</i>",
    )
    page = answer_html(
        Answer(question=evil, text=f"要落实“三个必须”。{evil}[1]", refused=False, citations=(citation,))
    )
    assert "<script" not in page and "<img" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<mark>要落实“三个必须”。</mark>" in page
    assert "新讲话&lt;b&gt;.txt" in page  # the upload's hash prefix is not shown
    assert '<sup class="pq-ref">[1]</sup>' in page


def test_refusal_shows_related_passages_as_cards() -> None:
    from app import answer_html
    from rag.types import Answer, Passage

    related = (
        Passage("c1", "段落<em>一</em>", "讲话甲", "a.txt", 0.5),
        Passage("c2", "段落二", "讲话乙", "b.txt", 0.4),
    )
    page = answer_html(
        Answer(
            question="?",
            text="没有找到。\n\n相关段落:\n· 《讲话甲》(a.txt):段落",
            refused=True,
            related=related,
        )
    )
    assert page.count('class="pq-card pq-related"') == 2
    assert "相关段落" in page and "段落&lt;em&gt;一&lt;/em&gt;" in page
    assert "· 《讲话甲》" not in page  # the text's own list is replaced by the cards


def test_question_html_is_literal_text() -> None:
    from app import question_html

    shown = question_html("<img src=x onerror=alert(1)>\n第二行")
    assert "<img" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;<br>第二行" in shown
    assert "共 10000 字" in question_html("问" * 10000)


def test_highlight_falls_back_when_the_quote_is_not_in_the_passage() -> None:
    from app import highlight

    assert highlight("甲<乙>丙", "<乙>") == "甲<mark>&lt;乙&gt;</mark>丙"
    assert highlight("甲乙丙", "丁").startswith("<mark>丁</mark>")
    assert highlight("", "丁") == "<mark>丁</mark>"
    # a quote that leaves words out: each piece is marked where it is
    assert highlight("甲乙。丙丁。戊<己>。", "甲乙。……戊<己>。") == (
        "<mark>甲乙。</mark>丙丁。<mark>戊&lt;己&gt;。</mark>"
    )


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("新讲话.txt", "新讲话.txt"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.DOCX", "evil.docx"),
        (".hidden.md", "hidden.md"),
        ("a b;rm -rf $(x).pdf", "a b_rm -rf _x_.pdf"),
        ("..", "upload"),
        ("", "upload"),
    ],
)
def test_safe_upload_name(original: str, expected: str, tmp_path: Path) -> None:
    from rag.web.uploads import save_upload, stored_name

    content = "讲话内容".encode()
    name = stored_name(original, content)
    assert name == f"{hashlib.sha256(content).hexdigest()[:16]}_{expected}"
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    saved = save_upload(tmp_path / "uploads", original, content)
    assert saved.parent == (tmp_path / "uploads").resolve() and saved.read_bytes() == content
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [name]


def test_chat_users_parse() -> None:
    from app import _parse_users

    assert _parse_users("u:p, u2:p:2") == [("u", "p"), ("u2", "p:2")]
    with pytest.raises(ValueError):
        _parse_users("nopassword")


# ---------------------------------------------------------------- the app object, in process (no model)


def _config(settings) -> dict:
    from fastapi.testclient import TestClient

    from app import build_app

    with TestClient(build_app(settings)) as http:
        if settings.chat_users:
            assert http.get("/config").status_code == 401
            assert http.post("/login", data={"username": "alice", "password": "wrong"}).status_code == 400
            assert http.post("/login", data={"username": "alice", "password": "s3cret"}).status_code == 200
        response = http.get("/config")
        assert response.status_code == 200
        return response.json()


def _component_types(config: dict) -> set[str]:
    return {c.get("type") for c in config["components"]}


def _markdown_text(config: dict) -> str:
    return "\n".join(
        str(c.get("props", {}).get("value")) for c in config["components"] if c.get("type") == "markdown"
    )


def test_chat_users_must_log_in(tmp_path: Path) -> None:
    from rag.config import Settings

    settings = Settings(store_dir=tmp_path / "store", data_dir=tmp_path / "data", chat_users="alice:s3cret")
    config = _config(settings)
    assert config["title"] == "安全生产讲话问答"


def test_upload_is_off_without_an_admin_password(tmp_path: Path) -> None:
    from rag.config import Settings

    off = _config(Settings(store_dir=tmp_path / "store", data_dir=tmp_path / "data", admin_password=None))
    assert "file" not in _component_types(off)
    assert "上传已关闭" in _markdown_text(off) and "POLICYQA_ADMIN_PASSWORD" in _markdown_text(off)
    on = _config(Settings(store_dir=tmp_path / "store", data_dir=tmp_path / "data", admin_password="pw"))
    assert "file" in _component_types(on)
    assert "上传已关闭" not in _markdown_text(on)
