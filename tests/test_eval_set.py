"""The evaluation set under eval/ is sound: gold evidence is in its speech, ids unique, split clean.

Fast: no index, no model; it only decodes the speech files (GBK .txt, .docx, .pdf, .html, .txt).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.build_questions import ANSWERABLE_TYPES, collect, corpus_files, decoded, loose, problems, split

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (EVAL / name).read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return _rows("questions.jsonl")


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): decoded(p) for p in corpus_files()}


def test_every_evidence_string_is_in_its_source(questions, texts):
    for row in questions:
        if row["type"] == "unanswerable":
            assert row["evidence"] == [] and row["answer_keywords"] == []
            continue
        text = texts[row["source"]]
        assert row["evidence"], row["id"]
        for evidence in row["evidence"]:
            assert evidence in text, (row["id"], evidence)
        for keyword in row["answer_keywords"]:
            assert any(keyword in e for e in row["evidence"]), (row["id"], keyword)


def test_off_corpus_facts_are_nowhere_in_the_corpus(questions, texts):
    everything = loose("\n".join(texts.values()))
    off = [r for r in questions if r["type"] in ("unanswerable", "partial")]
    assert all(r.get("absent") for r in off)
    for row in off:
        for fact in row["absent"]:
            assert loose(fact) not in everything, (row["id"], fact)


def test_ids_unique_and_the_file_matches_its_sources(questions):
    assert len({r["id"] for r in questions}) == len(questions)
    assert collect() == questions, "eval/questions.jsonl is stale: run eval/build_questions.py"


def test_split_is_disjoint_covering_and_reproducible(questions):
    calibration, test = _rows("calibration.jsonl"), _rows("test.jsonl")
    cal_ids, test_ids = {r["id"] for r in calibration}, {r["id"] for r in test}
    assert not cal_ids & test_ids
    assert cal_ids | test_ids == {r["id"] for r in questions}
    assert abs(len(calibration) - len(test)) <= 2
    again_cal, again_test = split(questions)
    assert [r["id"] for r in again_cal] == [r["id"] for r in calibration]
    assert [r["id"] for r in again_test] == [r["id"] for r in test]
    for part in (calibration, test):  # every type in both parts
        assert {r["type"] for r in part} == {r["type"] for r in questions}


def test_counts_meet_the_minimums(questions):
    by_type = Counter(r["type"] for r in questions)
    answerable = [r for r in questions if r["type"] in ANSWERABLE_TYPES]
    assert len(answerable) >= 250
    assert by_type["unanswerable"] >= 100
    assert by_type["partial"] >= 10
    by_source = Counter(r["source"] for r in answerable)
    assert by_source["data/000_6f579f50373472dc.txt"] >= 80
    speeches = sorted(str(p.relative_to(ROOT)) for p in (EVAL / "speeches").iterdir())
    assert len(speeches) >= 6
    for source in speeches:
        kinds = {r["type"] for r in answerable if r["source"] == source}
        assert kinds == set(ANSWERABLE_TYPES), (source, set(ANSWERABLE_TYPES) - kinds)
    assert all(r.get("history") for r in questions if r["type"] == "followup")


def test_speeches_come_in_every_format_and_are_full_length(texts):
    suffixes = Counter(Path(s).suffix for s in texts)
    assert {".txt", ".docx", ".pdf", ".html"} <= set(suffixes)
    assert any(Path(s).name.endswith("_gbk.txt") for s in texts)
    for source, text in texts.items():
        if source.startswith("eval/"):
            assert 1500 <= len(text) <= 3000, source
            assert "同志们：" in text and "（一）" in text and "一是" in text, source


def test_the_set_is_sound():
    assert problems(collect()) == []


def test_dev_copy_is_in_the_repo():
    assert len(_rows("dev.jsonl")) >= 30


def test_probe_sets_are_sound(texts):
    """The probe sets (eval/probe.py): each gold is in a corpus file, no probe repeats a split or
    dev question, and the scorer counts what it says."""
    from eval.probe import PROBES, Probe, load_probes, score

    corpus = "".join("".join(t.split()) for t in texts.values())
    asked = {r["question"] for r in _rows("questions.jsonl") + _rows("dev.jsonl")}
    probes = [p for path in sorted(PROBES.glob("*.tsv")) for p in load_probes(path)]
    assert len(probes) >= 200 and len({p.question for p in probes}) == len(probes)
    assert not asked & {p.question for p in probes}
    for probe in probes:
        if probe.kind == "A":
            assert "".join(probe.gold.split()) in corpus, probe.question
    sample = [Probe("A", "q1", "甲 乙"), Probe("A", "q2", "丙"), Probe("U", "q3", "-")]
    answers = {"q1": (False, "……甲乙……[1]"), "q2": (True, ""), "q3": (False, "丙")}
    scores = score(sample, lambda q: answers[q])
    assert (scores.gold_quoted, scores.answerable_refused, scores.off_corpus_refused) == (1, 1, 0)


@pytest.mark.parametrize("group", ["a", "b", "c", "d", "e", "f", "g"])
def test_the_unseen_groups_are_sound(group: str) -> None:
    """eval/unseen/: speeches and questions written after the rules, each group asked of the seed
    plus its own speeches only (an off-corpus question of one group may be answered by another's)."""
    rows = _rows(f"unseen/{group}.jsonl")
    texts = {str(p.relative_to(ROOT)): decoded(p) for p in sorted((EVAL / "unseen" / group).iterdir())}
    assert len({r["id"] for r in rows}) == len(rows)
    answerable = [r for r in rows if r["type"] != "unanswerable"]
    assert len(answerable) >= 40 and len(rows) - len(answerable) >= 30
    for row in answerable:
        assert row["evidence"] and row["answer_keywords"], row["id"]
        for evidence in row["evidence"]:
            assert evidence in texts[row["source"]], (row["id"], evidence)
        for keyword in row["answer_keywords"]:
            assert any(keyword in e for e in row["evidence"]), (row["id"], keyword)


def test_the_unseen_table_shows_totals_and_types_only(capsys: pytest.CaptureFixture[str]) -> None:
    """eval/unseen.py prints one row per group from `rag eval --json`: totals and recall by type,
    never a question (a held-out group stays held out); an unknown group is refused by name."""
    from eval import unseen

    assert sorted(p.stem for p in (EVAL / "unseen").glob("*.jsonl")) == unseen.GROUPS and "g" in unseen.GROUPS
    figures = {
        "retrieval": {"mrr": 0.9, "hit@5": 1.0},
        "answers": {
            "unanswerable_refused": 0.8,
            "answerable_refused": 0.025,
            "keyword_recall": 0.85,
            "citation_precision": 0.75,
            "by_type": {"term": {"keyword_recall": 1.0}, "why": {"keyword_recall": 0.5}},
            "failures": [{"id": "fx-001", "problem": "refused"}],
        },
    }
    line = unseen.row("x", figures)
    assert line == "| x | 0.800 | 0.025 | 0.850 | 0.750 | 0.900 / 1.000 | 1.000 | - | - | - | 0.500 | - | - |"
    assert "fx-001" not in line
    with pytest.raises(SystemExit):
        unseen.main(["zz"])
    assert "no such group: zz" in capsys.readouterr().err


def test_the_gate_probe_counts_each_rule_on_answered_questions_only() -> None:
    """eval/gate_probe.py's table: for each rule, how many answered off-corpus questions it would
    refuse and how many answerable ones with them; totals only, no question text."""
    from eval.gate_probe import Probe, cut_table

    probes = [
        Probe(True, 0.87, ("骑手",), 51, 0.008, None),
        Probe(True, 0.90, (), 0, -0.01, None),
        Probe(False, 0.884, ("山火",), 19, 0.002, None),
        Probe(False, 0.95, (), 0, float("-inf"), None),
    ]
    table = cut_table(probes)
    assert table[0] == "answered: 2 off-corpus, 2 answerable"
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table[3:]}
    assert rows["vouch < 0.885"] == "| vouch < 0.885 | 1 of 2 | 1 of 2 |"
    assert rows["names an unknown noun"] == "| names an unknown noun | 1 of 2 | 1 of 2 |"
    assert rows["unknown nouns all rare (jieba freq < 20)"].endswith("| 0 of 2 | 1 of 2 |")
    assert rows["counterfactual gain > 0.005"].endswith("| 1 of 2 | 0 of 2 |")
    assert not any("llm" in line for line in table)  # no judge asked, no row for it
    judged = cut_table([Probe(True, 0.9, (), 0, 0.0, True), Probe(False, 0.9, (), 0, 0.0, False)])
    assert judged[-1] == "| llm says 不能 | 1 of 1 | 0 of 1 |"
    assert not any("骑手" in line or "山火" in line for line in table)
