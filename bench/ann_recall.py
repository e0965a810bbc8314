"""How much of the exact nearest-chunk list Chroma's HNSW search returns, at Chroma's default
search width (ef_search 100) and at the configured one (POLICYQA_HNSW_EF_SEARCH).

Dense retrieval hands fusion its top ``candidates`` (30); a chunk that is among the exact top 10
but missing from those 30 cannot be found by the vector side at all. Chroma rebuilds a small
store's graph at each start with several threads, so which chunks go missing also changes from
one start to the next: the same question could get another answer after a restart.

The question vectors are the real embeddings of eval/calibration.jsonl and eval/test.jsonl. The
stores are the built index (its own vectors) and larger synthetic ones grown from it: each stored
vector plus Gaussian noise, normalised: at noise 0.05 per dimension a grown vector keeps a cosine
of ~0.7 to its origin, at 0.03 ~0.86 (crowded, like a corpus of near-identical speeches). Every
store is written to a temporary folder.

    python -m bench.ann_recall [--sizes 5000 20000] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import chromadb
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUESTION_FILES = (ROOT / "eval" / "calibration.jsonl", ROOT / "eval" / "test.jsonl")
CHROMA_DEFAULT_WIDTH = 100
TOP, FETCHED = 10, 30
NOISES = (0.05, 0.03)  # per dimension: cosine ~0.7 and ~0.86 to the stored vector grown from


def question_vectors(qa: Any, limit: int) -> np.ndarray:
    lines = [line for path in QUESTION_FILES for line in path.read_text(encoding="utf-8").splitlines()]
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    return np.stack([qa.embedder.embed_query(q) for q in questions[:limit]]).astype(np.float32)


def grown(base: np.ndarray, size: int, noise: float, seed: int = 0) -> np.ndarray:
    if size <= len(base):
        return base[:size]
    rng = np.random.default_rng(seed)
    extra = base[rng.integers(0, len(base), size - len(base))]
    extra = extra + rng.normal(0.0, noise, extra.shape).astype(np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.concatenate([base, extra])


def measure(vectors: np.ndarray, queries: np.ndarray, width: int, folder: Path) -> dict[str, float]:
    client = chromadb.PersistentClient(path=str(folder))
    collection = client.create_collection(
        "bench-ann", configuration={"hnsw": {"space": "cosine", "ef_search": width}}, embedding_function=None
    )
    ids = [str(i) for i in range(len(vectors))]
    for start in range(0, len(ids), 1000):
        collection.add(ids=ids[start : start + 1000], embeddings=vectors[start : start + 1000])
    started = time.perf_counter()
    found = [set(collection.query(query_embeddings=[q], n_results=FETCHED)["ids"][0]) for q in queries]
    per_query_ms = (time.perf_counter() - started) / len(queries) * 1000
    recall, missed_top5 = [], 0
    for query, got in zip(queries, found, strict=True):
        exact = [str(i) for i in np.argsort(-(vectors @ query))[:TOP]]
        recall.append(len(set(exact) & got) / TOP)
        missed_top5 += not set(exact[:5]) <= got
    return {
        "recall_top10_in_30": round(float(np.mean(recall)), 4),
        "questions_missing_a_top5_chunk": missed_top5,
        "query_ms": round(per_query_ms, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5000, 20000], help="synthetic store sizes")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--noise", type=float, nargs="*", default=list(NOISES), help="see the module doc")
    parser.add_argument("--out", type=Path, default=None, help="also write ann_recall.json here")
    args = parser.parse_args(argv)

    from rag.api import PolicyQA

    qa = PolicyQA.open()
    if not qa.has_index():
        qa.ingest([qa.settings.data_dir])
    stored = qa.store.embeddings(list(qa.store.metadata_by_id()))
    base = np.stack(list(stored.values())).astype(np.float32)
    queries = question_vectors(qa, args.questions)
    widths = sorted({CHROMA_DEFAULT_WIDTH, qa.settings.hnsw_ef_search})
    rows = []
    stores = [(len(base), 0.0)] + [(size, noise) for noise in args.noise for size in args.sizes]
    for size, noise in stores:
        vectors = grown(base, size, noise)
        for width in widths:
            folder = Path(tempfile.mkdtemp(prefix="ann-recall-"))
            try:
                row = {"chunks": size, "noise": noise, "ef_search": width}
                rows.append(row | measure(vectors, queries, width, folder))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            print(json.dumps(rows[-1]), file=sys.stderr)
    result = {"questions": len(queries), "fetched": FETCHED, "rows": rows}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ann_recall.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
