"""Local-model speed (prompt and generation tokens/s) for the bundled 0.5B and 1.5B models,
under one or more Python environments, in the same run so the builds meet the same machine.

    python -m bench.llm_speed                                   # this environment
    python -m bench.llm_speed --python .venv/bin/python --python /tmp/native/bin/python
    python -m bench.llm_speed --variant haswell --variant x64   # force CPU variants

Each measurement runs in a fresh process (llama.cpp loads one CPU variant per process) through
``rag.llm.speed.measure``, the same code ``python -m rag llm-info`` caches. Prints a table and
writes bench/results/llm_speed.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
PROBE = """
import json, sys
from pathlib import Path
from rag.llm.bundled import gguf_path
from rag.llm.speed import measure
path = gguf_path(sys.argv[1], Path(sys.argv[2]))
print(json.dumps(measure(path, cpu_variant=sys.argv[3] or None).to_dict()))
"""


def run_one(python: str, model: str, cache: Path, variant: str | None) -> dict[str, object]:
    done = subprocess.run(
        [python, "-c", PROBE, model, str(cache), variant or ""],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return {"python": python, **json.loads(done.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", help="interpreter of an environment to measure")
    parser.add_argument("--variant", action="append", help="force a llama.cpp CPU variant")
    parser.add_argument("--model", action="append", choices=MODELS)
    parser.add_argument("--rounds", type=int, default=2, help="alternate the environments this often")
    parser.add_argument("--cache", type=Path, default=ROOT / ".policyqa" / "models")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "llm_speed.json")
    args = parser.parse_args(argv)
    pythons = args.python or [sys.executable]
    variants = args.variant or [None]
    rows = []
    # Alternating environments round by round spreads any drift in the machine's speed over all.
    for _ in range(args.rounds):
        for model in args.model or MODELS:
            for python in pythons:
                for variant in variants:
                    row = run_one(python, model, args.cache, variant)
                    rows.append(row)
                    print(
                        f"{row['model']:<42} {row['variant']:<10} {python:<40} "
                        f"prompt {row['prompt_tokens_per_s']:>7} tok/s  "
                        f"generation {row['generation_tokens_per_s']:>6} tok/s",
                        flush=True,
                    )
    best: dict[tuple[str, str, str], dict[str, float]] = {}
    for row in rows:
        key = (str(row["model"]), str(row["python"]), str(row["variant"]))
        entry = best.setdefault(key, {"prompt": 0.0, "generation": 0.0})
        entry["prompt"] = max(entry["prompt"], float(row["prompt_tokens_per_s"]))  # type: ignore[arg-type]
        entry["generation"] = max(entry["generation"], float(row["generation_tokens_per_s"]))  # type: ignore[arg-type]
    print("\nbest of rounds:")
    for (model, python, variant), entry in best.items():
        print(
            f"{model:<42} {variant:<10} {python:<40} "
            f"prompt {entry['prompt']:>7}  generation {entry['generation']:>6}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = [{"model": m, "python": p, "variant": v, **e} for (m, p, v), e in best.items()]
    args.out.write_text(json.dumps({"runs": rows, "best": summary}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
