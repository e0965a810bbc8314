"""Faults with real parts: ingest while users ask, kill -9 at other points, a Chroma server that dies.

Nothing is mocked: the app is served by uvicorn on 127.0.0.1, users are HTTP clients on threads,
the ingest that is killed is a real `python -m ingest` process, and the Chroma server is a real
`chroma run` that is stopped (SIGSTOP, then terminate) and started again on the same port and path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.load import NEW_SPEECH, TARGETED, consistency, edited_seed_speech, index_version
from bench.users import asking, dev_questions
from ingest import failpoints
from ingest.index.keywords import KeywordIndex
from ingest.pipeline import ingest_paths
from rag.config import Settings
from tests.conftest import seed_excerpt
from tests.crashes import (
    IndexState,
    phase_of,
    problems,
    read_state,
    start_ingest,
    write_corpus,
)
from tests.servers import chroma_command, free_port, running

ADMIN = "faults-admin"
pytestmark = pytest.mark.slow


@contextlib.contextmanager
def serve(app: object) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a thread of this process; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = server.force_exit = True  # no waiting for kept-alive connections
        thread.join(timeout=15)


def _qa(settings: Settings, embedder: object):
    from rag.api import PolicyQA

    qa = PolicyQA(settings)
    qa._embedder = embedder  # the session's loaded model
    return qa


# ---------------------------------------------------------------- ingest while users ask


def test_ingest_while_users_ask(settings: Settings, embedder, tmp_path: Path) -> None:
    """Uploads through POST /api/ingest while 3 users ask: no errors, every answer from one version."""
    from rag.web.http_api import create_api

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(seed_excerpt(60), encoding="utf-8")
    settings = settings.with_overrides(admin_password=ADMIN, upload_dir=tmp_path / "uploads")
    ingest_paths([corpus], settings, embedder=embedder, progress=False)
    qa = _qa(settings, embedder)
    versions = [index_version(settings.store_dir)]
    questions = [*TARGETED, *dev_questions()[:8]]
    # 3 users with a little think time: enough overlap with the ingest, without starving it of CPU.
    with serve(create_api(qa)) as url, asking(url, 3, questions, pause=0.2) as users:
        time.sleep(1.0)
        reports = []
        for name, text in (("new.txt", NEW_SPEECH), ("edited.txt", edited_seed_speech())):
            response = httpx.post(
                f"{url}/api/ingest",
                headers={"X-Admin-Password": ADMIN},
                files=[("files", (name, text.encode("utf-8"), "text/plain"))],
                timeout=300,
            )
            assert response.status_code == 200, response.text
            reports.append(response.json())
            versions.append(index_version(settings.store_dir))
        time.sleep(1.0)
    replies = users.replies
    assert replies and all(r.ok for r in replies), [r.error for r in replies if not r.ok][:3]
    assert reports[0]["chunks_added"] > 0 and reports[0]["chunks_removed"] == 0
    assert set(versions[0]) < set(versions[1])  # the new speech only adds
    assert set(versions[1]) - set(versions[2]) and set(versions[2]) - set(versions[1])  # the edit swaps
    checked = consistency(replies, versions)
    assert checked["inconsistent"] == 0, checked["samples"]
    during = [r for r in replies if r.ended > replies[0].started + 1.0]
    print(f"\n[faults] {len(replies)} answers ({len(during)} during the ingest); by version {checked}")
    # The store and the keyword index end up holding exactly the last version.
    assert set(qa.store.metadata_by_id()) == set(versions[-1])
    assert KeywordIndex.beside(settings.store_dir).ids() == set(versions[-1])


# ---------------------------------------------------------------- kill -9 at other points


@pytest.fixture(scope="module")
def crash_corpus(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, embedder
) -> tuple[Path, IndexState]:
    """A small two-file corpus and the state of a clean build of it."""
    base = tmp_path_factory.mktemp("crash")
    corpus = write_corpus(base / "in", 40, edit=(0, 40))
    clean = Settings(store_dir=base / "clean", data_dir=corpus, model_cache=model_cache)
    ingest_paths([corpus], clean, embedder=embedder, progress=False)
    return corpus, read_state(clean)


@pytest.mark.parametrize("point", failpoints.POINTS)
def test_a_kill_at_another_point_is_repaired(
    point: str, settings: Settings, embedder, tmp_path: Path, crash_corpus: tuple[Path, IndexState]
) -> None:
    """The existing crash test kills after the first batch; these die (SIGKILL, sent by the ingest
    to itself at a named failpoint, so the place is certain) once the manifest is marked dirty
    with nothing written, once every vector is written but nothing deleted or indexed by keyword,
    and once the keyword index is synced but the manifest not yet saved clean."""
    corpus, clean = crash_corpus
    proc = start_ingest([corpus], settings, tmp_path / "ingest.log", failpoint=point)
    assert proc.wait(timeout=240) == -signal.SIGKILL, "the ingest did not die at the failpoint"
    left = read_state(settings)
    assert left.dirty is True
    expected_rows = 0 if point == failpoints.STORE_MARKED_DIRTY else len(clean.chroma)
    assert left.chroma_rows == expected_rows
    expected_keywords = set(clean.chroma) if point == failpoints.KEYWORDS_SYNCED else set()
    assert left.keyword_ids == expected_keywords
    print(f"\n[faults] killed at {point}: {phase_of(left, clean)}")

    repaired = ingest_paths([corpus], settings, embedder=embedder, progress=False)
    assert repaired.errors == ()
    assert problems(read_state(settings), clean) == []


# ---------------------------------------------------------------- a Chroma server that dies


def test_a_lost_chroma_server_is_a_clear_503_and_the_app_recovers(
    settings: Settings, embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    import ingest.index.store
    from app import build_app

    monkeypatch.setattr(ingest.index.store, "CHROMA_HTTP_TIMEOUT", httpx.Timeout(3.0, connect=2.0))
    port = free_port()
    chroma = chroma_command(tmp_path / "server", port)
    remote = settings.with_overrides(chroma_host="127.0.0.1", chroma_port=port)
    speech = tmp_path / "s.txt"
    speech.write_text(seed_excerpt(60), encoding="utf-8")
    question = {"question": "用哪三个铁来抓安全?"}

    def ask_ok(http: httpx.Client) -> None:
        answer = http.post("/api/ask", json=question)
        assert answer.status_code == 200, answer.text
        assert answer.json()["citations"]
        assert http.get("/api/health").json()["index"] is True

    def ask_down(http: httpx.Client, within: float) -> str:
        began = time.monotonic()
        answer = http.post("/api/ask", json=question)
        took = time.monotonic() - began
        assert answer.status_code == 503 and took < within, (answer.status_code, took)
        message = answer.json()["error"]
        assert message.startswith("向量库暂时不可用") and f"127.0.0.1:{port}" in message
        assert "Traceback" not in answer.text
        return message

    with (
        serve(build_app(remote, _qa(remote, embedder))) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        with running(chroma, port, log=tmp_path / "chroma-1.log") as server:
            ingest_paths([speech], remote, embedder=embedder, progress=False)
            ask_ok(http)
            gradio = Client(url, verbose=False)
            text, _ = gradio.predict(question["question"], api_name="/ask")
            assert text

            # A hung server (stopped, not gone): the answer still comes, as a 503, within the timeout.
            os.kill(server.pid, signal.SIGSTOP)
            try:
                ask_down(http, within=10)
            finally:
                os.kill(server.pid, signal.SIGCONT)
            ask_ok(http)

        # The server is gone: a clear 503 at once, on the REST, OpenAI and Gradio routes alike.
        message = ask_down(http, within=5)
        health = http.get("/api/health")
        assert health.status_code == 503
        assert health.json()["store"] == "unavailable" and health.json()["error"] == message
        chat = http.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": question["question"]}]}
        )
        assert chat.status_code == 503, chat.text
        assert chat.json()["error"]["message"].startswith("向量库暂时不可用")
        with pytest.raises(AppError, match="向量库暂时不可用"):
            gradio.predict(question["question"], api_name="/ask")

        # Back on the same port and path: answers again, without restarting the app.
        with running(chroma, port, log=tmp_path / "chroma-2.log"):
            ask_ok(http)
            text, _ = gradio.predict(question["question"], api_name="/ask")
            assert text
        gradio.close()
