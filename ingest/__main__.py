"""python -m ingest [--store DIR] [--prune] [--rebuild] [--json] PATH..."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ingest.index.config import Settings
from ingest.index.store import StoreError
from ingest.pipeline import IngestLocked, ingest_paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Add or update speeches (.txt .md .docx .pdf .html) in the index. "
        "Unchanged files cost nothing; changed files replace their old chunks.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the data folder)")
    parser.add_argument("--store", type=Path, help="index folder (env POLICYQA_STORE_DIR)")
    parser.add_argument("--prune", action="store_true", help="remove speeches whose files are gone")
    parser.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    settings = Settings().with_overrides(store_dir=args.store)
    paths = args.paths or [settings.data_dir]
    try:
        report = ingest_paths(
            paths, settings, prune=args.prune, rebuild=args.rebuild, progress=not args.quiet and not args.json
        )
    except (IngestLocked, StoreError) as error:
        print(f"ingest: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
