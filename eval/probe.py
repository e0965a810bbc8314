"""Probe sets: questions the calibration/test split's authors did not write, asked of the same corpus.

    POLICYQA_STORE_DIR=/tmp/eval-store .venv/bin/python eval/probe.py            # every set
    POLICYQA_STORE_DIR=/tmp/eval-store .venv/bin/python eval/probe.py -v eval/probes/held.tsv

The split's questions were written next to the rules they test. These were written apart, by
people who saw the speeches but not the code, to check that the rules carry over (issue 12). Each
line is `A<TAB>question<TAB>gold` (answerable: gold is an exact substring of a corpus file, the
answer must quote it) or `U<TAB>question<TAB>-` (the speeches do not answer it; the answer must be
a refusal). They have no answer keywords, so `rag eval` does not read them; this script reports
answerable refused, gold quoted and off-corpus refused per set. Some were used to diagnose rules
(see eval/README.md): they are a check, not a held-out score.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROBES = HERE / "probes"
KINDS = ("A", "U")


@dataclass(frozen=True)
class Probe:
    kind: str  # "A": answerable, "U": off-corpus
    question: str
    gold: str  # for "A": a substring of a corpus file the answer must quote; "-" for "U"


@dataclass
class ProbeScores:
    answerable: int = 0
    answerable_refused: int = 0
    gold_quoted: int = 0
    off_corpus: int = 0
    off_corpus_refused: int = 0
    misses: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"answerable {self.answerable}: refused {self.answerable_refused}, gold quoted "
            f"{self.gold_quoted}; off-corpus {self.off_corpus}: refused {self.off_corpus_refused}"
        )


def load_probes(path: Path) -> list[Probe]:
    probes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in KINDS or not parts[1].strip():
            raise ValueError(f"{path}:{number}: expected KIND<TAB>question<TAB>gold with KIND A or U")
        probes.append(Probe(*parts))
    return probes


def score(probes: Sequence[Probe], ask: Callable[[str], tuple[bool, str]]) -> ProbeScores:
    """ask(question) → (refused, answer text)."""
    from rag.evaluation.evaluate import holds_evidence  # gold matched as rag eval matches evidence

    scores = ProbeScores()
    for probe in probes:
        refused, text = ask(probe.question)
        if probe.kind == "U":
            scores.off_corpus += 1
            scores.off_corpus_refused += refused
            if not refused:
                scores.misses.append(f"U answered: {probe.question} | {' '.join(text.split())[:120]}")
            continue
        scores.answerable += 1
        scores.answerable_refused += refused
        quoted = not refused and holds_evidence(text, [probe.gold])
        scores.gold_quoted += quoted
        if not quoted:
            what = "A refused" if refused else "A without gold"
            scores.misses.append(f"{what}: {probe.question} | gold: {probe.gold}")
    return scores


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="probe files (default: eval/probes/*.tsv)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from rag.api import PolicyQA
    from rag.config import Settings
    from rag.evaluation.evaluate import ensure_corpus

    qa = PolicyQA(Settings())
    ensure_corpus(qa, [HERE / "speeches"])

    def ask(question: str) -> tuple[bool, str]:
        answer = qa.ask(question)
        return answer.refused, answer.text

    for path in args.files or sorted(PROBES.glob("*.tsv")):
        scores = score(load_probes(path), ask)
        print(f"{path.name}: {scores.line()}")
        if args.verbose:
            print("\n".join("  " + miss for miss in scores.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
