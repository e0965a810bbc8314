"""How well would another signal separate the off-corpus questions the answerability gate lets
through from the answerable ones it answers? Asks a question set, keeps the questions that get an
answer, and counts, for each signal and cut, off-corpus questions it would refuse against answerable
ones it would refuse too.

    POLICYQA_STORE_DIR=/tmp/policyqa-unseen/a .venv/bin/python eval/gate_probe.py eval/unseen/a.jsonl
    ... eval/gate_probe.py Q1.jsonl Q2.jsonl --store DIR1 --store DIR2   # several sets, pooled
    ... --llm    # also ask the bundled chat model whether the quoted text answers (slow)

Issue 12 asks for ≥ 0.95 of off-corpus questions refused with ≤ 0.03 of answerable ones on speeches
nobody tuned for. The questions that still get through are near a speech's topic and name one or
two things it never does (骑手, 人防, 婚礼); the answerable ones they must be told from paraphrase
(山火 for 森林火灾, 房主 for 产权人). The signals:

- vouch: the best passage cosine among the top three (the gate skips its word check at ≥ 0.88);
- unknown: the question names a thing (a noun) that no chunk of the index holds;
- rarity: jieba's dictionary frequency of such a noun (technical words are rare, everyday ones common);
- counterfactual: how much the question's cosine to the passage it is answered from rises when a
  missing noun is deleted (a foreign noun pulls the question away; a paraphrase pulls it closer);
- llm: the bundled chat model asked "能/不能" about the quoted sentences.

Only totals are printed, never a question, so a held-out set stays held out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jieba

from ingest.index.tokenize import names_a_thing, tokenize
from rag.answer.answerability import missing_terms, specific_weights
from rag.api import PolicyQA

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

JUDGE_PROMPT = (
    "你是严格的审核员。判断下面的讲话原文是否直接回答了用户的问题（问题问的对象和内容都要在原文中出现，"
    "只是话题相近不算）。只输出“能”或“不能”。"
)


@dataclass(frozen=True)
class Probe:
    """What each signal says about one answered question."""

    off_corpus: bool
    vouch: float
    unknown: tuple[str, ...]
    commonest: int  # jieba dictionary frequency of the most common unknown noun (0 when none)
    counterfactual: float  # largest cosine gain from deleting one missing noun
    llm_says_no: bool | None


def probe(qa: PolicyQA, question: str, off_corpus: bool, judge: BaseChatModel | None) -> Probe | None:
    """The signals for one question, or None when the gate refuses it (nothing left to separate)."""
    answer = qa.ask(question)
    if answer.refused or not answer.citations:
        return None
    passages = qa.search(question, 3)
    vouch = max((p.similarity for p in passages), default=0.0)
    lead = answer.citations[0]
    quoted = "".join(
        {c.chunk_id: c.passage + c.speech_title + c.heading_path for c in answer.citations}.values()
    )
    weights = specific_weights(qa.keywords, tokenize(question))
    things = [t for t in missing_terms(weights, quoted) if names_a_thing(t) and t in question]
    shares = qa.keywords.chunk_share(things) if things else {}
    unknown = tuple(t for t in things if shares.get(t, 0) == 0)
    embedder = qa.embedder
    passage = embedder.embed_passages([lead.passage or lead.quote])[0]
    base = float(embedder.embed_query(question) @ passage)
    gains = [float(embedder.embed_query(question.replace(t, "")) @ passage) - base for t in things]
    says_no = None
    if judge is not None:
        from langchain_core.messages import HumanMessage, SystemMessage

        text = "".join(c.quote for c in answer.citations)[:700]
        prompt = f"问题：{question}\n原文：{text}\n原文能直接回答这个问题吗？"
        says_no = "不能" in str(judge.invoke([SystemMessage(JUDGE_PROMPT), HumanMessage(prompt)]).content)
    jieba.initialize()  # the default dictionary, whose frequencies say how common a word is
    frequency = jieba.dt.FREQ
    return Probe(
        off_corpus,
        vouch,
        unknown,
        max((frequency.get(t, 0) for t in unknown), default=0),
        max(gains, default=float("-inf")),
        says_no,
    )


def cut_table(probes: list[Probe]) -> list[str]:
    """For each signal and cut: off-corpus questions refused, answerable ones refused with them."""
    off = [p for p in probes if p.off_corpus]
    ans = [p for p in probes if not p.off_corpus]
    rules = {
        "vouch < 0.885": lambda p: p.vouch < 0.885,
        "vouch < 0.89": lambda p: p.vouch < 0.89,
        "names an unknown noun": lambda p: bool(p.unknown),
        "unknown nouns all rare (jieba freq < 20)": lambda p: bool(p.unknown) and p.commonest < 20,
        "unknown nouns all rare (jieba freq < 100)": lambda p: bool(p.unknown) and p.commonest < 100,
        "counterfactual gain > 0": lambda p: p.counterfactual > 0,
        "counterfactual gain > 0.005": lambda p: p.counterfactual > 0.005,
        "counterfactual gain > 0.01": lambda p: p.counterfactual > 0.01,
    }
    if any(p.llm_says_no is not None for p in probes):
        rules["llm says 不能"] = lambda p: bool(p.llm_says_no)
    lines = [
        f"answered: {len(off)} off-corpus, {len(ans)} answerable",
        "| refuse when | off-corpus refused | answerable refused |",
        "|---|---|---|",
    ]
    for name, rule in rules.items():
        caught = sum(1 for p in off if rule(p))
        lost = sum(1 for p in ans if rule(p))
        lines.append(f"| {name} | {caught} of {len(off)} | {lost} of {len(ans)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+", type=Path, help="question files (rag eval's format)")
    parser.add_argument("--store", action="append", default=[], help="a store per file (default: env)")
    parser.add_argument("--llm", action="store_true", help="also ask the bundled chat model")
    args = parser.parse_args(argv)
    if args.store and len(args.store) != len(args.questions):
        parser.error("give one --store per question file, or none")
    probes: list[Probe] = []
    for i, path in enumerate(args.questions):
        if args.store:
            os.environ["POLICYQA_STORE_DIR"] = args.store[i]
        qa = PolicyQA.open()
        judge = None
        if args.llm:
            from rag.llm import chat_model

            judge = chat_model(qa.settings.model_copy(update={"llm": "local", "llm_max_tokens": 4}))
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("history"):
                continue  # a follow-up's words lack its subject: the signals read the question alone
            found = probe(qa, row["question"], row["type"] == "unanswerable", judge)
            if found is not None:
                probes.append(found)
        qa.close()
    print("\n".join(cut_table(probes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
