"""``python -m rag.llm.server --model …`` — llama-cpp-python's OpenAI-compatible server, started
on this CPU's kernels (``rag.llm.cpu_backend``); every argument goes to ``llama_cpp.server``.

ggml on its own would look for its CPU kernels in the working directory and find none.
"""

from __future__ import annotations

import runpy

from rag.config import Settings
from rag.llm.cpu_backend import load_cpu_backend


def main() -> None:
    load_cpu_backend(Settings().llm_cpu_variant)
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
