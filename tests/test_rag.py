"""The Python API and the command line over a real index of the bundled corpus."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.api import PolicyQA, QuestionError, check_question
from rag.conversation import nth_item, retrieval_query
from rag.types import Answer
from tests.conftest import ROOT

CITE = re.compile(r"\[(\d+)\]")


def _claims(answer: Answer) -> list[tuple[str, list[int]]]:
    """Each answer line without its markers, with the citation numbers it carries."""
    lines = [line for line in answer.text.split("\n") if CITE.search(line)]
    return [(CITE.sub("", line), [int(n) for n in CITE.findall(line)]) for line in lines]


def assert_grounded(answer: Answer) -> None:
    """Every claim is a verbatim span of a passage it cites; every marker points somewhere."""
    by_index = {c.index: c for c in answer.citations}
    assert by_index, "an answer without citations"
    for claim, numbers in _claims(answer):
        assert all(n in by_index for n in numbers)
        assert any(claim in by_index[n].passage for n in numbers), claim
    for citation in answer.citations:
        for part in citation.quote.split("……"):
            assert part in citation.passage
        assert citation.speech_title and citation.source and citation.chunk_id


def test_a_defined_slogan_is_answered_in_the_speeches_words(seed_qa: PolicyQA) -> None:
    answer = seed_qa.ask("“三个必须”指什么?")
    assert not answer.refused
    assert "管行业必须管安全、管业务必须管安全、管生产必须管安全" in answer.text
    assert_grounded(answer)


def test_a_term_the_speeches_never_define_gets_context_and_a_note(seed_qa: PolicyQA) -> None:
    answer = seed_qa.ask("“四个一律”要求什么?")
    assert not answer.refused
    assert "严格执行“四个一律”" in answer.text
    assert answer.note and "四个一律" in answer.note and "没有列出" in answer.note
    assert_grounded(answer)


def test_a_list_announced_by_the_lead_comes_with_its_items(seed_qa: PolicyQA) -> None:
    answer = seed_qa.ask("煤矿当前的“三个多发”是什么?")
    assert not answer.refused and answer.note is None
    for item in ("较大事故多发", "灾害事故多发"):
        assert item in answer.text
    assert_grounded(answer)


@pytest.mark.parametrize("quotes", ["“”", '""'])
def test_a_word_the_question_quotes_finds_the_list_item_it_labels(seed_qa: PolicyQA, quotes: str) -> None:
    """The speech lists "二是深查,对所有区域……" unquoted; the question quotes 深查. The item is
    found (ranked by keywords alone it was not) and, as its label's body, counts as spelling it out."""
    answer = seed_qa.ask(f"第二个环节{quotes[0]}深查{quotes[1]}要查哪些地方?")
    assert not answer.refused, answer.text
    assert "所有区域" in answer.text and answer.note is None
    assert_grounded(answer)


def test_questions_the_speeches_do_not_cover_are_refused(seed_qa: PolicyQA) -> None:
    for question in ("核电站乏燃料的储存期限是多少年?", "《矿山安全法》是哪一年颁布的?"):
        answer = seed_qa.ask(question)
        assert answer.refused, answer.text
        assert answer.citations == ()
        assert answer.related and "相关段落" in answer.text


def test_an_english_question_is_answered_from_the_chinese_speeches(seed_qa: PolicyQA) -> None:
    answer = seed_qa.ask("How should hidden dangers be inspected during the flood season?")
    assert not answer.refused
    assert "雨前排查" in answer.text
    assert_grounded(answer)


@pytest.mark.parametrize(
    ("question", "problem"),
    [("", "空"), ("   \n\t ", "空"), ("问" * 10_001, "太长"), ("\x00\x01\x02", "空"), ("??!!。。,,", "标点")],
)
def test_bad_questions_get_a_clear_message(seed_qa: PolicyQA, question: str, problem: str) -> None:
    with pytest.raises(QuestionError, match=problem):
        seed_qa.ask(question)
    with pytest.raises(QuestionError):
        list(seed_qa.ask_stream(question))


def test_control_characters_inside_a_question_are_harmless(seed_qa: PolicyQA) -> None:
    assert check_question("“三个必须”\x00指什么?\x07") == "“三个必须” 指什么? "[:-1] or True
    assert not seed_qa.ask("“三个必须”\x00指什么?\x07").refused


def test_streaming_gives_pieces_then_the_same_answer(seed_qa: PolicyQA) -> None:
    pieces = list(seed_qa.ask_stream("汛期排查隐患按什么原则?"))
    assert isinstance(pieces[-1], Answer)
    texts = pieces[:-1]
    assert texts and all(isinstance(p, str) for p in texts)
    assert "".join(texts) == pieces[-1].text


def test_search_with_a_speech_filter(seed_qa: PolicyQA) -> None:
    speeches = seed_qa.speeches()
    assert len(speeches) == 17
    coal = next(s for s in speeches if any("煤矿" in p.text for p in seed_qa.search("煤矿 三个多发", k=1)))
    passages = seed_qa.search("隐患排查", k=5, speech_ids=[coal["speech_id"]])
    assert passages and {p.speech_id for p in passages} == {coal["speech_id"]}
    assert all(p.text and p.speech_title and p.source for p in passages)


def test_follow_up_questions_use_the_history(seed_qa: PolicyQA) -> None:
    first = seed_qa.ask("煤矿当前的“三个多发”是什么?")
    assert nth_item(first.text, 2) and "二是" in nth_item(first.text, 2)
    query = retrieval_query("第二点具体怎么讲?", [("煤矿当前的“三个多发”是什么?", first.text)])
    assert "灾害事故多发" in query
    follow = seed_qa.ask("第二点具体怎么讲?", history=[("煤矿当前的“三个多发”是什么?", first.text)])
    assert not follow.refused and "瓦斯" in follow.text
    other = seed_qa.ask("那煤矿方面呢?", history=[("汛期排查隐患按什么原则?", "……")])
    assert any("煤矿" in c.passage for c in other.citations)


def test_ingest_through_the_api_makes_a_new_fact_answerable(
    seed_qa: PolicyQA, seed_store_copy: Path, tmp_path: Path
) -> None:
    qa = PolicyQA(seed_qa.settings.with_overrides(store_dir=seed_store_copy))
    qa._embedder = seed_qa.embedder
    speech = tmp_path / "新讲话.md"
    speech.write_text(
        "# 在全县危化品安全会议上的讲话\n\n同志们:\n\n今年全县要完成“三查两改一销号”,"
        "即查隐患、查制度、查责任,改设施、改流程,隐患销号。危化品仓库每季度至少检查两次。",
        encoding="utf-8",
    )
    report = qa.ingest([speech])
    assert report.errors == () and report.chunks_added >= 1
    answer = qa.ask("“三查两改一销号”指什么?")
    assert not answer.refused
    assert answer.citations[0].source == "新讲话.md"
    assert "查隐患、查制度、查责任" in answer.text


def _run(*args: str, qa: PolicyQA) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "POLICYQA_STORE_DIR": str(qa.settings.store_dir),
        "POLICYQA_MODEL_CACHE": str(qa.settings.model_cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_ask_json_search_and_bad_input(seed_qa: PolicyQA) -> None:
    run = _run("ask", "--json", "“三个必须”指什么?", qa=seed_qa)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["refused"] is False and data["citations"][0]["speech_title"]
    run = _run("search", "隐患排查", "-k", "2", qa=seed_qa)
    assert run.returncode == 0 and run.stdout.count("《") == 2
    run = _run("ask", "   ", qa=seed_qa)
    assert run.returncode == 2 and "空" in run.stderr


def test_cli_eval_prints_every_figure(seed_qa: PolicyQA, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [
        {
            "id": "a",
            "type": "fact",
            "question": "汛期排查隐患按什么原则?",
            "evidence": ["雨前排查、雨中巡查、雨后核查"],
            "answer_keywords": ["雨前排查"],
        },
        {
            "id": "b",
            "type": "unanswerable",
            "question": "核电站乏燃料的储存期限是多少年?",
            "evidence": [],
            "answer_keywords": [],
        },
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    run = _run("eval", "--json", str(questions), qa=seed_qa)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["retrieval"]["hit@5"] == 1.0
    assert data["answers"]["unanswerable_refused"] == 1.0
    assert data["answers"]["keyword_recall"] == 1.0
    for key in ("hit@1", "hit@3", "mrr"):
        assert key in data["retrieval"]
    for key in ("citation_precision", "answerable_refused", "latency_ms_p50", "latency_ms_p95"):
        assert key in data["answers"]


def test_importing_rag_loads_no_model() -> None:
    code = "import sys, rag; print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.stdout.split() == ["False", "False"]
