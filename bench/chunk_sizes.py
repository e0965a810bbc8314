"""Retrieval quality against chunk size: which target length should the index be built with?

For each target size the bundled corpus is indexed into a temp store
(chunk_max = round(1.45 x target), one sentence of overlap) and the dev
questions are scored twice: with the product's hybrid search (dense + BM25,
fused) and with dense search alone, so a size that only helps one retriever
shows. One embedding model is loaded and shared by every index and query.
Prints a JSON list on stdout and a markdown table on stderr.

    python -m bench.chunk_sizes [--sizes 200,300,350,500] [--questions PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "000_6f579f50373472dc.txt"
MAX_RATIO = 1.45
DEPTH = 10  # score_retrieval's default: MRR@10

if TYPE_CHECKING:
    from ingest.index.embedding import Embedder
    from rag.evaluation.evaluate import Question, RetrievalScores


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def scores_dict(scores: RetrievalScores) -> dict[str, Any]:
    return {
        "hit@1": round(scores.hit_at[1], 3),
        "hit@3": round(scores.hit_at[3], 3),
        "hit@5": round(scores.hit_at[5], 3),
        "mrr": round(scores.mrr, 3),
        "misses@5": scores.misses,
    }


def measure_size(
    target: int,
    work: Path,
    embedder: Embedder,
    questions: Sequence[Question],
    query_vectors: dict[str, Any],
) -> dict[str, Any]:
    """Build one index at this size and score both retrievers on it."""
    from ingest.index.store import ChunkStore
    from ingest.pipeline import ingest_paths
    from rag.api import PolicyQA
    from rag.config import Settings
    from rag.evaluation.evaluate import score_retrieval

    settings = Settings(
        store_dir=work / f"store-{target}",
        chunk_size=target,
        chunk_max=round(target * MAX_RATIO),
        chunk_overlap_sentences=1,
    )
    started = time.perf_counter()
    report = ingest_paths([CORPUS], settings, embedder=embedder, progress=False)
    ingest_s = time.perf_counter() - started

    qa = PolicyQA(settings)
    qa._embedder = embedder  # share the loaded model rather than load a second copy
    store = ChunkStore.open(settings, embedder.name, create=False)
    lengths = [len(text) for text, _ in store.documents().values()]

    def hybrid(question: str, k: int) -> list[str]:
        return [p.text for p in qa.search(question, k=k)]

    def dense(question: str, k: int) -> list[str]:
        return [text for _, text, _, _ in store.query(query_vectors[question], k)]

    started = time.perf_counter()
    hybrid_scores = score_retrieval(questions, hybrid, depth=DEPTH)
    dense_scores = score_retrieval(questions, dense, depth=DEPTH)
    score_s = time.perf_counter() - started
    return {
        "size": target,
        "chunk_max": settings.chunk_max,
        "chunks": report.chunks,
        "median_chunk_chars": statistics.median(lengths),
        "max_chunk_chars": max(lengths),
        "questions": hybrid_scores.questions,
        "hybrid": scores_dict(hybrid_scores),
        "dense": scores_dict(dense_scores),
        "ingest_s": round(ingest_s, 1),
        "score_s": round(score_s, 1),
    }


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The figures a reader compares, one row per size."""

    def cells(part: dict[str, Any]) -> list[str]:
        return [f"{part[k]:.3f}" for k in ("hit@1", "hit@3", "hit@5", "mrr")]

    head = ["size", "max", "chunks", "median chars"]
    head += [f"{r} {m}" for r in ("hybrid", "dense") for m in ("h@1", "h@3", "h@5", "MRR")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for row in rows:
        first = [str(row[k]) for k in ("size", "chunk_max", "chunks")] + [f"{row['median_chunk_chars']:g}"]
        lines.append("| " + " | ".join(first + cells(row["hybrid"]) + cells(row["dense"])) + " |")
    return "\n".join(lines)


def parse_sizes(text: str) -> list[int]:
    sizes = [int(s) for s in text.split(",") if s.strip()]
    if not sizes or min(sizes) < 50:
        raise argparse.ArgumentTypeError("sizes are comma-separated character counts, each at least 50")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[200, 300, 350, 500], help="target sizes")
    parser.add_argument(
        "--questions", type=Path, default=Path("eval/dev.jsonl"), help="questions with evidence"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    from ingest.index.embedding import Embedder
    from rag.config import Settings
    from rag.evaluation.evaluate import load_questions

    path = args.questions if args.questions.is_absolute() else ROOT / args.questions
    questions = load_questions(path)
    base = Settings()
    embedder = Embedder(
        base.embedding_model,
        base.model_cache,
        batch_size=base.embed_batch_size,
        threads=base.torch_threads,
        bf16=base.embed_bf16,
    )
    # Dense search needs each question's vector once, not once per size.
    query_vectors = {q.question: embedder.embed_query(q.question) for q in questions}

    rows = []
    with tempfile.TemporaryDirectory(prefix="policyqa-chunks-", ignore_cleanup_errors=True) as tmp:
        for target in args.sizes:
            rows.append(measure_size(target, Path(tmp), embedder, questions, query_vectors))
            row = rows[-1]
            log(
                f"size {target}: {row['chunks']} chunks, hybrid MRR {row['hybrid']['mrr']:.3f}, "
                f"dense MRR {row['dense']['mrr']:.3f} ({row['ingest_s']} s ingest)"
            )
    json.dump(rows, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    log(f"\n{rows[0]['questions'] if rows else 0} answerable questions with evidence, from {path}\n")
    log(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
