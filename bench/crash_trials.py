"""Crash trials: kill -9 a real `python -m ingest` at random moments, rerun, compare with a clean build.

    python -m bench.crash_trials [--trials 10] [--seed 6] [--lines 700]

The corpus is the seed page's first ``--lines`` lines plus an edited copy of one of its speeches
(about 120 chunks, two write batches). One unkilled `python -m ingest` builds the clean index; it is
watched to learn when each stage begins (start-up until the manifest is marked dirty; the model
load, which happens with the first batch, and the batch writes until the progress bar reaches N/N;
after the last write: deletes, keyword sync, manifest save). Trial n aims at stage n mod 3, at a
seeded random fraction of the way through it, reckoned from what the run shows (the manifest, the
progress bar) so that a slower or busier machine still spreads the kills over the whole run. Each
trial starts the same command on a fresh store, sends SIGKILL there, notes where the kill landed
(judged from what it left), runs the ingest again (in this process, with the model loaded once:
the same ``ingest_paths`` that `python -m ingest` runs) and compares the result with the clean
build: the same chunk ids, texts, metadata and vectors in Chroma, no duplicates, the keyword index
holding exactly Chroma's ids, the manifest's planned chunk ids equal to both, and the manifest
clean. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ingest.pipeline import ingest_paths
from ingest.reconcile import WRITE_BATCH
from rag.config import Settings
from tests.crashes import (
    embedded_so_far,
    kill_after,
    kill_at,
    manifest_dirty,
    phase_of,
    problems,
    read_state,
    start_ingest,
    write_corpus,
)

STAGES = ("start-up", "model load, embedding and writes", "after the last write")


@dataclass(frozen=True)
class Timeline:
    """When the clean run reached each stage, in seconds from its start."""

    dirty_s: float  # the manifest marked dirty: files read, Chroma opened
    bar_s: float  # the progress bar shows: the model loads with the first batch
    written_s: float  # the last batch written: deletes, keyword sync and manifest save follow
    saved_s: float  # the manifest saved clean: the work is done, the interpreter exits
    end_s: float
    batches: int


def watch(proc: subprocess.Popen, store_dir: Path, log: Path) -> Timeline:
    """Follow a run to its end, noting when each stage began."""
    started = time.monotonic()
    seen: dict[str, float] = {}
    while proc.poll() is None:
        now = time.monotonic() - started
        done, total = embedded_so_far(log)
        if "dirty" not in seen and manifest_dirty(store_dir):
            seen["dirty"] = now
        if "bar" not in seen and total:
            seen["bar"] = now
        if "written" not in seen and total and done >= total:
            seen["written"] = now
        if "written" in seen and "saved" not in seen and not manifest_dirty(store_dir):
            seen["saved"] = now
        time.sleep(0.02)
    if proc.returncode != 0:
        raise RuntimeError(f"the clean build failed; see {log}")
    end = time.monotonic() - started
    total = embedded_so_far(log)[1]
    return Timeline(
        seen.get("dirty", end),
        seen.get("bar", end),
        seen.get("written", end),
        seen.get("saved", end),
        end,
        -(-total // WRITE_BATCH),
    )


def kill_somewhere(
    proc: subprocess.Popen, stage: str, fraction: float, clean: Timeline, store_dir: Path, log: Path
) -> bool:
    """Kill at ``fraction`` of the way through ``stage``, reckoned from events the run shows rather
    than from its start, so that a slower machine still spreads the kills over the whole run."""
    if stage == "start-up":
        return kill_after(proc, fraction * clean.dirty_s)
    if stage == "model load, embedding and writes":
        batch = min(int(fraction * clean.batches), clean.batches - 1)
        per_batch = (clean.written_s - clean.bar_s) / clean.batches
        within = (fraction * clean.batches - batch) * per_batch

        def reached() -> bool:
            done, total = embedded_so_far(log)
            return total > 0 and done >= batch * WRITE_BATCH

        return kill_at(proc, reached, within)

    def written() -> bool:
        done, total = embedded_so_far(log)
        return total > 0 and done >= total

    return kill_at(proc, written, fraction * (clean.saved_s - clean.written_s))


def run_trials(trials: int, seed: int, lines: int, work: Path) -> dict[str, Any]:
    from ingest.index.embedding import Embedder

    base = Settings()
    corpus = write_corpus(work / "corpus", lines)
    clean_settings = base.with_overrides(store_dir=work / "clean")
    proc = start_ingest([corpus], clean_settings, work / "clean.log")
    timeline = watch(proc, clean_settings.store_dir, work / "clean.log")
    clean = read_state(clean_settings)

    embedder = Embedder(base.embedding_model, base.model_cache, batch_size=base.embed_batch_size)
    rng = random.Random(seed)
    results = []
    for number in range(1, trials + 1):
        began = time.monotonic()
        settings = base.with_overrides(store_dir=work / f"trial-{number}")
        stage, fraction = STAGES[(number - 1) % len(STAGES)], rng.random()
        log = work / f"trial-{number}.log"
        proc = start_ingest([corpus], settings, log)
        killed = kill_somewhere(proc, stage, fraction, timeline, settings.store_dir, log)
        left = read_state(settings)
        phase = phase_of(left, clean, embedded_so_far(log))
        rerun = ingest_paths([corpus], settings, embedder=embedder, progress=False)
        found = problems(read_state(settings), clean)
        results.append(
            {
                "trial": number,
                "aimed_at": f"{stage} +{fraction:.0%}",
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
        "clean_run": {k: round(v, 1) if isinstance(v, float) else v for k, v in asdict(timeline).items()},
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
