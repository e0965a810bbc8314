"""Crash trials: kill -9 a real `python -m ingest` at random moments, rerun, compare with a clean build.

    python -m bench.crash_trials [--trials 10] [--seed 6] [--lines 700]

The corpus is the seed page's first ``--lines`` lines plus an edited copy of one of its speeches
(about 120 chunks, two write batches). One unkilled `python -m ingest` builds the clean index and
gives the run time T; each trial starts the same command on a fresh store, kills it with SIGKILL
after a delay drawn uniformly from [0, 0.85 T) (seeded, so a run can be repeated), notes where the kill
landed, runs the ingest again (in this process, with the model loaded once: the same code path as
`python -m ingest`) and checks the result against the clean build: the same chunk ids, texts,
metadata and vectors in Chroma, no duplicates, the keyword index holding exactly Chroma's ids, the
manifest's planned chunk ids equal to both, and the manifest clean. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ingest.pipeline import ingest_paths
from rag.config import Settings
from tests.crashes import kill_after, phase_of, problems, read_state, start_ingest, write_corpus


def run_trials(trials: int, seed: int, lines: int, work: Path) -> dict[str, Any]:
    from rag.embedding import Embedder

    base = Settings()
    corpus = write_corpus(work / "corpus", lines)
    clean_settings = base.with_overrides(store_dir=work / "clean")
    started = time.monotonic()
    proc = start_ingest([corpus], clean_settings, work / "clean.log")
    if proc.wait() != 0:
        raise RuntimeError(f"the clean build failed; see {work / 'clean.log'}")
    run_time = time.monotonic() - started
    clean = read_state(clean_settings)

    embedder = Embedder(base.embedding_model, base.model_cache, batch_size=base.embed_batch_size)
    rng = random.Random(seed)
    results = []
    for number in range(1, trials + 1):
        began = time.monotonic()
        settings = base.with_overrides(store_dir=work / f"trial-{number}")
        delay = rng.uniform(0, 0.85 * run_time)  # a later kill often finds the run finished
        proc = start_ingest([corpus], settings, work / f"trial-{number}.log")
        killed = kill_after(proc, delay)
        left = read_state(settings)
        phase = phase_of(left, clean)
        rerun = ingest_paths([corpus], settings, embedder=embedder, progress=False)
        found = problems(read_state(settings), clean)
        results.append(
            {
                "trial": number,
                "kill_after_s": round(delay, 2),
                "killed": killed,
                "phase": phase,
                "chunks_left_by_kill": left.chroma_rows,
                "keyword_rows_left": left.keyword_rows,
                "rerun_embedded": rerun.embedded,
                "ok": not found,
                "problems": found,
                "seconds": round(time.monotonic() - began, 1),
            }
        )
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    return {
        "corpus_chunks": len(clean.chroma),
        "clean_run_s": round(run_time, 1),
        "trials": trials,
        "seed": seed,
        "passed": sum(r["ok"] for r in results),
        "killed": sum(r["killed"] for r in results),
        "phases": dict(Counter(r["phase"] for r in results)),
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--lines", type=int, default=700, help="lines of the seed page in the corpus")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="policyqa-crash-") as work:
        summary = run_trials(args.trials, args.seed, args.lines, Path(work))
    summary["loadavg_before"] = [round(x, 2) for x in load_before]
    summary["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    print(
        f"crash trials: {summary['passed']}/{summary['trials']} repaired to match a clean build "
        f"({summary['killed']} killed mid-run; {summary['corpus_chunks']} chunks; "
        f"load average {summary['loadavg_after'][0]})"
    )


if __name__ == "__main__":
    main()
