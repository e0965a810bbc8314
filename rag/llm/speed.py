"""How fast the local model runs on this machine: prompt and generation tokens per second.

Measured the way llama-bench does (one batch of prompt tokens, then single-token decodes),
once per model, CPU variant, thread count and llama-cpp-python version, and cached beside
the joined models, so ``python -m rag llm-info`` answers at once after the first time.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.llm.cpu_backend import CpuBackend, load_cpu_backend
from rag.llm.local import open_llama

CACHE_FILE = "llm-speed.json"
PROMPT_TOKENS = 128  # about a question plus one passage, the size of a real answer's prompt
GENERATED_TOKENS = 32
# Any text will do for timing; Chinese, as the prompts are. Repeated up to PROMPT_TOKENS.
SAMPLE_TEXT = "各地区各部门要坚持人民至上、生命至上，把安全生产摆在更加突出的位置，扎实开展隐患排查整治。"


@dataclass(frozen=True)
class Speed:
    model: str
    variant: str
    threads: int
    prompt_tokens_per_s: float
    generation_tokens_per_s: float
    llama_cpp_version: str
    measured_at: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _key(model_path: Path, variant: str, threads: int, version: str) -> str:
    stat = model_path.stat()
    return f"{model_path.name}|{stat.st_size}|{variant}|{threads}|{version}"


def measure(model_path: Path, threads: int | None = None, cpu_variant: str | None = None) -> Speed:
    """Time one prompt batch and GENERATED_TOKENS single-token decodes (best of two runs)."""
    import llama_cpp

    backend = load_cpu_backend(cpu_variant)
    threads = threads or os.cpu_count() or 1
    llama = open_llama(str(model_path), n_ctx=512, threads=threads, cpu_variant=cpu_variant)
    tokens = []
    while len(tokens) < PROMPT_TOKENS:
        tokens += llama.tokenize(SAMPLE_TEXT.encode(), add_bos=False)
    tokens = tokens[:PROMPT_TOKENS]
    prompt_rate = generation_rate = 0.0
    for _ in range(2):  # the first run also pages the weights in
        llama.reset()
        start = time.perf_counter()
        llama.eval(tokens)
        prompt_rate = max(prompt_rate, len(tokens) / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in range(GENERATED_TOKENS):
            llama.eval([tokens[0]])
        generation_rate = max(generation_rate, GENERATED_TOKENS / (time.perf_counter() - start))
    return Speed(
        model=model_path.name,
        variant=backend.variant,
        threads=threads,
        prompt_tokens_per_s=round(prompt_rate, 1),
        generation_tokens_per_s=round(generation_rate, 1),
        llama_cpp_version=llama_cpp.__version__,
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )


def cached_speed(cache_dir: Path, model_path: Path, backend: CpuBackend, threads: int) -> Speed | None:
    """The measurement made earlier for this model, variant and thread count, if any."""
    import llama_cpp

    try:
        table = json.loads((cache_dir / CACHE_FILE).read_text())
        return Speed(**table[_key(model_path, backend.variant, threads, llama_cpp.__version__)])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def speed(
    cache_dir: Path, model_path: Path, threads: int | None = None, cpu_variant: str | None = None
) -> Speed:
    """This machine's speed for the model, measured on first request and cached."""
    backend = load_cpu_backend(cpu_variant)
    threads = threads or os.cpu_count() or 1
    found = cached_speed(cache_dir, model_path, backend, threads)
    if found is not None:
        return found
    result = measure(model_path, threads, cpu_variant)
    path = cache_dir / CACHE_FILE
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):
        table = {}
    table[_key(model_path, result.variant, threads, result.llama_cpp_version)] = result.to_dict()
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(table, ensure_ascii=False, indent=2))
    partial.replace(path)
    return result
