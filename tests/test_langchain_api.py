"""The Python API for other tools: LangChain adapters (retriever, runnable, embeddings), the
async methods, and the package as another project installs it.

Everything runs for real: the session's Chroma index of the bundled corpus, the offline e5
model, and for the chains the bundled small Qwen behind llama-cpp-python's OpenAI-compatible
server, reached through langchain-openai as any LangChain user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from rag.api import PolicyQA, QuestionError
from rag.config import Settings
from rag.langchain_api import PolicyQAEmbeddings, PolicyQARetriever, PolicyQARunnable
from rag.types import Answer, Passage
from tests.conftest import ROOT, SEED, seed_excerpt
from tests.servers import free_port, running, wait_for_http

DEV = Path(__file__).resolve().parent.parent / "eval" / "dev.jsonl"  # the dev set, kept in the repo
SMALL_MODEL = "qwen2.5-coder-0.5b"
MODEL_ALIAS = "qwen-small"


def dev_questions() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


@contextlib.contextmanager
def small_model_server(model_cache: Path, log: Path) -> Iterator[str]:
    """The bundled small Qwen behind llama-cpp-python's OpenAI server, started as
    tests/test_llm_real.py::test_openai_compatible_server does; yields its /v1 base URL."""
    from rag.llm.bundled import gguf_path

    model = gguf_path(SMALL_MODEL, model_cache)
    port = free_port()
    command = [
        sys.executable,
        *("-m", "rag.llm.server", "--model", str(model), "--model_alias", MODEL_ALIAS),
        *("--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"),
    ]
    # the server imports rag from this checkout, whatever the working directory is
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    with running(command, port, env={"PYTHONPATH": path}, log=log):
        wait_for_http(f"http://127.0.0.1:{port}/v1/models")
        yield f"http://127.0.0.1:{port}/v1"


def same_passage(document: Document, passage: Passage) -> None:
    assert document.id == passage.chunk_id
    assert document.page_content == passage.text
    meta = document.metadata
    assert meta["chunk_id"] == passage.chunk_id
    assert meta["speech_title"] == passage.speech_title and meta["speech_title"]
    assert meta["source"] == passage.source and meta["source"]
    assert meta["heading_path"] == passage.heading_path
    assert meta["speech_id"] == passage.speech_id
    assert meta["score"] == pytest.approx(passage.score)
    json.dumps(meta, ensure_ascii=False)  # plain values: tracers and caches can serialise them


# ------------------------------------------------------------------ retriever


def test_the_retriever_returns_the_passages_of_search_for_every_dev_question(seed_qa: PolicyQA) -> None:
    questions = [q["question"] for q in dev_questions()]
    assert len(questions) >= 30
    retriever = seed_qa.as_retriever(k=5)
    assert isinstance(retriever, BaseRetriever) and isinstance(retriever, PolicyQARetriever)

    expected = [seed_qa.search(q, k=5) for q in questions]
    for question, passages in zip(questions, expected, strict=True):
        documents = retriever.invoke(question)
        assert len(documents) == len(passages) == 5, question
        for document, passage in zip(documents, passages, strict=True):
            same_passage(document, passage)

    async def some_async() -> list[list[Document]]:  # the async path is the same search, in the pool
        return await asyncio.gather(*(retriever.ainvoke(q) for q in questions[:10]))

    for documents, passages in zip(asyncio.run(some_async()), expected[:10], strict=True):
        assert [d.id for d in documents] == [p.chunk_id for p in passages]

    # batch, and k passed through
    three = seed_qa.as_retriever(k=3).batch(questions[:2])
    assert [[d.id for d in docs] for docs in three] == [[p.chunk_id for p in e[:3]] for e in expected[:2]]


def test_the_retriever_keeps_to_the_speeches_and_files_it_is_given(seed_qa: PolicyQA) -> None:
    question = "汛期排查隐患按什么原则?"
    top = seed_qa.search(question, k=1)[0]
    others = [s["speech_id"] for s in seed_qa.speeches() if s["speech_id"] != top.speech_id][:3]
    documents = seed_qa.as_retriever(k=4, speech_ids=others).invoke(question)
    assert documents and {d.metadata["speech_id"] for d in documents} <= set(others)
    assert top.chunk_id not in {d.id for d in documents}
    expected = seed_qa.search(question, k=4, speech_ids=others)
    assert [d.id for d in documents] == [p.chunk_id for p in expected]

    by_file = seed_qa.as_retriever(k=2, sources=[SEED.name]).invoke(question)
    assert [d.metadata["source"] for d in by_file] == [SEED.name, SEED.name]
    assert seed_qa.as_retriever(sources=["no-such-file.docx"]).invoke(question) == []


def test_the_retriever_rejects_a_bad_query_as_search_does(seed_qa: PolicyQA) -> None:
    with pytest.raises(QuestionError):
        seed_qa.as_retriever().invoke("??!!")
    with pytest.raises(ValueError):
        seed_qa.as_retriever(k=0)


# ------------------------------------------------------------------ runnable

QUESTIONS = ("“三个必须”指什么?", "汛期排查隐患按什么原则?", "核电站乏燃料的储存期限是多少年?")


def test_the_runnable_answers_streams_and_batches_as_ask_does(seed_qa: PolicyQA) -> None:
    runnable = seed_qa.as_runnable()
    assert isinstance(runnable, Runnable) and isinstance(runnable, PolicyQARunnable)
    for question in QUESTIONS:
        expected = list(seed_qa.ask_stream(question))
        pieces = list(runnable.stream(question))
        assert pieces == expected, question
        assert len(pieces) > 1 and isinstance(pieces[-1], Answer)
        assert all(isinstance(p, str) for p in pieces[:-1])
        assert runnable.invoke(question) == expected[-1]
    answers = [seed_qa.ask(q) for q in QUESTIONS]
    assert not answers[0].refused and answers[2].refused  # the set covers both kinds
    assert runnable.batch(list(QUESTIONS)) == answers
    assert runnable.batch(list(QUESTIONS), config={"max_concurrency": 1}) == answers


def test_the_runnable_takes_a_conversation(seed_qa: PolicyQA) -> None:
    runnable = seed_qa.as_runnable()
    first = seed_qa.ask("煤矿当前的“三个多发”是什么?")
    history = [("煤矿当前的“三个多发”是什么?", first.text)]
    expected = seed_qa.ask("第二点呢?", history)
    assert expected != seed_qa.ask("第二点呢?")  # the history matters to this question
    assert runnable.invoke({"question": "第二点呢?", "history": history}) == expected
    as_json = {"question": "第二点呢?", "history": [list(turn) for turn in history]}
    assert runnable.invoke(as_json) == expected
    messages = [HumanMessage(history[0][0]), AIMessage(history[0][1])]
    assert runnable.invoke({"question": "第二点呢?", "history": messages}) == expected
    assert list(runnable.stream({"question": "第二点呢?", "history": history})) == list(
        seed_qa.ask_stream("第二点呢?", history)
    )

    with pytest.raises(TypeError, match="question"):
        runnable.invoke({"query": "第二点呢?"})  # type: ignore[typeddict-item]
    with pytest.raises(TypeError):
        runnable.invoke(42)  # type: ignore[arg-type]
    with pytest.raises(QuestionError):
        runnable.invoke("   ")


def test_the_runnable_composes_in_lcel(seed_qa: PolicyQA) -> None:
    question = QUESTIONS[1]
    expected = seed_qa.ask(question)
    quotes = seed_qa.as_runnable() | RunnableLambda(lambda answer: [c.quote for c in answer.citations])
    assert quotes.invoke(question) == [c.quote for c in expected.citations]
    # streamed, the next step gets the final Answer (text pieces cannot be added to it)
    assert list(quotes.stream(question)) == [[c.quote for c in expected.citations]]
    # and a step before it can supply the question
    asked = RunnableLambda(lambda topic: f"{topic}按什么原则?") | seed_qa.as_runnable()
    assert asked.invoke("汛期排查隐患") == expected
    assert json.dumps(seed_qa.as_runnable().get_input_jsonschema(), ensure_ascii=False)


def test_the_runnable_async_calls_give_the_same_answers(seed_qa: PolicyQA) -> None:
    runnable = seed_qa.as_runnable()
    question = QUESTIONS[0]
    expected_pieces = list(seed_qa.ask_stream(question))

    async def calls() -> tuple[Answer, list[str | Answer], list[Answer], list[str | Answer]]:
        answer = await runnable.ainvoke(question)
        pieces = [piece async for piece in runnable.astream(question)]
        batch = await runnable.abatch(list(QUESTIONS))
        direct = [piece async for piece in seed_qa.aask_stream(question)]
        return answer, pieces, batch, direct

    answer, pieces, batch, direct = asyncio.run(calls())
    assert answer == expected_pieces[-1]
    assert pieces == expected_pieces == direct
    assert batch == [seed_qa.ask(q) for q in QUESTIONS]


# ------------------------------------------------------------------ embeddings


def test_the_embeddings_are_the_index_model_with_its_prefixes(seed_qa: PolicyQA) -> None:
    embeddings = seed_qa.as_embeddings()
    assert isinstance(embeddings, PolicyQAEmbeddings)
    assert embeddings.embedder is seed_qa.embedder  # the loaded model is shared, not reloaded
    assert seed_qa.embedder.prefixes == ("query: ", "passage: ")

    question = "汛期排查隐患按什么原则?"
    passage = seed_qa.search(question, k=1)[0]
    stored = seed_qa.store.embeddings([passage.chunk_id])[passage.chunk_id]
    query = np.asarray(embeddings.embed_query(question), dtype=np.float32)
    assert query.shape == stored.shape and abs(float(np.linalg.norm(query)) - 1) < 1e-4
    # the query lands where the index's own search put it: same model, same "query: " prefix
    assert float(query @ stored) == pytest.approx(passage.similarity, abs=1e-4)

    texts = [passage.text, "安全生产"]
    vectors = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    assert np.allclose(vectors, seed_qa.embedder.embed_passages(texts), atol=1e-6)
    # a passage is embedded with "passage: ", a query with "query: " — not the same vector
    assert float(vectors[1] @ np.asarray(embeddings.embed_query("安全生产"))) < 0.999
    assert asyncio.run(embeddings.aembed_query(question)) == pytest.approx(query.tolist(), abs=1e-6)


def test_the_embeddings_work_in_a_langchain_vector_store(seed_qa: PolicyQA) -> None:
    asked = {q: seed_qa.search(q, k=3) for q in QUESTIONS[:2]}
    documents = {p.chunk_id: p.text for passages in asked.values() for p in passages}
    store = InMemoryVectorStore(embedding=seed_qa.as_embeddings())
    store.add_texts(list(documents.values()), ids=list(documents))
    for question, passages in asked.items():
        found = store.similarity_search(question, k=1)
        assert found[0].id in {p.chunk_id for p in passages}, question


def test_embeddings_from_settings_load_the_configured_model(model_cache: Path, embedder: Any) -> None:
    embeddings = PolicyQAEmbeddings.from_settings(Settings(model_cache=model_cache))
    assert embeddings.embedder.name == embedder.name
    assert np.allclose(embeddings.embed_query("安全生产"), embedder.embed_query("安全生产"), atol=1e-5)


# ------------------------------------------------------------------ async PolicyQA


def test_the_async_methods_return_what_the_blocking_ones_do(seed_qa: PolicyQA) -> None:
    async def calls() -> tuple[list[Passage], Answer, list[Passage]]:
        return (
            await seed_qa.asearch(QUESTIONS[1], k=3),
            await seed_qa.aask(QUESTIONS[0]),
            await seed_qa.asearch(QUESTIONS[1], k=3, sources=["elsewhere.txt"]),
        )

    passages, answer, none = asyncio.run(calls())
    assert passages == seed_qa.search(QUESTIONS[1], k=3)
    assert answer == seed_qa.ask(QUESTIONS[0])
    assert none == []
    with pytest.raises(QuestionError):
        asyncio.run(seed_qa.aask(""))


def test_async_calls_run_on_a_bounded_pool(seed_store_dir: Path, model_cache: Path, embedder: Any) -> None:
    qa = PolicyQA(
        Settings(store_dir=seed_store_dir, data_dir=SEED.parent, model_cache=model_cache, async_workers=2)
    )
    qa._embedder = embedder
    questions = [q["question"] for q in dev_questions()[:8]]
    seen: set[threading.Thread] = set()

    def search(question: str) -> list[Passage]:
        seen.add(threading.current_thread())
        return qa.search(question, k=2)

    async def burst() -> list[list[Passage]]:
        return await asyncio.gather(*(qa._in_pool(search, q) for q in questions))

    try:
        results = asyncio.run(burst())
        assert results == [qa.search(q, k=2) for q in questions]
        # eight calls at once, at most two threads — all of them the pool's
        assert 1 <= len(seen) <= 2 and all(t.name.startswith("policyqa-async") for t in seen), seen
        names = [asyncio.run(_thread_of(qa)) for _ in range(3)]
        assert all(name.startswith("policyqa-async") for name in names)
    finally:
        qa.close()
    assert not [t for t in seen if t.is_alive()]  # close() let them go


async def _thread_of(qa: PolicyQA) -> str:
    return await qa._in_pool(lambda: threading.current_thread().name)


def test_aingest_adds_speeches_without_blocking_the_event_loop(
    tmp_path: Path, model_cache: Path, embedder: Any
) -> None:
    speech = tmp_path / "speech.txt"
    speech.write_text(seed_excerpt(48), encoding="utf-8")
    qa = PolicyQA(Settings(store_dir=tmp_path / "store", data_dir=tmp_path, model_cache=model_cache))
    qa._embedder = embedder
    assert not qa.has_index()

    async def ingest_while_ticking() -> tuple[Any, list[float], float, float]:
        ticks: list[float] = []
        stop = asyncio.Event()

        async def tick() -> None:
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.05)
        started = time.monotonic()
        report = await qa.aingest([speech])
        ended = time.monotonic()
        stop.set()
        await ticker
        return report, ticks, started, ended

    try:
        report, ticks, started, ended = asyncio.run(ingest_while_ticking())
        assert report.chunks_added > 0 and report.errors == ()
        during = [t for t in ticks if started <= t <= ended]
        gaps = np.diff([started, *during, ended])
        # the ingest took a while, and the loop kept running all along: had it blocked the loop,
        # no tick would fall inside it and the one gap would be the whole ingest
        assert ended - started > 0.5
        assert len(during) >= 10 and gaps.max() < max(0.5, (ended - started) / 4), (
            ended - started,
            gaps.max(),
        )
        assert qa.has_index()
        found = asyncio.run(qa.asearch("汛期排查隐患按什么原则?", k=1))
        assert found and found[0].source == speech.name
    finally:
        qa.close()


# ------------------------------------------------------------------ chains with a real chat model


@pytest.fixture(scope="module")
def chat_model(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from langchain_openai import ChatOpenAI

    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with small_model_server(model_cache, log) as base_url:
        yield ChatOpenAI(
            model=MODEL_ALIAS, base_url=base_url, api_key="not-needed", temperature=0, max_tokens=96
        )


def context_of(documents: list[Document]) -> str:
    return "\n\n".join(f"[{i}] {d.page_content}" for i, d in enumerate(documents, 1))


@pytest.mark.slow
def test_a_prompt_and_chat_model_chain_answers_from_the_retriever(seed_qa: PolicyQA, chat_model: Any) -> None:
    dev = next(q for q in dev_questions() if q["id"] == "p1-025")  # 汛期排查隐患: 雨前排查、雨中巡查…
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "你是安全生产讲话问答助手。只根据给出的讲话段落回答,用中文,简洁。"),
            ("human", "讲话段落:\n{context}\n\n问题:{question}"),
        ]
    )
    to_prompt = RunnableLambda(lambda x: {"context": context_of(x["documents"]), "question": x["question"]})
    chain = RunnableParallel(documents=seed_qa.as_retriever(k=3), question=RunnablePassthrough()).assign(
        answer=to_prompt | prompt | chat_model | StrOutputParser()
    )
    result = chain.invoke(dev["question"])
    # the passage that answers it reached the model …
    assert any(dev["evidence"][0][:30] in d.page_content for d in result["documents"])
    # … and the model answered from it
    said = [k for k in dev["answer_keywords"] if k in result["answer"]]
    assert len(said) >= 2, result["answer"]


@pytest.mark.slow
def test_the_answer_runnable_feeds_a_prompt_and_chat_model(seed_qa: PolicyQA, chat_model: Any) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [
            (
                "human",
                "下面是一个问题和从讲话中摘出的回答。请用一句话概括回答的要点。\n问题:{question}\n回答:{answer}",
            )
        ]
    )
    seen: list[Answer] = []

    def prompt_inputs(answer: Answer) -> dict[str, str]:
        seen.append(answer)
        return {"question": answer.question, "answer": answer.text}

    chain = seed_qa.as_runnable() | RunnableLambda(prompt_inputs) | prompt | chat_model | StrOutputParser()
    question = "汛期排查隐患按什么原则?"
    chunks = list(chain.stream(question))
    assert seen == [seed_qa.ask(question)]  # the model was given our Answer …
    assert len(chunks) > 1  # … and its reply streamed through the chain
    assert "雨前排查" in "".join(chunks)


# ------------------------------------------------------------------ the package


def test_importing_rag_or_ingest_does_not_load_the_langchain_adapters() -> None:
    code = (
        "import sys, rag, rag.api, ingest, ingest.pipeline\n"
        "assert 'rag.langchain_api' not in sys.modules\n"
        "assert not any(m.startswith('langchain_openai') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
    for path in (ROOT / "ingest").rglob("*.py"):
        assert "langchain_api" not in path.read_text(encoding="utf-8"), path


@pytest.mark.slow
@pytest.mark.parametrize("editable", [False, True], ids=["install", "editable"])
def test_pip_install_into_a_fresh_venv_then_import_from_elsewhere(tmp_path: Path, editable: bool) -> None:
    """``pip install .`` (and ``-e .``) into a new venv, then ``from rag import PolicyQA`` from
    another folder. The dependencies are not reinstalled (--no-deps): the new venv sees this
    .venv's site-packages through a .pth file, so the check is about our package metadata alone."""
    import sysconfig

    source = _mkdir(tmp_path / "checkout")  # a copy, so the build's files never land in the working tree
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("rag", "ingest"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    (Path(site) / "_policyqa_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    install = [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index"]
    install += ["-e", str(source)] if editable else [str(source)]
    subprocess.run(install, check=True, env=env, cwd=tmp_path, timeout=300, capture_output=True)

    elsewhere = _mkdir(tmp_path / "another-project")
    code = (
        "import importlib.metadata, json, pathlib, rag, ingest\n"
        "from rag import PolicyQA, Settings\n"
        "from rag.langchain_api import PolicyQARetriever\n"
        "from ingest import ingest_paths\n"
        "import rag.llm.bundled\n"
        "print(json.dumps({'rag': rag.__file__, 'ingest': ingest.__file__,\n"
        "  'version': importlib.metadata.version('policyqa'),\n"
        "  'typed': [(pathlib.Path(m.__file__).parent / 'py.typed').is_file() for m in (rag, ingest)],\n"
        "  'open': PolicyQA.open(store_dir='s').settings.store_dir.name}))\n"
    )
    out = subprocess.run(
        [str(python), "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=elsewhere,
        timeout=300,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    home = source if editable else Path(site)
    assert Path(found["rag"]).is_relative_to(home) and Path(found["ingest"]).is_relative_to(home), found
    assert not Path(found["rag"]).is_relative_to(ROOT)
    assert found["version"] == "0.1.0" and found["typed"] == [True, True] and found["open"] == "s"
    if not editable:  # only the two packages are installed: no tests, bench or app
        installed = {p.name for p in Path(site).iterdir()}
        assert {"rag", "ingest"} <= installed
        assert not installed & {"tests", "bench", "app.py", "data"}


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
