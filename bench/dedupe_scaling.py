"""How the dedup/plan step grows with the corpus: speeches → deduplicate → plan_chunks, no embedding.

``plan_chunks`` deduplicates every known speech on every ingest, so its cost at
thousands of speeches decides how long "+10 speeches" takes. This bench builds
synthetic corpora in-process (``bench.synth``; each file rendered as plain text,
no loaders, no model), reads each file as ingest does (``read_speeches``), then
times ``deduplicate`` and ``plan_chunks`` over all speeches together. A
``--repeats`` copy adds every file a second time under another name (pages that
repeat speeches), which is what the dedup step is for. Prints a markdown table
on stdout, and JSON with ``--json``.

    python -m bench.dedupe_scaling --sizes 500 1000 2000 5000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench import synth
from ingest.chunking import ChunkSpec
from ingest.dedupe import deduplicate
from ingest.pipeline import plan_chunks, read_speeches
from ingest.types import Speech


def corpus(n: int, seed: int, pool: Sequence[Sequence[str]], repeats: bool) -> list[tuple[str, str]]:
    """(file name, text) for ``n`` synthetic speeches grouped into files as bench.synth plans them."""
    speeches = synth.generate(n, seed, pool)
    files = [(f.name, synth._plain([speeches[i] for i in f.speeches])) for f in synth.plan_files(n, seed)]
    if repeats:
        files += [(f"copy_{name}", text) for name, text in files]
    return files


def measure(n: int, seed: int, pool: Sequence[Sequence[str]], repeats: bool) -> dict[str, Any]:
    """One row: sizes in and out and the seconds of each step (perf_counter and CPU)."""
    files = corpus(n, seed, pool, repeats)
    started = time.perf_counter()
    speeches: list[Speech] = []
    for name, text in files:
        speeches.extend(read_speeches(text, name))
    read_s = time.perf_counter() - started

    started, cpu = time.perf_counter(), time.process_time()
    kept = deduplicate(speeches)
    dedup_s, dedup_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    planned = plan_chunks(speeches, ChunkSpec())
    plan_s, plan_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "speeches": n,
        "files": len(files),
        "speeches_read": len(speeches),
        "speeches_kept": len(kept),
        "chunks": len(planned),
        "read_s": round(read_s, 3),
        "dedup_s": round(dedup_s, 3),
        "dedup_cpu_s": round(dedup_cpu, 3),
        "plan_s": round(plan_s, 3),
        "plan_cpu_s": round(plan_cpu, 3),
    }


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| speeches | files | read | kept | chunks | read_speeches s "
        "| deduplicate s (CPU) | plan_chunks s (CPU) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['speeches']} | {r['files']} | {r['speeches_read']} | {r['speeches_kept']} | {r['chunks']} "
            f"| {r['read_s']:.2f} | {r['dedup_s']:.2f} ({r['dedup_cpu_s']:.2f}) "
            f"| {r['plan_s']:.2f} ({r['plan_cpu_s']:.2f}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", action="store_true", help="add every file twice (duplicate pages)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    pool = synth.seed_pool()
    rows = []
    for n in args.sizes:
        rows.append(measure(n, args.seed, pool, args.repeats))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
