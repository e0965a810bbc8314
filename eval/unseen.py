"""Measure every group of unseen speeches (eval/unseen/) in one command, each in a store of its own.

    .venv/bin/python eval/unseen.py                 # all groups, stores under /tmp/policyqa-unseen
    .venv/bin/python eval/unseen.py f g --root DIR  # some groups, stores under DIR

Each group is asked of the seed plus its own speeches, as a user who uploads them would be, through
`python -m rag eval … --corpus eval/unseen/<group> --json` in a fresh process (a store that exists
is brought up to date, not rebuilt). The table shows totals and recall by question type only, never
a question, so a held-out group stays held out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GROUPS = sorted(p.stem for p in (HERE / "unseen").glob("*.jsonl"))
TYPES = ("term", "fact", "list", "how", "why", "multi", "partial")


def measure(group: str, store: Path) -> dict:
    """One group's `rag eval` figures (the JSON it prints)."""
    env = {**os.environ, "POLICYQA_STORE_DIR": str(store)}
    command = [sys.executable, "-m", "rag", "eval", f"eval/unseen/{group}.jsonl"]
    command += ["--corpus", f"eval/unseen/{group}", "--json"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"group {group}: rag eval failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def row(group: str, figures: dict) -> str:
    answers, retrieval = figures["answers"], figures["retrieval"]
    by_type = answers.get("by_type") or {}
    recalls = [
        f"{by_type[t]['keyword_recall']:.3f}" if by_type.get(t, {}).get("keyword_recall") is not None else "-"
        for t in TYPES
    ]
    cells = [
        group,
        f"{answers['unanswerable_refused']:.3f}",
        f"{answers['answerable_refused']:.3f}",
        f"{answers['keyword_recall']:.3f}",
        f"{answers['citation_precision']:.3f}",
        f"{retrieval['mrr']:.3f} / {retrieval['hit@5']:.3f}",
        *recalls,
    ]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", default=GROUPS, help=f"default: all ({', '.join(GROUPS)})")
    parser.add_argument("--root", type=Path, default=Path("/tmp/policyqa-unseen"), help="where the stores go")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"no such group: {', '.join(unknown)} (there are {', '.join(GROUPS)})")
    header = ["group", "off-corpus refused", "answerable refused", "recall", "precision", "MRR / hit@5"]
    print("| " + " | ".join([*header, *TYPES]) + " |")
    print("|" + "---|" * (len(header) + len(TYPES)))
    for group in args.groups:
        print(row(group, measure(group, args.root / group)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
