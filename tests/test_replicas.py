"""Replicas over one real `chroma run` server (issue 14): a replica with an empty store dir
answers exactly as the one that ingested, one writer at a time, and a writer killed with
SIGKILL is completed from another store dir into the ids of a clean build."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from bench.users import dev_questions
from ingest import failpoints
from ingest.index.keywords import KeywordIndex
from ingest.index.meta import LEASE, MetaStore
from ingest.index.store import ChunkStore
from ingest.manifest import MANIFEST_NAME, Manifest
from ingest.pipeline import IngestLocked, ingest_paths
from rag.config import Settings
from tests.conftest import SEED
from tests.crashes import start_ingest, write_corpus
from tests.servers import chroma_command, free_port, running

pytestmark = pytest.mark.slow


def _remote(
    tmp_path: Path, name: str, port: int, model_cache: Path, collection: str = "speeches"
) -> Settings:
    return Settings(
        store_dir=tmp_path / name,
        data_dir=SEED.parent,
        model_cache=model_cache,
        chroma_host="127.0.0.1",
        chroma_port=port,
        collection=collection,
    )


def _qa(settings: Settings, embedder: object):
    from rag.api import PolicyQA

    qa = PolicyQA(settings)
    qa._embedder = embedder
    return qa


def _fingerprint(answer) -> tuple:
    return (answer.text, answer.refused, tuple((c.chunk_id, c.quote) for c in answer.citations))


def test_a_replica_with_an_empty_store_dir_answers_as_the_writer(
    tmp_path: Path, chroma_server: int, model_cache: Path, embedder
) -> None:
    a = _remote(tmp_path, "a", chroma_server, model_cache)
    ingest_paths([SEED], a, embedder=embedder, progress=False)
    assert not (a.store_dir / MANIFEST_NAME).exists(), "the manifest belongs on the server"
    b = _remote(tmp_path, "b", chroma_server, model_cache)
    qa_a, qa_b = _qa(a, embedder), _qa(b, embedder)
    assert qa_b.keyword_status() == "rebuilding"  # nothing local yet
    questions = dev_questions()
    differ = [q for q in questions if _fingerprint(qa_a.ask(q)) != _fingerprint(qa_b.ask(q))]
    assert differ == [], f"{len(differ)} of {len(questions)} answers differ: {differ[:3]}"
    assert qa_b.keyword_status() == "ok"
    assert KeywordIndex.beside(b.store_dir).ids() == KeywordIndex.beside(a.store_dir).ids()
    for query in ("四不两直", "三个必须", "安全生产责任制"):
        assert qa_a.keywords.search(query, 10) == qa_b.keywords.search(query, 10)

    # B ingests a file only it has; A (and its keyword cache) follows within the refresh period.
    # Every 安全 changes, body included: a change to the titles alone would leave a copy of a
    # seed speech, which dedupe keeps under whichever path sorts first (/tmp vs the checkout).
    new = tmp_path / "b-only.txt"
    new.write_text(
        "\n".join(SEED.read_text(encoding="utf-8").split("\n")[:40]).replace("安全", "安全“双重预防”"),
        encoding="utf-8",
    )
    report = ingest_paths([new], b, embedder=embedder, progress=False)
    assert report.files_changed == 1 and report.embedded >= 1
    time.sleep(2.1)
    qa_a.refresh()
    assert qa_a.keywords.generation() == MetaStore.open(a).generation()
    assert qa_a.keywords.ids() == set(qa_b.store.metadata_by_id())


def test_a_second_writer_is_refused(tmp_path: Path, chroma_server: int, model_cache: Path, embedder) -> None:
    a = _remote(tmp_path, "a", chroma_server, model_cache)
    folder = write_corpus(tmp_path / "corpus", 40)
    ingest_paths([folder / "a.txt"], a, embedder=embedder, progress=False)
    meta = MetaStore.open(a)
    # Another machine's writer holds the lease (written as that writer would).
    meta._put(
        [LEASE],
        [""],
        [
            {
                "kind": "lease",
                "owner": "other-host:1:x",
                "host": "other-host",
                "pid": 1,
                "what": "ingest",
                "expires": time.time() + 60,
            }
        ],
    )
    b = _remote(tmp_path, "b", chroma_server, model_cache)
    with pytest.raises(IngestLocked, match="another ingest is writing to the Chroma server"):
        ingest_paths([folder], b, embedder=embedder, progress=False)
    meta.delete([LEASE])
    assert ingest_paths([folder], b, embedder=embedder, progress=False).files_changed == 1
    assert meta.lease() is None, "the lease is released after a run"


def test_a_writer_killed_mid_ingest_is_completed_from_another_store_dir(
    tmp_path: Path, chroma_server: int, model_cache: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYQA_CHROMA_HOST", "127.0.0.1")  # for the `python -m ingest` child
    monkeypatch.setenv("POLICYQA_CHROMA_PORT", str(chroma_server))
    folder = write_corpus(tmp_path / "corpus", 200)
    a = _remote(tmp_path, "a", chroma_server, model_cache)
    # SIGKILL at a fixed point (every vector written, nothing deleted, keywords and manifest not
    # finished): deterministic, where killing on the progress bar raced a fast ingest.
    proc = start_ingest([folder], a, tmp_path / "ingest.log", failpoint=failpoints.VECTORS_WRITTEN)
    assert proc.wait(timeout=600) == -signal.SIGKILL, (tmp_path / "ingest.log").read_text()[-2000:]
    meta = MetaStore.open(a)
    assert Manifest.load_meta(a.store_dir, meta).dirty
    held = meta.lease()
    assert held and held["host"] == socket.gethostname()  # the dead writer's lease is still there

    b = _remote(tmp_path, "b", chroma_server, model_cache)
    ingest_paths([folder], b, embedder=embedder, progress=False)  # a dead local writer's lease is free
    clean = _remote(tmp_path, "clean", chroma_server, model_cache, collection="clean")
    ingest_paths([folder], clean, embedder=embedder, progress=False)

    repaired = ChunkStore.open(b, b.embedding_model, create=False).metadata_by_id()
    built = ChunkStore.open(clean, clean.embedding_model, create=False).metadata_by_id()
    assert set(repaired) == set(built), "duplicates or orphans after the repair"
    assert repaired == built
    manifest = Manifest.load_meta(b.store_dir, MetaStore.open(b))
    assert not manifest.dirty and manifest.chunk_ids() == set(built)
    assert KeywordIndex.beside(b.store_dir).ids() == set(built)


def test_chroma_down_is_a_503_and_a_replica_started_meanwhile_recovers(
    tmp_path: Path, model_cache: Path, embedder
) -> None:
    from ingest.index.store import StoreUnavailable

    port = free_port()
    b = _remote(tmp_path, "b", port, model_cache)
    qa = _qa(b, embedder)  # started while the server is down
    with pytest.raises(StoreUnavailable):
        qa.ask("安全生产工作要做到哪些?")
    command = chroma_command(tmp_path / "server", port)
    with running(command, port):
        a = _remote(tmp_path, "a", port, model_cache)
        ingest_paths([write_corpus(tmp_path / "corpus", 40) / "a.txt"], a, embedder=embedder, progress=False)
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = qa.ask("安全生产工作要做到哪些?")
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert answer.text and qa.keyword_status() == "ok"
