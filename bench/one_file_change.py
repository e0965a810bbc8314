"""A one-file change after a 1,000-speech index: what it re-reads, re-chunks and re-embeds, and how long.

    python -m bench.one_file_change [--speeches 1000] [--work DIR]

Builds a synthetic corpus (bench.synth) into a fresh embedded store with surrogate vectors
(bench.scale.SurrogateEmbedder: real e5 would take most of an hour here, and a change's cost
lies in reading, planning and reconciling, not in the few vectors it embeds), then appends one
paragraph to one file and ingests again. Prints one JSON object: the build, the no-change
re-run and the one-file change (seconds, files read, chunks embedded, manifest size).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.scale import SurrogateEmbedder
from bench.synth import write_corpus
from ingest.index.config import Settings
from ingest.manifest import MANIFEST_NAME
from ingest.pipeline import ingest_paths


def _run(corpus: Path, settings: Settings, embedder: SurrogateEmbedder) -> dict[str, object]:
    started = time.perf_counter()
    report = ingest_paths([corpus], settings, embedder=embedder, progress=False)
    manifest = settings.store_dir / MANIFEST_NAME
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "files": report.files,
        "files_read": report.files_changed,
        "speeches": report.speeches,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "chunks_added": report.chunks_added,
        "chunks_removed": report.chunks_removed,
        "manifest_kb": round(manifest.stat().st_size / 1024, 1) if manifest.exists() else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeches", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=None, help="default: a temporary folder, removed after")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="policyqa-one-change-"))
    try:
        corpus = work / "corpus"
        write_corpus(corpus, args.speeches)
        settings = Settings(store_dir=work / "store", data_dir=corpus)
        embedder = SurrogateEmbedder(settings.embedding_model)
        build = _run(corpus, settings, embedder)
        unchanged = _run(corpus, settings, embedder)
        target = sorted(p for p in corpus.iterdir() if p.suffix == ".txt")[0]
        with target.open("a", encoding="utf-8") as handle:
            handle.write("\n\n会后各单位要把会议精神传达到每一个班组、每一名职工。\n")
        changed = _run(corpus, settings, embedder)
        print(
            json.dumps(
                {
                    "speeches": args.speeches,
                    "build": build,
                    "no_change": unchanged,
                    "one_file_changed": changed,
                    "changed_file": target.name,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
