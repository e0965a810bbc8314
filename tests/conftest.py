"""Shared fixtures: the real embedding model (built offline once per session) and fresh stores."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests never reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "data" / "000_6f579f50373472dc.txt"


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """One model cache for the whole run (and its subprocesses): the e5 build happens once."""
    path = Path(os.environ.get("POLICYQA_TEST_MODEL_CACHE", ROOT / ".policyqa" / "test-models"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> Iterator[object]:
    from ingest.index.embedding import Embedder
    from rag.config import DEFAULT_EMBEDDING_MODEL

    yield Embedder(DEFAULT_EMBEDDING_MODEL, model_cache)


@pytest.fixture
def settings(tmp_path: Path, model_cache: Path):
    from rag.config import Settings

    return Settings(store_dir=tmp_path / "store", data_dir=tmp_path / "data", model_cache=model_cache)


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def seed_excerpt(lines: int = 60) -> str:
    """The first speeches of the seed page: a small real corpus for fast ingest tests."""
    return "\n".join(SEED.read_text(encoding="utf-8").split("\n")[:lines])


@pytest.fixture(scope="session")
def seed_store_dir(tmp_path_factory: pytest.TempPathFactory, model_cache: Path, embedder) -> Path:
    """An index of the bundled corpus, built once per session. Copy it before writing to it
    from another process (see seed_store_copy)."""
    from ingest.pipeline import ingest_paths
    from rag.config import Settings

    store = tmp_path_factory.mktemp("seed-store")
    settings = Settings(store_dir=store, data_dir=SEED.parent, model_cache=model_cache)
    ingest_paths([SEED], settings, embedder=embedder, progress=False)
    return store


@pytest.fixture
def seed_store_copy(seed_store_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the seed index, for a server process that may write to it."""
    target = tmp_path / "store"
    shutil.copytree(seed_store_dir, target)
    return target


@pytest.fixture(scope="session")
def seed_qa(seed_store_dir: Path, model_cache: Path, embedder):
    """A PolicyQA over the session's seed index, sharing the session's loaded model."""
    from rag.api import PolicyQA
    from rag.config import Settings

    qa = PolicyQA(Settings(store_dir=seed_store_dir, data_dir=SEED.parent, model_cache=model_cache))
    qa._embedder = embedder
    return qa


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    """A real `chroma run` server on 127.0.0.1, for the HttpClient path."""
    from tests.servers import chroma_command, free_port, running

    port = free_port()
    with running(chroma_command(tmp_path / "server", port), port):
        yield port
