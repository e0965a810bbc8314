"""Where to set the faithfulness guard's threshold (POLICYQA_MIN_SUPPORT), from the dev questions.

Supported sentences: each sentence of a dev question's reference answer (a faithful
paraphrase of the speech) against the passages retrieved for that question.
Unsupported sentences: the same sentences against the passages retrieved for another
question (on-topic safety language, wrong content: what a model writes from memory),
plus the national “四个一律” items, which the speeches never list.

    python -m bench.guard_calibration [eval/dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from rag.api import PolicyQA
from rag.generate.guard import split_claims, support

DEV = Path(__file__).resolve().parent.parent / "eval" / "dev.jsonl"
FROM_MEMORY = [
    "对非法生产经营建设和经停产整顿仍未达到要求的,一律关闭取缔。",
    "对非法生产经营建设的有关单位和责任人,一律按规定上限予以经济处罚。",
    "对存在违法生产行为的单位,一律责令停产整顿。",
    "对触犯法律的有关单位和人员,一律依法严格追究法律责任。",
]


def best_support(sentence: str, passages: list[str], question: str = "") -> float:
    """As the guard sees it: the question's own wording at the sentence's opening is the topic."""
    return max((support(sentence, p, question) for p in passages), default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dev", type=Path, nargs="?", default=DEV)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("type") != "unanswerable" and r.get("reference_answer")]
    qa = PolicyQA.open()
    retrieved = [[p.text for p in qa.search(r["question"], k=6)] for r in rows]
    claims = [[c.bare for c in split_claims(r["reference_answer"])] for r in rows]
    questions = [r["question"] for r in rows]
    claims_flat = [c for cs in claims for c in cs]
    positive = [best_support(c, retrieved[i], questions[i]) for i, cs in enumerate(claims) for c in cs]
    shift = len(rows) // 2
    negative = [
        best_support(c, retrieved[(i + shift) % len(rows)], questions[i])
        for i, cs in enumerate(claims)
        for c in cs
    ]
    four = [p.text for p in qa.search("“四个一律”要求什么?", k=6)]
    memory = [best_support(c, four, "“四个一律”要求什么?") for c in FROM_MEMORY]
    grid = [round(0.30 + 0.05 * i, 2) for i in range(13)]
    table = [
        {
            "threshold": t,
            "supported_kept": round(sum(s >= t for s in positive) / len(positive), 3),
            "unsupported_dropped": round(sum(s < t for s in negative) / len(negative), 3),
            "memory_dropped": round(sum(s < t for s in memory) / len(memory), 3),
        }
        for t in grid
    ]

    def score(row: dict) -> tuple[bool, float]:
        return row["supported_kept"] >= 0.95, row["supported_kept"] + row["unsupported_dropped"] + row[
            "memory_dropped"
        ]

    top = max(score(r) for r in table)
    tied = [r for r in table if score(r) == top]  # the middle of the best range, not its edge
    best = tied[len(tied) // 2]
    lowest = min(range(len(positive)), key=positive.__getitem__)
    summary = {
        "sentences": len(positive),
        "least_supported": [claims_flat[lowest], round(positive[lowest], 3)],
        "supported": _quantiles(positive),
        "unsupported": _quantiles(negative),
        "from_memory": [round(s, 3) for s in memory],
        "table": table,
        "suggested_threshold": best["threshold"],
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


def _quantiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=20)
    return {
        "p5": round(cuts[0], 3),
        "p25": round(cuts[4], 3),
        "median": round(cuts[9], 3),
        "p95": round(cuts[18], 3),
    }


if __name__ == "__main__":
    raise SystemExit(main())
