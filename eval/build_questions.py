"""Build eval/questions.jsonl, eval/calibration.jsonl and eval/test.jsonl from eval/qsets/ (deterministic).

    .venv/bin/python eval/build_questions.py          # verify, write, print counts
    .venv/bin/python eval/build_questions.py --check  # verify only

Every evidence string must be an exact substring of its source's decoded text
(ingest.loaders.load_text), every answer keyword an exact substring of the
evidence. Off-corpus questions name the facts they ask for ("absent"); each
must occur in no corpus file at all (whitespace and punctuation width ignored).
The split is made once, seeded, stratified by (type, source).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED_SOURCE = "data/000_6f579f50373472dc.txt"
SPLIT_SEED = "policyqa-eval-2024"
ANSWERABLE_TYPES = ("term", "fact", "list", "how", "why", "multi", "followup")
OUT_OF_CORPUS = "unanswerable"
PARTIAL = "partial"


def corpus_files() -> list[Path]:
    return [ROOT / SEED_SOURCE, *sorted((HERE / "speeches").iterdir())]


def decoded(path: Path) -> str:
    from ingest.loaders import load_text

    return load_text(path)


def loose(text: str) -> str:
    """For absence checks: NFKC (full/half width alike), no whitespace, lower case."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _prefix(source: str) -> str:
    return "seed" if source == SEED_SOURCE else "s" + Path(source).name[:2]


def collect() -> list[dict]:
    from eval.qsets import new_a, new_b, offcorpus, seed

    rows: list[dict] = []
    for module in (new_a, new_b, seed):
        for source, entries in module.QUESTIONS.items():
            for n, entry in enumerate(entries, start=1):
                kind, question, evidence, keywords, reference, *rest = entry
                row = {
                    "id": f"{_prefix(source)}-{n:03d}",
                    "question": question,
                    "type": kind,
                    "evidence": list(evidence),
                    "answer_keywords": list(keywords),
                    "reference_answer": reference or "；".join(evidence) + "。",
                    "source": source,
                }
                if rest:
                    row["history"] = rest[0]
                rows.append(row)
    for n, (question, absent, reference) in enumerate(offcorpus.UNANSWERABLE, start=1):
        rows.append(
            {
                "id": f"u-{n:03d}",
                "question": question,
                "type": OUT_OF_CORPUS,
                "evidence": [],
                "answer_keywords": [],
                "reference_answer": reference,
                "source": "",
                "absent": list(absent),
            }
        )
    for n, (source, question, evidence, keywords, absent, reference) in enumerate(offcorpus.PARTIAL, start=1):
        rows.append(
            {
                "id": f"pt-{n:03d}",
                "question": question,
                "type": PARTIAL,
                "evidence": list(evidence),
                "answer_keywords": list(keywords),
                "reference_answer": reference,
                "source": source,
                "absent": list(absent),
            }
        )
    return rows


def problems(rows: list[dict]) -> list[str]:
    """Everything wrong with the set; empty when it is sound."""
    found = []
    texts = {str(p.relative_to(ROOT)): decoded(p) for p in corpus_files()}
    everything = loose("\n".join(texts.values()))
    ids = Counter(r["id"] for r in rows)
    found += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    questions = Counter(r["question"] for r in rows if "history" not in r)
    found += [f"duplicate question {q}" for q, n in questions.items() if n > 1]
    for row in rows:
        rid = row["id"]
        if row["type"] != OUT_OF_CORPUS:
            text = texts.get(row["source"])
            if text is None:
                found.append(f"{rid}: unknown source {row['source']}")
                continue
            if not row["evidence"] or not row["answer_keywords"]:
                found.append(f"{rid}: no evidence or no keywords")
            for e in row["evidence"]:
                if e not in text:
                    found.append(f"{rid}: evidence not in source: {e}")
            for k in row["answer_keywords"]:
                if not any(k in e for e in row["evidence"]):
                    found.append(f"{rid}: keyword not in evidence: {k}")
        for fact in row.get("absent", []):
            if loose(fact) in everything:
                found.append(f"{rid}: 'absent' fact occurs in the corpus: {fact}")
        for turn in row.get("history", []):
            if len(turn) != 2:
                found.append(f"{rid}: history turn is not [question, answer]")
    return found


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """About half of every (type, source) stratum to each part; seeded, so the same every run."""
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        strata[(row["type"], row["source"])].append(row)
    calibration, test = [], []
    odd_to_test = True
    for key in sorted(strata):
        members = sorted(strata[key], key=lambda r: r["id"])
        random.Random(f"{SPLIT_SEED}:{key[0]}:{key[1]}").shuffle(members)
        half = len(members) // 2
        if len(members) % 2:
            half += 0 if odd_to_test else 1
            odd_to_test = not odd_to_test
        calibration += members[:half]
        test += members[half:]
    order = {r["id"]: n for n, r in enumerate(rows)}
    return sorted(calibration, key=lambda r: order[r["id"]]), sorted(test, key=lambda r: order[r["id"]])


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def counts(rows: list[dict]) -> str:
    by_type = Counter(r["type"] for r in rows)
    by_source = Counter(r["source"] or "(off-corpus)" for r in rows)
    lines = [f"{len(rows)} questions"]
    lines += [f"  type {t}: {n}" for t, n in sorted(by_type.items())]
    lines += [f"  source {s}: {n}" for s, n in sorted(by_source.items())]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="verify only, write nothing")
    args = parser.parse_args()
    rows = collect()
    wrong = problems(rows)
    for line in wrong:
        print(line, file=sys.stderr)
    if wrong:
        return 1
    print(counts(rows))
    if not args.check:
        calibration, test = split(rows)
        write_jsonl(HERE / "questions.jsonl", rows)
        write_jsonl(HERE / "calibration.jsonl", calibration)
        write_jsonl(HERE / "test.jsonl", test)
        print(f"calibration {len(calibration)}, test {len(test)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
