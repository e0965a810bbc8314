"""Evaluation on questions with gold evidence (the format of eval/dev.jsonl).

A retrieved passage is a hit when it contains one of the question's evidence
strings (whitespace ignored). Answers are judged on their keywords, on whether
their citations hold evidence, and on refusing exactly the unanswerable ones.
"""

from __future__ import annotations

import json
import re
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer.extractive import MENTION_MARK
from rag.types import Answer, Passage

if TYPE_CHECKING:
    from rag.api import PolicyQA

UNANSWERABLE = "unanswerable"
# Gold evidence that spells a term out: "“两查”就是…", "即…", "是指…", "“三个到位”：…".
_DEFINES = re.compile(r"就是|是指|指的是|即|所谓|[”\"][：:]")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    type: str
    evidence: tuple[str, ...]
    answer_keywords: tuple[str, ...]
    history: tuple[tuple[str, str], ...] = ()
    source: str = ""

    @property
    def answerable(self) -> bool:
        return self.type != UNANSWERABLE


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        questions.append(
            Question(
                id=str(data.get("id", number)),
                question=data["question"],
                type=data.get("type", ""),
                evidence=tuple(data.get("evidence") or ()),
                answer_keywords=tuple(data.get("answer_keywords") or ()),
                history=tuple((str(q), str(a)) for q, a in data.get("history") or ()),
                source=str(data.get("source") or ""),
            )
        )
    return questions


def _squash(text: str) -> str:
    return "".join(text.split())


def holds_evidence(text: str, evidence: Sequence[str]) -> bool:
    squashed = _squash(text)
    return any(_squash(e) in squashed for e in evidence)


def first_hit_rank(passages: Sequence[str], evidence: Sequence[str]) -> int | None:
    for rank, text in enumerate(passages, start=1):
        if holds_evidence(text, evidence):
            return rank
    return None


@dataclass
class RetrievalScores:
    questions: int = 0
    hit_at: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0
    misses: list[str] = field(default_factory=list)


def score_retrieval(
    questions: Sequence[Question],
    search: Callable[[str, int], Sequence[str]],
    depth: int = 10,
    query: Callable[[Question], str] | None = None,
) -> RetrievalScores:
    """hit@1/3/5 and MRR@depth of a search function over the answerable questions.

    query turns a question into the search text (e.g. a follow-up plus its history); default: as asked."""
    with_evidence = [q for q in questions if q.answerable and q.evidence]
    ranks = []
    misses = []
    for question in with_evidence:
        text = query(question) if query else question.question
        rank = first_hit_rank(search(text, depth), question.evidence)
        ranks.append(rank)
        if rank is None or rank > 5:
            misses.append(question.id)
    n = max(1, len(ranks))
    return RetrievalScores(
        questions=len(ranks),
        hit_at={k: sum(r is not None and r <= k for r in ranks) / n for k in (1, 3, 5)},
        mrr=sum(1.0 / r for r in ranks if r) / n,
        misses=misses,
    )


@dataclass
class AnswerScores:
    keyword_recall: float = 0.0
    citation_precision: float = 0.0
    unanswerable_refused: float = 0.0
    answerable_refused: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    by_type: dict[str, dict[str, Any]] = field(default_factory=dict)
    mention_notes: int = 0  # answers to answerable questions that say a term is only mentioned
    mention_notes_on_defined: int = 0  # ... where the gold evidence spells the term out: false notes
    failures: list[dict[str, Any]] = field(default_factory=list)
    generation: dict[str, Any] | None = None


def defines_a_term(evidence: Sequence[str]) -> bool:
    return any(_DEFINES.search(e) for e in evidence)


def _by_type(rows: Sequence[tuple[str, bool, float | None]]) -> dict[str, dict[str, Any]]:
    """Per question type: how many, refused share, keyword recall (answerable types only)."""
    grouped: dict[str, list[tuple[bool, float | None]]] = {}
    for kind, refused, recall in rows:
        grouped.setdefault(kind or "-", []).append((refused, recall))
    out = {}
    for kind, items in sorted(grouped.items()):
        recalls = [r for _, r in items if r is not None]
        out[kind] = {
            "questions": len(items),
            "refused": round(statistics.fmean(float(f) for f, _ in items), 3),
            "keyword_recall": round(statistics.fmean(recalls), 3) if recalls else None,
        }
    return out


def score_answers(
    questions: Sequence[Question], ask: Callable[..., Answer], min_support: float = 0.6
) -> AnswerScores:
    """ask(question) or, for a follow-up, ask(question, history)."""
    recalls, cited, cited_good, latencies = [], 0, 0, []
    answers: list[Answer] = []
    refused_unanswerable, refused_answerable = [], []
    typed: list[tuple[str, bool, float | None]] = []
    mention_notes = mention_notes_on_defined = 0
    failures = []
    for question in questions:
        started = time.perf_counter()
        if question.history:
            answer = ask(question.question, list(question.history))
        else:
            answer = ask(question.question)
        latencies.append((time.perf_counter() - started) * 1000)
        answers.append(answer)
        if not question.answerable:
            typed.append((question.type, answer.refused, None))
            refused_unanswerable.append(answer.refused)
            if not answer.refused:
                failures.append({"id": question.id, "problem": "answered an unanswerable question"})
            continue
        refused_answerable.append(answer.refused)
        text = _squash(answer.text)
        found = [k for k in question.answer_keywords if _squash(k) in text]
        recall = len(found) / len(question.answer_keywords) if question.answer_keywords else 1.0
        recalls.append(recall)
        typed.append((question.type, answer.refused, recall))
        if MENTION_MARK in answer.text or MENTION_MARK in (answer.note or ""):
            mention_notes += 1
            if defines_a_term(question.evidence):
                mention_notes_on_defined += 1
                failures.append({"id": question.id, "problem": "false mention-only note"})
        for citation in answer.citations:
            cited += 1
            cited_good += holds_evidence(citation.passage or citation.quote, question.evidence)
        if answer.refused or recall < 1.0:
            failures.append(
                {
                    "id": question.id,
                    "problem": "refused" if answer.refused else "missing keywords",
                    "missing": [k for k in question.answer_keywords if k not in found],
                }
            )
    return AnswerScores(
        keyword_recall=statistics.fmean(recalls) if recalls else 0.0,
        citation_precision=cited_good / cited if cited else 0.0,
        unanswerable_refused=statistics.fmean(refused_unanswerable) if refused_unanswerable else 0.0,
        answerable_refused=statistics.fmean(refused_answerable) if refused_answerable else 0.0,
        latency_ms_p50=_percentile(latencies, 50),
        latency_ms_p95=_percentile(latencies, 95),
        by_type=_by_type(typed),
        mention_notes=mention_notes,
        mention_notes_on_defined=mention_notes_on_defined,
        failures=failures,
        generation=generation_stats(answers, min_support),
    )


def unsupported_sentences(answer: Answer, min_support: float) -> list[str]:
    """Sentences of a generated answer that their cited passage does not back (the guard's promise: none)."""
    from rag.generate.generative import (
        CUT_SHORT_NOTE,
        DROPPED_NOTE,
        FALLBACK_NOTE,
        MODEL_ERROR_NOTE,
        QUOTES_HEADER,
    )
    from rag.generate.guard import split_claims, support

    notes = (DROPPED_NOTE.split("{")[0], FALLBACK_NOTE, MODEL_ERROR_NOTE, CUT_SHORT_NOTE, QUOTES_HEADER)
    passages = {c.index: c.passage for c in answer.citations}
    question = answer.generation.standalone_question if answer.generation else ""
    found = []
    for claim in split_claims(answer.text):
        if claim.bare.startswith(notes) or (answer.note and claim.bare in answer.note):
            continue
        cited = [passages[n] for n in claim.cited if n in passages]
        if any(claim.bare in p for p in cited):
            continue  # a verbatim quote of its passage (the quotes after 讲话原文:) is backed by definition
        if not any(support(claim.bare, p, question) >= min_support for p in cited):
            found.append(claim.bare)
    return found


def generation_stats(answers: Sequence[Answer], min_support: float) -> dict[str, Any] | None:
    """How the model and the guard did: None when no answer was written by a model."""
    written = [a for a in answers if a.generation is not None]
    if not written:
        return None
    runs = [a.generation for a in written if a.generation]
    generated = [a for a in written if a.mode == "generated"]
    return {
        "model": runs[0].model,
        "model_answers": len(written),
        "generated_shown": len(generated),
        "guard_fired": round(sum(g.guard_fired for g in runs) / len(runs), 3),
        "fell_back": round(sum(g.fell_back for g in runs) / len(runs), 3),
        "model_refused": sum(g.model_refused for g in runs),
        "model_errors": sum(g.error is not None for g in runs),
        "sentences": sum(g.sentences for g in runs),
        "sentences_dropped": sum(len(g.dropped) for g in runs),
        "sentences_set_aside": sum(len(g.set_aside) for g in runs),
        "sentences_completed": sum(g.completed for g in runs),
        "citations_repointed": sum(g.repointed for g in runs),
        "bad_citation_numbers": sum(g.bad_citations for g in runs),
        "unsupported_left": sum(len(unsupported_sentences(a, min_support)) for a in generated),
        "first_token_ms_p50": _percentile([g.first_token_ms or 0.0 for g in runs], 50),
        "first_text_ms_p50": _percentile([g.first_text_ms or g.total_ms for g in runs], 50),
        "total_ms_p50": _percentile([g.total_ms for g in runs], 50),
        "total_ms_p95": _percentile([g.total_ms for g in runs], 95),
        "context_chars_max": max(g.context_chars for g in runs),
    }


def _percentile(values: Sequence[float], q: int) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def passage_texts(passages: Sequence[Passage]) -> list[str]:
    return [p.text for p in passages]


def report(
    retrieval: RetrievalScores, answers: AnswerScores, baseline: RetrievalScores | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "retrieval": {
            "questions": retrieval.questions,
            "hit@1": round(retrieval.hit_at[1], 3),
            "hit@3": round(retrieval.hit_at[3], 3),
            "hit@5": round(retrieval.hit_at[5], 3),
            "mrr": round(retrieval.mrr, 3),
            "misses@5": retrieval.misses,
        },
        "answers": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(answers).items()},
    }
    if baseline is not None:
        data["langchain_baseline"] = {
            "hit@1": round(baseline.hit_at[1], 3),
            "hit@3": round(baseline.hit_at[3], 3),
            "hit@5": round(baseline.hit_at[5], 3),
            "mrr": round(baseline.mrr, 3),
        }
    return data


def format_report(data: dict[str, Any]) -> str:
    r, a = data["retrieval"], data["answers"]
    lines = [
        f"retrieval ({r['questions']} answerable questions): hit@1 {r['hit@1']:.3f}  hit@3 {r['hit@3']:.3f}  "
        f"hit@5 {r['hit@5']:.3f}  MRR {r['mrr']:.3f}",
        f"answers: keyword recall {a['keyword_recall']:.3f}  "
        f"citation precision {a['citation_precision']:.3f}",
        f"refused: unanswerable {a['unanswerable_refused']:.3f}  answerable {a['answerable_refused']:.3f}",
        f"mention-only notes: {a.get('mention_notes', 0)} on answerable questions, "
        f"{a.get('mention_notes_on_defined', 0)} where the gold evidence spells the term out (false)",
        f"ask() latency: p50 {a['latency_ms_p50']:.0f} ms  p95 {a['latency_ms_p95']:.0f} ms   "
        f"peak RSS {data.get('peak_rss_mb', 0)} MB",
    ]
    for kind, row in (a.get("by_type") or {}).items():
        recall = "-" if row["keyword_recall"] is None else f"{row['keyword_recall']:.3f}"
        lines.append(
            f"  {kind:<13} {row['questions']:>4} questions  keyword recall {recall}  "
            f"refused {row['refused']:.3f}"
        )
    if b := data.get("langchain_baseline"):
        lines.append(
            f"LangChain baseline (500/50 splitter, Chroma top-k, same embedder): hit@1 {b['hit@1']:.3f}  "
            f"hit@3 {b['hit@3']:.3f}  hit@5 {b['hit@5']:.3f}  MRR {b['mrr']:.3f}"
        )
    if g := a.get("generation"):
        lines += [
            f"generation ({g['model']}, {g['model_answers']} written, {g['generated_shown']} shown): "
            f"guard fired {g['guard_fired']:.3f}  fell back {g['fell_back']:.3f}",
            f"  sentences dropped {g['sentences_dropped']}/{g['sentences']}  "
            f"set aside (another passage) {g['sentences_set_aside']}  "
            f"completed from the passage {g['sentences_completed']}  "
            f"unsupported left {g['unsupported_left']}",
            f"  first token p50 {g['first_token_ms_p50']:.0f} ms  "
            f"first shown sentence p50 {g['first_text_ms_p50']:.0f} ms  "
            f"total p50 {g['total_ms_p50']:.0f} ms  p95 {g['total_ms_p95']:.0f} ms  "
            f"context ≤ {g['context_chars_max']} chars",
        ]
    if r["misses@5"]:
        lines.append(f"not found in top 5: {', '.join(r['misses@5'])}")
    for failure in a["failures"]:
        lines.append(f"  {failure['id']}: {failure['problem']} {failure.get('missing', '')}")
    return "\n".join(lines)


def ensure_corpus(qa: PolicyQA, corpus: Sequence[Path]) -> str:
    """Make the index hold the data folder plus the corpus folders (unchanged files cost nothing)."""
    report = qa.ingest([qa.settings.data_dir, *corpus])
    return report.summary()


def run_evaluation(
    qa: PolicyQA, path: Path, *, baseline: bool = False, corpus: Sequence[Path] = ()
) -> dict[str, Any]:
    """Everything `python -m rag eval` prints, as one dict.

    corpus: folders of speeches the questions also ask about (e.g. eval/speeches); they are
    ingested, with the data folder, into qa's store first."""
    from rag.conversation import retrieval_query

    questions = load_questions(path)
    if corpus:
        ensure_corpus(qa, corpus)
    qa.warm_up()
    retrieval = score_retrieval(
        questions,
        lambda q, k: passage_texts(qa.search(q, k=k)),
        query=lambda q: retrieval_query(q.question, list(q.history)) if q.history else q.question,
    )
    # The retrieval pass embedded every question: forget them, so ask() is timed as a user meets it.
    if forget := getattr(qa.embedder, "forget", None):
        forget()
    answers = score_answers(questions, qa.ask, qa.settings.min_support)
    rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # before the baseline
    baseline_scores = None
    if baseline:
        from rag.evaluation.baseline import LangChainBaseline

        with LangChainBaseline.build(qa.settings.data_dir, qa.embedder) as plain:
            baseline_scores = score_retrieval(questions, plain.search)
    data = report(retrieval, answers, baseline_scores)
    data["peak_rss_mb"] = rss_mb
    data["questions_file"] = str(path)
    data["corpus"] = [str(c) for c in corpus]
    return data
