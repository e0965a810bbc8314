"""The documentation runs: every ```python block in docs/api.md and in the README's "### Python
API" section, in order and in one namespace per page, against a copy of the session's index of
the bundled corpus — so an example that drifts from the code fails here. Also: the public API is
typed and says what each part is for.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.api import PolicyQA
from tests.conftest import ROOT
from tests.test_langchain_api import small_model_server

API_DOC = ROOT / "docs" / "api.md"
README = ROOT / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```\s*$", re.S | re.M)


NEW_SPEECH = (
    "在全区防汛安全工作会议上的讲话",
    "同志们:",
    "今天召开全区防汛安全工作会议,主要任务是部署今年汛期的防汛安全工作。",
    "一、压实防汛责任",
    "各街道要落实防汛“三个到位”:责任到位、人员到位、物资到位,主要负责同志要靠前指挥。",
    "二、加强隐患排查",
    "对低洼易涝点、地下车库和在建工地逐一排查,发现问题当天整改,整改不了的要设置警示标志。",
)


def python_blocks(text: str, first_line: int = 1) -> list[tuple[int, str]]:
    """(line of the block's first code line in the file, code) for each ```python block."""
    return [
        (first_line + text[: match.start(1)].count("\n"), match.group(1)) for match in FENCE.finditer(text)
    ]


def readme_python_api() -> tuple[int, str]:
    """The README's "### Python API" section, up to the next heading of its level or above."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n### Python API\n") + 1
    body = text.index("\n", start) + 1
    following = re.search(r"^#{1,3} ", text[body:], re.M)
    end = body + following.start() if following else len(text)
    return text[:start].count("\n") + 1, text[start:end]


def run_blocks(path: Path, blocks: list[tuple[int, str]]) -> dict[str, Any]:
    """Run the blocks one after another in one namespace, as a reader would paste them; a
    traceback names the file and its real line numbers."""
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for line, code in blocks:
        exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)
    return namespace


@pytest.fixture
def docs_env(
    seed_store_copy: Path, model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """What the pages assume: an index where POLICYQA_STORE_DIR says, extractive answers, and a
    folder of one's own to write example files in."""
    for name in ("POLICYQA_LLM", "POLICYQA_LLM_MODEL", "POLICYQA_RERANKER", "POLICYQA_CHROMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLICYQA_STORE_DIR", str(seed_store_copy))
    monkeypatch.setenv("POLICYQA_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def served_model(model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with small_model_server(model_cache, tmp_path / "llama-server.log") as base_url:
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        yield base_url


def test_the_readme_python_api_examples_run(docs_env: Path) -> None:
    import docx

    first_line, section = readme_python_api()
    blocks = python_blocks(section, first_line)
    assert len(blocks) >= 2
    # the file the example ingests: a small speech the index does not hold yet
    document = docx.Document()
    for paragraph in NEW_SPEECH:
        document.add_paragraph(paragraph)
    document.save(docs_env / "new_speech.docx")

    namespace = run_blocks(README, blocks)
    assert namespace["report"].chunks_added > 0 and not namespace["report"].errors
    assert namespace["docs"] and namespace["vector"]
    assert isinstance(namespace["qa"], PolicyQA)


@pytest.mark.slow
def test_the_api_reference_examples_run(docs_env: Path, served_model: str) -> None:
    blocks = python_blocks(API_DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 15
    namespace = run_blocks(API_DOC, blocks)
    assert namespace["report"].chunks_added == 0  # the last example ran, to its end
    assert (docs_env / "winter.txt").is_file()


def test_the_public_api_is_typed_and_documented() -> None:
    from rag import langchain_api

    classes = [PolicyQA, langchain_api.PolicyQARetriever, langchain_api.PolicyQARunnable]
    classes.append(langchain_api.PolicyQAEmbeddings)
    missing: list[str] = []
    for cls in classes:
        assert cls.__doc__, cls
        for name, member in vars(cls).items():
            if name.startswith("_") and name != "__init__":
                continue
            function = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
            if not inspect.isfunction(function):
                continue
            if name != "__init__" and not function.__doc__:
                missing.append(f"{cls.__name__}.{name}: docstring")
            signature = inspect.signature(function)
            for parameter in list(signature.parameters.values())[1:]:  # after self / cls
                if parameter.annotation is inspect.Parameter.empty:
                    missing.append(f"{cls.__name__}.{name}({parameter.name}): annotation")
            if signature.return_annotation is inspect.Signature.empty:
                missing.append(f"{cls.__name__}.{name}: return annotation")
    assert missing == []
    for package in ("rag", "ingest"):
        assert (ROOT / package / "py.typed").is_file()
